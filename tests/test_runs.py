"""Run folders, atomic writes, and checkpoint/resume equality on a tiny network."""
from __future__ import absolute_import, division, print_function

import json
import os

import lasagne
import numpy as np
import pytest

from gxnor import cli
from gxnor.training.checkpoint import CheckpointError
from gxnor.datasets import Dataset, Split
from gxnor.datasets.splits import scale_unit_pm1
from gxnor.models import Conv, Dense
from gxnor.training.runs import RunFolderError
from text_sink import TextSink

TINY = [Conv(4, 3, 'valid', True), Dense(16, 1.0), Dense(10, 1.0)]
SETTINGS = dict(batch_size=100, num_epochs=6, lr_start=0.01, lr_fin=0.001, seed=7)


def _dataset():
    """A learnable 10-class problem on 8x8 uint8 images (labels from a fixed projection)."""
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (500, 1, 8, 8)).astype(np.uint8)
    labels = np.argmax(images.reshape(500, -1).dot(rng.standard_normal((64, 10))), axis=1)
    split = lambda s: Split(images[s], labels[s], scale_unit_pm1, name='tiny')
    return Dataset('tiny', split(slice(0, 300)), split(slice(300, 400)), split(slice(400, 500)),
                   source={'synthetic': True})


def _run(results, **kwargs):
    settings = dict(SETTINGS, **kwargs.pop('settings', {}))
    return cli.run_experiment('mnist', settings, results_dir=str(results), architecture=TINY,
                              dataset=_dataset(), stream=TextSink(),
                              **kwargs)


def _weights(trainer):
    return [p.get_value() for p in trainer.graph.state]


def test_resume_gives_the_same_run_as_no_interruption(tmpdir):
    whole = _run(tmpdir.join('a'), run='r')
    part = _run(tmpdir.join('b'), run='r', settings=dict(stop_after=3))
    assert part.epoch == 3
    resumed = _run(tmpdir.join('b'), run='r', resume=True)
    assert resumed.epoch == 6
    for a, b in zip(_weights(whole), _weights(resumed)):
        np.testing.assert_array_equal(a, b)
    assert [r['test_error'] for r in whole.records] == [r['test_error'] for r in resumed.records]
    log = tmpdir.join('b', 'runs', 'r', 'epochs.jsonl').readlines()
    assert [json.loads(line)['epoch'] for line in log] == list(range(6))
    # the discrete weights are on the grid and the run learned something
    for W in lasagne.layers.get_all_params(resumed.network, discrete=True):
        assert set(np.unique(W.get_value())) <= {-1.0, 0.0, 1.0}
    assert resumed.records[-1]['train_loss'] < resumed.records[1]['train_loss']


def test_records_and_summary(tmpdir):
    trainer = _run(tmpdir, run='r', settings=dict(stop_after=2))
    records = trainer.records
    assert [r['lr'] for r in records] == [0.0, 0.01]
    assert records[0]['update_type'] == 200
    folder = tmpdir.join('runs', 'r')
    summary = json.loads(folder.join('summary.json').read())
    assert summary['epochs_run'] == 2 and summary['epochs_planned'] == 6
    assert summary['stopped_after'] == 2 and summary['finished'] is True
    best = min(range(2), key=lambda e: (records[e]['test_error'], -e))
    assert summary['best_test_epoch'] == best
    assert summary['best_test_error'] == records[best]['test_error']
    config = json.loads(folder.join('config.json').read())
    assert config['hyperparameters']['batch_size'] == 100
    assert config['versions']['theano'] == '0.8.2' and 'floatX=float32' in config['theano_flags']
    # the OpenBLAS libraries in use, as they report themselves (gxnor.process.cpu): core and threads
    blas = [lib for lib in config['cpu_pins']['openblas'] if 'corename' in lib]
    assert blas and all(lib['corename'] and lib['num_threads'] >= 1 for lib in blas)
    assert config['cpu_pins']['visible_cpus'] >= 1 and 'problems' in config['cpu_pins']
    assert not [name for name in os.listdir(str(folder)) if name.endswith('.tmp')]
    # where each epoch's time went: the parts add up to the epoch, the checkpoint is timed
    written = [json.loads(line) for line in folder.join('epochs.jsonl').read().splitlines()]
    for record in written:
        phases = record['phases']
        assert sorted(phases) == ['checkpoint', 'data_and_bookkeeping', 'evaluation_steps',
                                  'train_steps']
        assert min(phases.values()) >= 0 and phases['train_steps'] > 0
        parts = phases['train_steps'] + phases['evaluation_steps'] + phases['data_and_bookkeeping']
        assert abs(parts - record['seconds']) <= 0.005


def test_existing_run_is_never_overwritten(tmpdir):
    _run(tmpdir, run='r', settings=dict(stop_after=1))
    before = tmpdir.join('runs', 'r', 'epochs.jsonl').read()
    with pytest.raises(RunFolderError) as info:
        _run(tmpdir, run='r', settings=dict(stop_after=1))
    assert 'already exists' in str(info.value) and 'RESUME=1' in str(info.value)
    assert tmpdir.join('runs', 'r', 'epochs.jsonl').read() == before


def test_resume_refuses_other_settings_and_missing_checkpoint(tmpdir):
    _run(tmpdir, run='r', settings=dict(stop_after=1))
    with pytest.raises(RunFolderError) as info:
        _run(tmpdir, run='r', resume=True, settings=dict(H=0.5))
    assert 'H: run has 1.0, now 0.5' in str(info.value)
    with pytest.raises(RunFolderError) as info:
        _run(tmpdir, run='other', resume=True)
    assert 'no checkpoint' in str(info.value)


def test_corrupt_checkpoint_is_reported(tmpdir):
    _run(tmpdir, run='r', settings=dict(stop_after=1))
    tmpdir.join('runs', 'r', 'checkpoint.npz').write('not a zip file')
    with pytest.raises(CheckpointError) as info:
        _run(tmpdir, run='r', resume=True)
    assert 'cannot read checkpoint' in str(info.value)


def test_cli_reports_bad_input_without_a_traceback(tmpdir, capsys):
    status = cli.main(['run', 'mnist', '--set', 'H=-1', '--results', str(tmpdir)])
    assert status == 2
    assert 'error: H=-1.0 is not valid' in capsys.readouterr()[1]
    status = cli.main(['run', 'mnist', '--data-dir', str(tmpdir.join('nothing')),
                       '--results', str(tmpdir)])
    assert status == 2
    assert 'train-images-idx3-ubyte' in capsys.readouterr()[1]
    assert not tmpdir.join('runs').check()  # a failed start leaves no run folder


def test_default_run_names():
    assert cli.default_run_name('mnist', {}) == 'mnist'
    assert cli.default_run_name('mnist', {'num_epochs': 100, 'stop_after': 3}) == 'mnist-numepochs100'


class _RecordingGraph(object):
    """Stands in for the compiled training function to see what reaches it."""

    def __init__(self, graph):
        self.graph = graph
        self.batches = []

    def train(self, x, t, rate):
        self.batches.append(x.copy())
        return self.graph.train(x, t, rate)

    def __getattr__(self, name):
        return getattr(self.graph, name)


@pytest.mark.parametrize('mode', ['faithful', 'standard'])
def test_augmentation_mode_decides_what_training_sees(mode):
    from gxnor.experiments import configure
    from gxnor.training.train import Trainer
    dataset = _dataset()
    config = configure('cifar10', dict(SETTINGS, augment=mode))
    trainer = Trainer(config, dataset, architecture=TINY)
    trainer.graph = _RecordingGraph(trainer.graph)
    order = trainer.order.copy()          # shuffled once before epoch 0, as released
    assert sorted(order) == list(range(300)) and (order != np.arange(300)).any()
    trainer.run_epoch()
    first = trainer.graph.batches[0]
    untouched = dataset.train.batch(order[:100])[0]
    if mode == 'faithful':
        np.testing.assert_array_equal(first, untouched)
    else:
        assert first.shape == untouched.shape
        assert np.mean(np.all(first == untouched, axis=(1, 2, 3))) < 0.5
    assert len(trainer.graph.batches) == 3     # floor(300 / 100) full batches


def test_activation_sparsity_is_counted_exactly(tmpdir):
    import theano
    from gxnor.layers import DiscreteActivationLayer
    trainer = _run(tmpdir, run='r', settings=dict(stop_after=2))
    hidden = [l for l in lasagne.layers.get_all_layers(trainer.network)
              if isinstance(l, DiscreteActivationLayer)]
    inputs = lasagne.layers.get_all_layers(trainer.network)[0].input_var
    forward = theano.function([inputs], lasagne.layers.get_output(hidden, deterministic=True))
    x, _ = trainer.dataset.test.batch(slice(None))
    values = np.concatenate([a.ravel() for a in forward(x)])
    assert set(np.unique(values)) <= {-1.0, 0.0, 1.0}
    assert trainer.records[-1]['activation_sparsity'] == np.mean(values == 0)
    summary = json.loads(tmpdir.join('runs', 'r', 'summary.json').read())
    assert summary['activation_sparsity'] == trainer.records[-1]['activation_sparsity']


def test_a_run_folder_given_as_a_path_resumes_from_a_compressed_checkpoint(tmpdir):
    """The committed reference run: RUN=<folder path>, its checkpoint compressed."""
    from gxnor.training.checkpoint import compress_checkpoint
    whole = _run(tmpdir.join('a'), run='r')
    path = str(tmpdir.join('reference', 'full'))
    tmpdir.join('b').ensure(dir=True)            # results/ (its README gets the tables)
    _run(tmpdir.join('b'), run=path, settings=dict(stop_after=3))
    assert not tmpdir.join('b', 'runs').check()   # the path itself is the folder
    before, after = compress_checkpoint(os.path.join(path, 'checkpoint.npz'))
    assert after < before
    resumed = _run(tmpdir.join('b'), run=path, resume=True)
    for a, b in zip(_weights(whole), _weights(resumed)):
        assert a.tobytes() == b.tobytes()
    assert [r['test_error'] for r in whole.records] == [r['test_error'] for r in resumed.records]


def test_a_run_recorded_before_act_grad_resumes_with_the_arithmetic_it_had(tmpdir):
    _run(tmpdir, run='r', settings=dict(stop_after=1, act_grad='exact'))
    config_path = tmpdir.join('runs', 'r', 'config.json')
    config = json.loads(config_path.read())
    del config['hyperparameters']['act_grad']
    config_path.write(json.dumps(config))
    with pytest.raises(RunFolderError) as info:
        _run(tmpdir, run='r', resume=True, settings=dict(stop_after=2))
    message = str(info.value).replace("u'", "'")
    assert "act_grad: run has 'exact', now 'released'" in message
    resumed = _run(tmpdir, run='r', resume=True, settings=dict(stop_after=2, act_grad='exact'))
    assert resumed.epoch == 2


class _TermAfterEpoch(TextSink):
    """A stream that sends this process SIGTERM when the run reports epoch ``epoch``."""

    def __init__(self, epoch):
        TextSink.__init__(self)
        self.mark = 'Epoch %d of' % epoch

    def write(self, text):
        TextSink.write(self, text)
        if text.startswith(self.mark):
            import signal
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_stops_at_the_epoch_boundary_and_the_sessions_say_where(tmpdir):
    whole = _run(tmpdir.join('a'), run='r')
    part = cli.run_experiment('mnist', SETTINGS, results_dir=str(tmpdir.join('b')), run='r',
                              architecture=TINY, dataset=_dataset(), stream=_TermAfterEpoch(1))
    assert part.epoch == 2                     # epoch 1 finished, then the run stopped
    folder = tmpdir.join('b', 'runs', 'r')
    assert len(folder.join('epochs.jsonl').readlines()) == 2
    resumed = _run(tmpdir.join('b'), run='r', resume=True)
    for a, b in zip(_weights(whole), _weights(resumed)):
        assert a.tobytes() == b.tobytes()
    sessions = [json.loads(line) for line in folder.join('sessions.jsonl').readlines()]
    assert [(s['event'], s['after_epoch']) for s in sessions] == \
        [('start', -1), ('stopped', 1), ('resume', 1), ('ended', 5)]
    assert all(s['commit'] and s['machine'] for s in sessions if s['event'] in ('start', 'resume'))
