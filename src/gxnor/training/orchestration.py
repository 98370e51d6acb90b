"""Running one experiment into its run folder: configure, refuse or lock the folder, load
the data, build and compile the Trainer, train epoch by epoch with a checkpoint, the
epoch log and the summary after each, and write the curves and tables. The command line
(gxnor.cli) and the golden generator's reference curves (gxnor.golden.curves) call
``run_experiment``."""
from __future__ import absolute_import, division, print_function

import json
import os
import signal
import sys
import time
from collections import OrderedDict

from ..datasets import load_dataset
from ..experiments import SETTINGS_BEFORE_THEY_EXISTED, configure
from .runs import RunFolder, RunFolderError, environment_facts, run_path
from .train import Trainer, epoch_report, progress_bar

__all__ = ['run_experiment', 'default_run_name', 'check_same_settings']

PLOT_EVERY = 10


def default_run_name(experiment, overrides):
    """The experiment's name, plus each override but stop_after (``mnist-epochs100``)."""
    parts = [experiment]
    for name, value in overrides.items():
        if name != 'stop_after':
            parts.append('%s%s' % (name.replace('_', ''), str(value).replace('/', '_')))
    return '-'.join(parts)


def _jsonable(value):
    return json.loads(json.dumps(value))


def check_same_settings(folder, config):
    saved = dict(SETTINGS_BEFORE_THEY_EXISTED, **folder.read_config().get('hyperparameters', {}))
    current = _jsonable(config)
    changed = ['%s: run has %r, now %r' % (name, saved.get(name), current[name])
               for name in current if name != 'stop_after' and saved.get(name) != current[name]]
    if changed:
        raise RunFolderError("cannot resume %s with different settings (%s); only stop_after "
                             "may change. Start a new run with RUN=NAME instead"
                             % (folder.path, '; '.join(changed)))


def run_experiment(experiment, overrides=None, run=None, resume=False, data_dir=None,
                   results_dir='results', architecture=None, dataset=None, stream=sys.stdout,
                   sweep=None, resume_if_exists=False):
    """Run (or resume) one experiment into ``results_dir/runs/<run>`` (or the folder
    ``run`` when it is a path, see :func:`gxnor.training.runs.run_path`); returns the Trainer.

    ``resume_if_exists`` (sweeps): resume when the run has a checkpoint, else start it;
    a finished run then just reports. ``sweep`` is recorded in config.json.
    """
    overrides = OrderedDict(overrides or {})
    config = configure(experiment, overrides)
    name = run or default_run_name(experiment, overrides)
    folder = RunFolder(run_path(results_dir, name))
    if resume_if_exists and os.path.exists(folder.checkpoint_path):
        resume = True
    # Refuse an existing folder before the slow steps (data, compilation) ...
    if not resume and os.path.exists(folder.path):
        RunFolder.open(results_dir, name, resume)
    # One process per run folder: a resumed run is locked before the slow steps, a new
    # one as soon as its folder exists; the lock ends with this call (or the process).
    lock = None
    if resume:
        folder = RunFolder.open(results_dir, name, resume)
        lock = folder.lock()
    try:
        if resume:
            check_same_settings(folder, config)

        if dataset is None:   # a run trains on the official files only (their checksums)
            dataset = load_dataset(config['dataset'], data_dir, require_official=True)
        trainer = _build_trainer(name, config, dataset, architecture, stream)
        facts = environment_facts()
        if resume:
            trainer.restore(folder.checkpoint_path)
            folder.write_epochs(trainer.records)
            stream.write("resumed %s after epoch %d\n" % (folder.path, trainer.epoch - 1))
        else:
            # ... and create it only once they succeeded, so a failure leaves nothing behind.
            folder = RunFolder.open(results_dir, name, resume)
            lock = folder.lock()
            folder.write_config(dict(
                facts, experiment=experiment, run=name, dataset=config['dataset'],
                hyperparameters=_jsonable(config), data_source=getattr(dataset, 'source', None),
                sweep=sweep, overrides=_jsonable(overrides)))

        limit = config['stop_after'] or config['num_epochs']
        progress = progress_bar()
        identity = dict(experiment=experiment, run=name, dataset=config['dataset'],
                        machine=facts['machine'], commit=facts['commit'], command=facts['command'])
        folder.append_session(dict(event='resume' if resume else 'start',
                                   after_epoch=trainer.epoch - 1, commit=facts['commit'],
                                   machine=facts['machine'], command=facts['command']))
        stop = _StopRequest(stream)
        try:
            while trainer.epoch < limit and not stop.requested:
                record = trainer.run_epoch(progress)
                started = time.time()
                trainer.save(folder.checkpoint_path)
                record['phases']['checkpoint'] = round(time.time() - started, 3)
                folder.append_epoch(record)
                folder.write_summary(dict(trainer.summary(), **identity))
                epoch_report(record, trainer, stream)
                if trainer.epoch % PLOT_EVERY == 0:
                    _write_artifacts(folder.path, results_dir)
        except KeyboardInterrupt:
            folder.append_session(dict(event='interrupted', after_epoch=trainer.epoch - 1))
            stream.write("\ninterrupted after epoch %d; the checkpoint is in %s. Continue with "
                         "--resume (make ... RESUME=1 RUN=%s)\n" % (trainer.epoch - 1, folder.path, name))
            raise
        finally:
            stop.restore()
        folder.append_session(dict(event='stopped' if stop.requested else 'ended',
                                   after_epoch=trainer.epoch - 1))
        if stop.requested:
            stream.write("stopped after epoch %d on request (SIGTERM); the checkpoint is in %s. "
                         "Continue with --resume (make ... RESUME=1 RUN=%s)\n"
                         % (trainer.epoch - 1, folder.path, name))
        _write_artifacts(folder.path, results_dir)
        summary = trainer.summary()
        stream.write("%s: best test error %.2f%% at epoch %d (released metric); test error at best "
                     "validation %.2f%% (epoch %d); %d epochs in %.0f s\n"
                     % (name, summary['best_test_error'], summary['best_test_epoch'],
                        summary['test_error_at_best_valid'], summary['best_valid_epoch'],
                        summary['epochs_run'], summary['wall_seconds']))
        return trainer
    finally:
        if lock is not None:
            lock.release()


class _StopRequest(object):
    """SIGTERM asks the run to stop at the next epoch boundary: the epoch in progress is
    finished and checkpointed, then the run ends as after STOP_AFTER (a clean stop for a run
    trained in chunks). Ctrl-C (SIGINT) still stops at once, losing the epoch in progress."""

    def __init__(self, stream):
        self.requested = False
        self._stream = stream
        try:
            self._previous = signal.signal(signal.SIGTERM, self._request)
        except ValueError:      # not the main thread: no handler, no request
            self._previous = None

    def _request(self, signum, frame):
        self.requested = True
        self._stream.write("\nSIGTERM: stopping after the epoch in progress\n")
        self._stream.flush()

    def restore(self):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None


def _build_trainer(name, config, dataset, architecture, stream):
    """The Trainer, saying what is compiled, where the compiled code is cached, and how
    long it took (the first use on a machine compiles Theano's C code for minutes)."""
    import theano
    stream.write("%s: %s\n%s: building the network and compiling its Theano functions "
                 "(C code cached in %s; the first use on a machine compiles for several "
                 "minutes, later runs reuse it)...\n"
                 % (name, dataset, name, theano.config.compiledir))
    stream.flush()
    started = time.time()
    trainer = Trainer(config, dataset, architecture)
    stream.write("%s: compiled in %.0f s\n" % (name, time.time() - started))
    stream.flush()
    return trainer


def _write_artifacts(run_dir, results_dir):
    from .curves import update_run_artifacts
    from .tables import write_tables
    update_run_artifacts(run_dir)
    write_tables(results_dir)
