"""The resume check of committed checkpoints: git plumbing and the figure-for-figure
comparison, with a stand-in trainer whose 'checkpoint' is a JSON list of records."""
from __future__ import absolute_import, division, print_function

import io
import json
import os
import subprocess

import pytest

from gxnor.experiments import configure
from gxnor.training import resume_check
from gxnor.training.runs import RunFolderError
from text_sink import TextSink


def _record(epoch, test_error=1.0):
    return dict(epoch=epoch, lr=0.1 / (epoch + 1), update_type=10, train_loss=0.5 / (epoch + 1),
                valid_loss=0.01, valid_error=1.5, test_loss=0.02, test_error=test_error,
                activation_sparsity=0.4, seconds=9.0 + epoch, phases=dict(train_steps=8.0),
                released=dict(valid_loss=0.01, valid_error=1.5, test_loss=0.02,
                              test_error=test_error))


LOG = [_record(epoch) for epoch in range(6)]


class FakeTrainer(object):
    """restore() reads a list of records; run_epoch() returns the log's next record, or a
    changed one for the epochs in ``wrong``."""

    def __init__(self, wrong=()):
        self.wrong = set(wrong)
        self.records = []
        self.restored = []

    @property
    def epoch(self):
        return len(self.records)

    def restore(self, path):
        with io.open(path, encoding='utf-8') as handle:
            self.records = json.load(handle)
        self.restored.append(len(self.records))

    def run_epoch(self):
        record = dict(LOG[self.epoch], seconds=123.0)        # times are not compared
        if self.epoch in self.wrong:
            record['released'] = dict(record['released'], test_loss=0.03)
        self.records.append(record)
        return record


def _git(folder, *args):
    subprocess.check_call(('git', '-c', 'user.name=t', '-c', 'user.email=t@t') + args,
                          cwd=folder, stdout=open(os.devnull, 'w'))


def _repo_with_run(tmpdir, checkpoints, log=LOG):
    """A git repository holding runs/r, its checkpoint committed once per entry of
    ``checkpoints`` (a list of record lists); the working tree's log is ``log``."""
    root = str(tmpdir.mkdir('repo'))
    run = os.path.join(root, 'runs', 'r')
    os.makedirs(run)
    _git(root, 'init', '-q')
    config = dict(experiment='mnist', overrides={},
                  hyperparameters=json.loads(json.dumps(configure('mnist', {}))))
    with open(os.path.join(run, 'config.json'), 'w') as handle:
        json.dump(config, handle)
    revisions = []
    for records in checkpoints:
        with open(os.path.join(run, 'checkpoint.npz'), 'w') as handle:
            json.dump(records, handle)
        with open(os.path.join(run, 'other.txt'), 'a') as handle:
            handle.write('x')
        _git(root, 'add', '-A')
        _git(root, 'commit', '-q', '-m', 'chunk')
        revisions.append(subprocess.check_output(['git', 'rev-parse', 'HEAD'], cwd=root)
                         .decode('ascii').strip())
    _git(root, 'commit', '-q', '--allow-empty', '-m', 'no checkpoint change')
    with open(os.path.join(run, 'epochs.jsonl'), 'w') as handle:
        handle.write(''.join(json.dumps(r) + '\n' for r in log))
    return run, revisions


def test_differences_compare_figures_not_times():
    assert resume_check.differences(LOG[2], dict(LOG[2], seconds=1.0, phases={})) == []
    changed = dict(LOG[2], train_loss=LOG[2]['train_loss'] + 1e-12)
    assert resume_check.differences(changed, LOG[2]) == ['train_loss']
    nested = dict(LOG[2], released=dict(LOG[2]['released'], valid_error=1.6))
    assert resume_check.differences(nested, LOG[2]) == ['released']


def test_every_committed_checkpoint_is_resumed_and_compared(tmpdir):
    run, revisions = _repo_with_run(tmpdir, [LOG[:2], LOG[:4], LOG[:6]])
    root, inside, history = resume_check.checkpoint_revisions(run)
    assert inside == os.path.join('runs', 'r', 'checkpoint.npz')
    assert history == revisions            # oldest first; the empty commit is not one
    trainer = FakeTrainer()
    lines = TextSink()
    report = resume_check.check_resumes(run, None, stream=lines,
                                        build_trainer=lambda config, data: trainer)
    assert trainer.restored == [2, 4, 6]
    assert report['passed'] and report['logged_epochs'] == 6
    assert report['run'] == os.path.join('runs', 'r')
    got = [(c['checkpoint_epochs'], c['history_differs'], c['next_epoch'] and
            (c['next_epoch']['epoch'], c['next_epoch']['differs'])) for c in report['checkpoints']]
    assert got == [(2, [], (2, [])), (4, [], (4, [])), (6, [], None)]
    assert 'epoch 4 resumed: equal to the log' in lines.getvalue()
    assert 'next epoch not in the log yet' in lines.getvalue()


def test_a_different_next_epoch_or_history_fails(tmpdir):
    edited = [dict(r) for r in LOG[:4]]
    edited[1] = dict(edited[1], valid_error=9.0)      # the checkpoint's history disagrees
    run, revisions = _repo_with_run(tmpdir, [LOG[:2], edited])
    report = resume_check.check_resumes(run, None, stream=TextSink(),
                                        build_trainer=lambda c, d: FakeTrainer(wrong=[2]))
    assert not report['passed']
    first, second = report['checkpoints']
    assert first['next_epoch']['differs'] == ['released'] and first['history_differs'] == []
    assert second['history_differs'] == [1] and second['next_epoch']['differs'] == []


def test_one_revision_and_a_checkpoint_longer_than_the_log(tmpdir):
    run, revisions = _repo_with_run(tmpdir, [LOG[:3], LOG[:6]], log=LOG[:4])
    report = resume_check.check_resumes(run, None, revisions=[revisions[1]],
                                        stream=TextSink(),
                                        build_trainer=lambda c, d: FakeTrainer())
    assert not report['passed']
    assert [c['revision'] for c in report['checkpoints']] == [revisions[1]]
    assert 'holds 6 epochs, the log only 4' in report['checkpoints'][0]['history_differs'][0]


def test_unusable_folders_say_what_to_do(tmpdir, capsys):
    outside = tmpdir.mkdir('not-a-repo')
    outside.join('config.json').write('{}')
    with pytest.raises(RunFolderError) as error:
        resume_check.checkpoint_revisions(str(outside))
    assert 'git' in str(error.value)
    run, _ = _repo_with_run(tmpdir, [])
    assert resume_check.main([run]) == 2
    assert 'git holds no committed version of' in capsys.readouterr().err
    os.remove(os.path.join(run, 'config.json'))
    assert resume_check.main([run]) == 2
    assert 'is it a run folder?' in capsys.readouterr().err
