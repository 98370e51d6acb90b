"""Golden vectors and the conformance checker.

The goldens (the current version, v2) are generated once per session (without curves) into
a temporary folder.
Then: regeneration is byte-identical; the schema describes every array; the goldens agree
with the independent NumPy references of tests/reference.py; a port that copies the goldens
passes, and ports with one typical porting mistake (re-enacted here by a small NumPy
re-implementation of the mistaken primitive) fail with a hint that names the mistake.
"""
from __future__ import absolute_import, division, print_function

import json
import os
import shutil

import numpy as np
import pytest

from gxnor.golden import command as golden_command
from gxnor.golden import curves as golden_curves
from gxnor.golden import generate as golden_generate
from gxnor_port import check as kit_check
from gxnor_port import command as kit_command
from gxnor_port import curves as kit_curves
from gxnor_port import mistakes as kit_mistakes
from gxnor_port import report as kit_report
from gxnor_port import schema as kit_schema
from gxnor_port import npzfile
from text_sink import TextSink
import reference as ref
from planted_mistakes import MISTAKES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMITTED = [os.path.join(ROOT, 'results', 'golden', v) for v in ('v1', 'v2')]
CASES = list(kit_schema.TRAIN_RULES)          # pool_one, pool_all


# Generating v2 takes a minute on a cold compile cache, so `make test` reads the committed
# v2 and `make check-goldens` (run by CI) regenerates it and compares the bytes.
CHECK_GOLDENS = os.environ.get('GXNOR_CHECK_GOLDENS') == '1'


@pytest.fixture(scope='module')
def golden_dir():
    return COMMITTED[1]


@pytest.fixture(scope='module')
def generated_dir(tmpdir_factory):
    folder = str(tmpdir_factory.mktemp('golden').join('v2'))
    assert golden_command.main(['--out', folder]) == 0
    return folder


def _load(folder, filename):
    return kit_schema.read_golden(folder, filename)


def _schema(folder):
    with open(os.path.join(folder, kit_schema.SCHEMA_FILE)) as handle:
        return json.load(handle)


def _port_from(golden_dir, tmpdir, replace=None):
    """A port folder holding the golden outputs, with some arrays replaced."""
    port = str(tmpdir.join('port'))
    os.makedirs(port)
    schema = _schema(golden_dir)
    for filename, entry in schema['files'].items():
        arrays = _load(golden_dir, filename)
        outputs = dict((n, a) for n, a in arrays.items() if entry['arrays'][n]['role'] == 'output')
        outputs.update((replace or {}).get(filename, {}))
        np.savez(os.path.join(port, filename), **outputs)     # uncompressed: fast
    return port


def _check(port, golden_dir):
    """(exit status, results, report) of ``python -m gxnor_port check``, one pass."""
    results, notes = kit_check.check_port(port, golden_dir)
    report = kit_report.format_report(results, notes, port, golden_dir)
    status = kit_check.EXIT_FAIL if kit_report.overall(results)[0] == 'FAIL' else \
        kit_check.EXIT_PASS
    return status, results, report


# ----------------------------------------------------------------------------- generation

@pytest.mark.skipif(not CHECK_GOLDENS, reason='regenerates the goldens (a minute on a cold '
                    'cache): run by `make check-goldens`, which CI runs')
def test_regeneration_is_byte_identical(generated_dir):
    """Goldens generated now are the committed v2, byte for byte, but for the reference
    curves, which need real MNIST (so the schema's curves entry differs)."""
    golden_dir = generated_dir
    names = sorted(os.listdir(golden_dir))
    assert set(kit_schema.PRIMITIVE_FILES) | {'schema.json', 'SCHEMA.md'} == set(names)
    with pytest.raises(ValueError) as error:             # a version is never rewritten
        golden_generate.generate(COMMITTED[0], only=['snap'], stream=TextSink())
    assert 'holds goldens v1' in str(error.value)
    for name in kit_schema.PRIMITIVE_FILES:
        with open(os.path.join(golden_dir, name), 'rb') as a, \
                open(os.path.join(COMMITTED[1], name), 'rb') as b:
            assert a.read() == b.read(), name
    generated, committed = _schema(golden_dir), _schema(COMMITTED[1])
    assert dict(generated, curves=None) == dict(committed, curves=None)
    assert generated['curves']['generated'] is False and committed['curves']['arrays']


def test_schema_describes_every_array(golden_dir):
    schema = _schema(golden_dir)
    assert schema['format'] == 'gxnor-golden' and schema['version'] == 2
    assert schema['generator']['versions']['floatX'] == 'float32'
    # the committed v2 has the reference curves (a generation without MNIST notes their
    # absence: test_regeneration_is_byte_identical)
    curves = npzfile.read_npz(os.path.join(golden_dir, kit_schema.CURVES_FILE))
    assert set(curves) == set(schema['curves']['arrays']) and schema['curves']['generated']
    assert schema['curves']['experiment'] == 'mnist' and schema['curves']['seeds'] == [1, 2, 3]
    with open(os.path.join(golden_dir, 'SCHEMA.md')) as handle:
        markdown = handle.read()
    for filename, entry in schema['files'].items():
        stored = npzfile.read_npz(os.path.join(golden_dir, filename))
        shared = set(n for n, a in entry['arrays'].items() if a.get('same_as'))
        assert set(stored) == set(entry['arrays']) - shared, filename
        arrays = _load(golden_dir, filename)
        assert set(arrays) == set(entry['arrays']), filename
        assert '`%s`' % filename in markdown
        for name, array in arrays.items():
            described = entry['arrays'][name]
            assert described['shape'] == list(array.shape) and described['dtype'] == str(array.dtype)
            assert described['meaning'] and described['check'] in schema['checks']
            if described['role'] == 'output':
                assert described['compare']['rule'] in ('exact', 'close')
                assert described['compare']['why']
            else:
                assert described['role'] == 'input'
    advisory = [name for name, check in schema['checks'].items() if check['advisory']]
    assert advisory == ['activation.float32_edges', 'snap.float32_edges']


def test_goldens_agree_with_the_independent_references(golden_dir):
    schema = _schema(golden_dir)
    activation = _load(golden_dir, 'activation.npz')
    for case, p in schema['files']['activation.npz']['cases'].items():
        x = activation[case + '/x']
        np.testing.assert_array_equal(activation[case + '/forward'],
                                      ref.activation_levels(x, p['r'], p['N']))
        np.testing.assert_allclose(activation[case + '/derivative'],
                                   ref.activation_derivative(x, p['r'], p['a'], p['N'], p['shape']),
                                   rtol=1e-5, atol=1e-6)
    released = activation['rectangular_r1_a0.5_N1/x']
    assert {1.0, -1.0, 0.5, 1.5} <= set(released.tolist())       # break points are present
    snap = _load(golden_dir, 'snap.npz')
    for case, p in schema['files']['snap.npz']['cases'].items():
        np.testing.assert_array_equal(snap[case + '/snapped'],
                                      ref.nearest_state(snap[case + '/W'], p['H'], p['N']))
    bn = _load(golden_dir, 'batchnorm.npz')
    for case, p in schema['files']['batchnorm.npz']['cases'].items():
        gamma, beta = bn[case + '/gamma'], bn[case + '/beta']
        x = bn[case + '/step1/x'].astype(np.float64)
        out, mean, inv_std = ref.batch_norm_train(x, gamma, beta, p['epsilon'])
        np.testing.assert_allclose(bn[case + '/step1/output'], out, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(bn[case + '/step1/inv_std'], 0.9 + 0.1 * inv_std, rtol=1e-6)
    adam = _load(golden_dir, 'adam.npz')
    history = ref.adam_steps(adam['lr0.01/theta0'].astype(np.float64),
                             [adam['lr0.01/step%d/grad' % k].astype(np.float64) for k in (1, 2, 3)],
                             0.01)
    for k, theta in enumerate(history, 1):
        np.testing.assert_allclose(adam['lr0.01/step%d/theta' % k], theta, rtol=1e-5, atol=1e-5)
    step = _load(golden_dir, 'train_step.npz')
    cases = schema['files']['train_step.npz']['cases']
    assert cases['step']['layers'][:4] == ['conv1', 'pool1', 'bn1', 'act1']
    assert [cases[c]['pool_grad'] for c in CASES] == ['one', 'all']
    flipped = step['init/conv1.W'][:, :, ::-1, ::-1]
    for case in CASES:
        s = lambda name: step[case + '/' + name]
        np.testing.assert_array_equal(s('step1/layer/conv1'),      # a convolution
                                      kit_mistakes.correlate_valid(step['x'], flipped))
        for W in ('conv1.W', 'conv2.W', 'dense3.W', 'dense4.W'):  # LR 0 snaps onto the grid
            np.testing.assert_array_equal(s('step1/state/' + W),
                                          ref.nearest_state(step['init/' + W], 1.0, 1))
            assert set(np.unique(s('step2/state/' + W))) <= {-1.0, 0.0, 1.0}
            assert np.any(s('step2/state/' + W) != s('step1/state/' + W))
        assert s('step1/state/adam_discrete.t') == 1 and s('step2/state/adam_others.t') == 2
        for act in ('act1', 'act2', 'act3'):
            assert set(np.unique(s('step1/layer/' + act))) == {-1.0, 0.0, 1.0}
        for b in ('conv1.b', 'conv2.b', 'dense3.b', 'dense4.b'):  # every bias moves at step 2
            moved = np.abs(s('step2/state/' + b) - s('step1/state/' + b))
            atol = schema['files']['train_step.npz']['arrays'][case + '/step2/state/' + b][
                'compare']['atol']
            assert moved.max() > 100 * atol
    # the rules differ exactly upstream of the pools; the grid decisions agree
    for name in ('step1/grad/conv1.W', 'step1/grad/bn1.gamma', 'step2/grad/conv2.W'):
        assert not np.allclose(step['pool_one/' + name], step['pool_all/' + name], rtol=1e-2)
    for name in ('step1/grad/dense3.W', 'step2/layer/bn4', 'step2/state/dense3.W'):
        np.testing.assert_array_equal(step['pool_one/' + name], step['pool_all/' + name])
    # pool_grad one: the conv biases have only float noise for a gradient; all: systematic
    one, every = np.abs(step['pool_one/step1/grad/conv1.b']).max(), \
        np.abs(step['pool_all/step1/grad/conv1.b']).max()
    assert one < 1e-6 < 1e-3 < every


# ------------------------------------------------------------------------------ checker

def test_a_copy_of_the_goldens_passes(golden_dir, tmpdir):
    port = _port_from(golden_dir, tmpdir)
    assert kit_check.run(port, golden_dir, stream=TextSink()) == 0
    status, results, report = _check(port, golden_dir)
    assert status == 0, report
    assert all(results[name].status == 'PASS' for name in results if name != 'curves')
    assert results['curves'].status == 'not provided'
    assert 'RESULT: PARTIAL' in report and 'not provided: curves)' in report


def test_partial_port_and_unknown_names(golden_dir, tmpdir):
    port = str(tmpdir.join('port'))
    os.makedirs(port)
    dst = _load(golden_dir, 'dst.npz')
    npzfile.write_npz(os.path.join(port, 'dst.npz'), {
        'H1_N1_m3/W_new': dst['H1_N1_m3/W_new'].astype(np.float64),    # any float dtype
        'H1_N1_m3/W': dst['H1_N1_m3/W'],                                # an input: ignored
        'H1_N1_m3/w_new': dst['H1_N1_m3/W_new']})                       # misspelt: reported
    status, results, report = _check(port, golden_dir)
    assert status == 0, report
    assert results['dst'].status.startswith('PARTIAL 1/') and len(results['dst'].comparisons) == 1
    assert results['adam'].status == 'not provided'
    assert '1 arrays not in the schema' in report and 'H1_N1_m3/w_new' in report


def test_float_deviation_beyond_tolerance_is_located(golden_dir, tmpdir):
    bn = _load(golden_dir, 'batchnorm.npz')
    inside = bn['2d/step2/output'] + np.float32(2e-6)
    outside = bn['2d/step2/output'].copy()
    outside[3, 1] += 1e-3
    status, results, _ = _check(_port_from(golden_dir, tmpdir.mkdir('a'), {
        'batchnorm.npz': {'2d/step2/output': inside}}), golden_dir)
    assert status == 0 and results['batchnorm'].status == 'PASS'
    status, results, report = _check(_port_from(golden_dir, tmpdir.mkdir('b'), {
        'batchnorm.npz': {'2d/step2/output': outside}}), golden_dir)
    assert status == 1 and results['batchnorm'].status == 'FAIL'
    assert '2d/step2/output[3, 1]' in report and '1 of 80 elements off' in report


def test_nothing_to_check_is_a_usage_error(golden_dir, tmpdir):
    assert kit_command.main(['check', str(tmpdir), '--golden', golden_dir]) == 2
    assert kit_command.main(['check', str(tmpdir), '--golden', str(tmpdir)]) == 2


# ---------------------------------------------------- typical porting mistakes, re-enacted
# (made by tests/planted_mistakes.py, which CI also runs under Python 3 with NumPy alone)

@pytest.mark.parametrize('make, check, hint', MISTAKES, ids=[m[0].__name__[9:] for m in MISTAKES])
def test_planted_mistake_is_named(golden_dir, tmpdir, make, check, hint):
    port = _port_from(golden_dir, tmpdir, make(golden_dir, _schema(golden_dir)))
    status, results, report = _check(port, golden_dir)
    assert status == 1, report
    assert results[check].status == 'FAIL', report
    assert any(hint in text for text in results[check].hints), report
    assert hint in report
    others = [name for name, r in results.items() if r.failed and name != check]
    if check.startswith('train_step.step1'):
        assert others == ['train_step.step2.pool_one']      # the same mistake in both steps
    else:
        assert not others, report


# -------------------------------------------------------------------------------- curves

def _records(errors):
    return [dict(epoch=e, test_error=v, valid_error=v, train_loss=1.0 / (e + 1))
            for e, v in enumerate(errors)]


def _golden_without_curves(golden_dir, tmpdir):
    """A copy of the goldens as generated without MNIST: no curves.npz, schema says so."""
    folder = str(tmpdir.join('without-curves'))
    shutil.copytree(golden_dir, folder)
    os.remove(os.path.join(folder, kit_schema.CURVES_FILE))
    schema = _schema(folder)
    schema['curves'] = dict(generated=False, note='not generated: needs real MNIST')
    npzfile.write_json(os.path.join(folder, kit_schema.SCHEMA_FILE), schema)
    return folder


def _golden_with_curves(golden_dir, tmpdir):
    folder = str(tmpdir.join('with-curves'))
    shutil.copytree(golden_dir, folder)
    records = {1: _records([90, 20, 10]), 2: _records([88, 22, 11]), 3: _records([89, 21, 10.5])}
    arrays = kit_curves.curve_envelope(records)
    npzfile.write_npz(os.path.join(folder, kit_schema.CURVES_FILE), arrays)
    schema = _schema(folder)
    schema['curves'] = kit_curves.curves_schema(arrays, source='synthetic test records')
    npzfile.write_json(os.path.join(folder, kit_schema.SCHEMA_FILE), schema)
    return folder, arrays


def _log(folder, name, errors):
    os.makedirs(folder)
    with open(os.path.join(folder, name), 'w') as handle:
        for epoch, error in enumerate(errors):
            handle.write(json.dumps(dict(epoch=epoch, test_error=error, lr=0.1)) + '\n')
    return folder


def test_curve_inside_the_envelope_passes_outside_fails(golden_dir, tmpdir):
    folder, arrays = _golden_with_curves(golden_dir, tmpdir)
    np.testing.assert_array_equal(arrays['test_error_median'], [89, 21, 10.5])
    np.testing.assert_array_equal(arrays['band_low'], [86, 18, 9])       # width 2, 2, 1
    np.testing.assert_array_equal(arrays['band_high'], [92, 24, 12])
    status, results, report = _check(_log(str(tmpdir.join('good')), 'epochs.jsonl',
                                          [91.5, 18.5, 11.9, 3.0]), folder)
    assert status == 0 and results['curves'].status == 'PASS', report
    status, results, report = _check(_log(str(tmpdir.join('bad')), 'epochs-seed7.jsonl',
                                          [89, 25, 10]), folder)
    assert status == 1 and results['curves'].status == 'FAIL'
    assert 'epochs-seed7.jsonl epoch 1' in report and 'outside [18.00, 24.00]' in report
    status, results, report = _check(str(tmpdir.join('good')),             # no envelope
                                     _golden_without_curves(golden_dir, tmpdir))
    assert status == 0 and results['curves'].status == 'SKIP'
    assert 'goldens have no curves' in report


def test_curves_come_from_the_training_loop_with_stop_after():
    from test_runs import TINY, _dataset
    records = golden_curves.generate_curves(None, 2, [3, 4], dataset=_dataset(), architecture=TINY,
                                     overrides=dict(batch_size=100, num_epochs=6, lr_start=0.01,
                                                    lr_fin=0.001),
                                     stream=TextSink())
    assert list(records) == [3, 4]
    for seed, runs in records.items():
        assert [r['epoch'] for r in runs] == [0, 1]
        assert [r['lr'] for r in runs] == [0.0, 0.01]          # schedule of the 6-epoch run
    arrays = kit_curves.curve_envelope(records)
    assert arrays['test_error'].shape == (2, 2)
    assert np.all(arrays['band_low'] <= arrays['test_error_min'] - 1.0)


# ----------------------------------------------------- the current code against v1

@pytest.mark.parametrize('committed', COMMITTED, ids=[os.path.basename(c) for c in COMMITTED])
def test_current_code_conforms_to_the_committed_goldens(tmpdir, committed):
    """Replays the committed inputs through the current code (e.g. after speed work); v1
    with the rules it was made with (pool_grad all, Python Adam constants)."""
    if not os.path.exists(os.path.join(committed, kit_schema.SCHEMA_FILE)):
        pytest.skip('no committed goldens in %s (make golden)' % committed)
    port = str(tmpdir.join('replay'))
    golden_generate.replay(committed, port, stream=TextSink())
    status, results, report = _check(port, committed)
    assert status == 0, report
    assert not [name for name, r in results.items() if r.status == 'WARN'], report
    assert all(r.status == 'PASS' for name, r in results.items() if name != 'curves'), report
