"""Do a run's committed checkpoints continue as its log says? (the long run's guarantee)

    python -m gxnor resume-check RUN --data-dir DIR [--revisions REV ...] [--out FILE]

A run trained in chunks (``results/reference/mnist-full``) commits its checkpoint after
each chunk, and the next chunk resumes from it. This check takes every version of the
checkpoint that git holds (the commits that changed ``RUN/checkpoint.npz``, oldest first,
or the ``--revisions`` given), restores it into one trainer built from the run's
``config.json``, and checks

* the history: the epoch records inside the checkpoint equal the first records of the
  run's ``epochs.jsonl`` (the working tree's, which may have grown since);
* the next epoch: one epoch trained from the restored state gives, figure for figure, the
  record the log holds for that epoch (when the log has it; the newest checkpoint's next
  epoch is usually not logged yet).

Figures compared: losses, errors, the released script's figures, activation sparsity,
learning rate and update type, all exactly (as JSON floats); times are not compared.
The result is printed and written to ``RUN/resume-check.json``. Exit status: 0 all equal,
1 a difference, 2 unusable input (no git history, no data, a run folder that is not one).
"""
from __future__ import absolute_import, division, print_function

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

from .files import atomic_write
from .runs import RunFolder, RunFolderError, environment_facts

__all__ = ['COMPARED', 'checkpoint_revisions', 'differences', 'check_resumes', 'main']

COMPARED = ('epoch', 'lr', 'update_type', 'train_loss', 'valid_loss', 'valid_error',
            'test_loss', 'test_error', 'activation_sparsity', 'released')
REPORT = 'resume-check.json'


def _git(folder, *args):
    """stdout of ``git args`` run in ``folder`` (bytes); RunFolderError when git fails."""
    try:
        process = subprocess.Popen(('git',) + args, cwd=folder, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
    except OSError:
        raise RunFolderError('git is not installed: the check reads the checkpoints from '
                             'the repository history')
    out, err = process.communicate()
    if process.returncode != 0:
        raise RunFolderError('git %s failed in %s: %s' % (' '.join(args), folder,
                                                          err.decode('utf-8', 'replace').strip()))
    return out


def checkpoint_revisions(run_dir):
    """(repository root, checkpoint path inside it, commits that changed it oldest first)."""
    folder = RunFolder(os.path.realpath(run_dir))
    root = _git(folder.path, 'rev-parse', '--show-toplevel').decode('utf-8').strip()
    inside = os.path.relpath(folder.checkpoint_path, os.path.realpath(root))
    if _git(root, 'rev-parse', '--is-shallow-repository').strip() == b'true':
        raise RunFolderError('this clone is shallow: fetch the whole history first '
                             '(git fetch --unshallow)')
    revisions = _git(root, 'log', '--format=%H', '--', inside).decode('ascii').split()
    return root, inside, list(reversed(revisions))


def _figures(record):
    return json.loads(json.dumps(dict((name, record.get(name)) for name in COMPARED)))


def differences(got, want):
    """Names of the compared figures in which two epoch records differ."""
    got, want = _figures(got), _figures(want)
    return [name for name in COMPARED if got[name] != want[name]]


def _check_one(trainer, checkpoint, log):
    trainer.restore(checkpoint)
    epochs = trainer.epoch
    result = dict(checkpoint_epochs=epochs, history_differs=[], next_epoch=None)
    if epochs > len(log):
        result['history_differs'] = ['the checkpoint holds %d epochs, the log only %d'
                                     % (epochs, len(log))]
        return result
    result['history_differs'] = [record['epoch'] for record, logged in
                                 zip(trainer.records, log) if differences(record, logged)]
    if epochs < len(log):
        record = trainer.run_epoch()
        result['next_epoch'] = dict(epoch=record['epoch'],
                                    differs=differences(record, log[epochs]),
                                    test_error=record['test_error'],
                                    train_loss=record['train_loss'])
    return result


def _passed(result):
    return not result['history_differs'] and not (result['next_epoch'] or {}).get('differs')


def _line(result):
    text = '%s: %d epochs in the checkpoint; history %s' % (
        result['revision'][:10], result['checkpoint_epochs'],
        'equal to the log' if not result['history_differs'] else
        'DIFFERENT (%s)' % ', '.join(str(e) for e in result['history_differs'][:10]))
    following = result['next_epoch']
    if following is None:
        return text + '; next epoch not in the log yet'
    return text + '; epoch %d resumed: %s' % (
        following['epoch'], 'equal to the log (train_loss %r, test error %.2f %%)'
        % (following['train_loss'], following['test_error']) if not following['differs']
        else 'DIFFERENT in %s' % ', '.join(following['differs']))


def _build_trainer(config, data_dir):
    from ..datasets import load_dataset
    from .train import Trainer
    return Trainer(config, load_dataset(config['dataset'], data_dir, require_official=True))


def check_resumes(run_dir, data_dir, revisions=None, stream=sys.stdout,
                  build_trainer=_build_trainer):
    """Check each committed checkpoint of ``run_dir``; returns the report (a dict).
    ``build_trainer(config, data_dir)``: one trainer for every checkpoint (its
    ``restore(path)``, ``epoch``, ``records`` and ``run_epoch()`` are used)."""
    from ..experiments import configure
    from .curves import read_epochs
    from .orchestration import check_same_settings

    folder = RunFolder(run_dir)
    if not os.path.exists(folder.config_path):
        raise RunFolderError('%s has no config.json: is it a run folder?' % run_dir)
    root, inside, history = checkpoint_revisions(run_dir)
    revisions = list(revisions or history)
    if not revisions:
        raise RunFolderError('git holds no committed version of %s' % inside)
    saved = folder.read_config()
    config = configure(saved['experiment'], saved.get('overrides') or {})
    check_same_settings(folder, config)
    log = read_epochs(run_dir) if os.path.exists(folder.epochs_path) else []
    stream.write('%s: %d committed checkpoint(s); building the network...\n'
                 % (run_dir, len(revisions)))
    stream.flush()
    trainer = build_trainer(config, data_dir)
    scratch = tempfile.mkdtemp(prefix='gxnor-resume-check-')
    results = []
    try:
        for revision in revisions:
            path = os.path.join(scratch, 'checkpoint.npz')
            blob = _git(root, 'show', '%s:%s' % (revision, inside))
            atomic_write(path, lambda handle: handle.write(blob))
            result = dict(_check_one(trainer, path, log), revision=revision)
            results.append(result)
            stream.write(_line(result) + '\n')
            stream.flush()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    facts = environment_facts()
    return dict(run=os.path.relpath(os.path.realpath(run_dir), os.path.realpath(root)),
                checked=datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ'),
                commit=facts['commit'], machine=facts['machine'], logged_epochs=len(log),
                compared=list(COMPARED), checkpoints=results,
                passed=all(_passed(r) for r in results))


def _parser():
    parser = argparse.ArgumentParser(prog='python -m gxnor resume-check',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('run', help='the run folder (results/reference/mnist-full)')
    parser.add_argument('--data-dir', default='datasets', help='folder holding the data set')
    parser.add_argument('--revisions', nargs='*', metavar='REV',
                        help='commits to check (default: every commit that changed the '
                             'checkpoint)')
    parser.add_argument('--out', help='report file (default: RUN/%s)' % REPORT)
    return parser


def main(argv=None):
    from ..datasets import DataError
    from ..experiments import ConfigError
    from .checkpoint import CheckpointError
    args = _parser().parse_args(argv)
    try:
        report = check_resumes(os.path.abspath(args.run), args.data_dir, args.revisions)
    except (RunFolderError, DataError, ConfigError, CheckpointError) as error:
        sys.stderr.write('error: %s\n' % error)
        return 2
    out = args.out or os.path.join(args.run, REPORT)
    data = (json.dumps(report, indent=1, sort_keys=True) + '\n').encode('utf-8')
    atomic_write(out, lambda handle: handle.write(data))
    sys.stdout.write('%s: %s; written to %s\n' % (
        args.run, 'every committed checkpoint continues as the log says' if report['passed']
        else 'a checkpoint does NOT continue as the log says', out))
    return 0 if report['passed'] else 1
