"""Run folders: ``results/runs/<run>/`` with the config, the epoch log and the summary.

* ``config.json``: hyperparameters, library versions, Theano flags, git commit, machine,
  command line;
* ``epochs.jsonl``: one JSON object per finished epoch (rewritten from the checkpoint on
  resume, so it always matches it);
* ``summary.json``: the numbers the tables are made from;
* ``checkpoint.npz``: see checkpoint.py; ``curves.png`` and the ``.mat`` curves.
"""
from __future__ import absolute_import, division, print_function

import datetime
import io
import json
import os
import platform
import socket
import subprocess
import sys

from .files import atomic_write

__all__ = ['RunFolder', 'RunFolderError', 'environment_facts']

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RunFolderError(RuntimeError):
    """A run folder that cannot be used as asked; the message says what to do instead."""


def _git_commit():
    try:
        commit = subprocess.check_output(['git', 'rev-parse', 'HEAD'], cwd=ROOT,
                                         stderr=open(os.devnull, 'w')).decode().strip()
        dirty = subprocess.check_output(['git', 'status', '--porcelain', '--untracked-files=no'],
                                        cwd=ROOT).decode().strip()
        return commit + ('-dirty' if dirty else '')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def _cpu_model():
    try:
        with open('/proc/cpuinfo') as handle:
            for line in handle:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except IOError:
        pass
    return platform.processor() or 'unknown CPU'


def environment_facts():
    """Library versions, Theano flags, machine and commit, for config.json and summaries."""
    import lasagne
    import numpy
    import scipy
    import theano
    from . import __version__, cpu, tuning
    device = theano.config.device
    return dict(
        versions=dict(python=platform.python_version(), numpy=numpy.__version__,
                      scipy=scipy.__version__, theano=theano.__version__,
                      lasagne=lasagne.__version__, gxnor=__version__),
        theano_flags=os.environ.get('THEANO_FLAGS', ''),
        cpu_pins=cpu.describe(),
        tuning=tuning.describe(),
        floatX=theano.config.floatX,
        machine='%s, %s, %d cores, device=%s' % (socket.gethostname(), _cpu_model(),
                                                cpu_count(), device),
        commit=_git_commit(),
        command=_command_line(),
    )


def _command_line():
    """How this process was started, as a user would type it (``python -m gxnor ...``)."""
    program = sys.argv[0] if sys.argv else ''
    if os.path.basename(program) == '__main__.py':
        program = 'python -m %s' % os.path.basename(os.path.dirname(program))
    return ' '.join([program] + sys.argv[1:])


def cpu_count():
    """Number of CPUs (0 when it cannot be told)."""
    try:
        import multiprocessing
        return multiprocessing.cpu_count()
    except (ImportError, NotImplementedError):
        return 0


def _json_bytes(data):
    return (json.dumps(data, indent=2, sort_keys=True) + '\n').encode('utf-8')


class RunFolder(object):
    """One run's folder. ``open`` refuses to reuse an existing run unless resuming."""

    def __init__(self, path):
        self.path = path
        self.config_path = os.path.join(path, 'config.json')
        self.epochs_path = os.path.join(path, 'epochs.jsonl')
        self.summary_path = os.path.join(path, 'summary.json')
        self.checkpoint_path = os.path.join(path, 'checkpoint.npz')

    @classmethod
    def open(cls, results_dir, name, resume):
        folder = cls(os.path.join(results_dir, 'runs', name))
        exists = os.path.exists(folder.path)
        if resume:
            if not os.path.exists(folder.checkpoint_path):
                raise RunFolderError(
                    "cannot resume run %r: %s has no checkpoint.npz (start it without "
                    "--resume/RESUME=1, or name another run)" % (name, folder.path))
        elif exists:
            raise RunFolderError(
                "run folder %s already exists; nothing was changed. Continue that run with "
                "--resume (make ... RESUME=1), or start a new one under another name with "
                "--run NAME (make ... RUN=NAME)" % folder.path)
        else:
            os.makedirs(folder.path)
        return folder

    def read_config(self):
        with io.open(self.config_path, encoding='utf-8') as handle:
            return json.load(handle)

    def write_config(self, config):
        atomic_write(self.config_path, lambda handle: handle.write(_json_bytes(config)))

    def write_epochs(self, records):
        data = b''.join((json.dumps(record, sort_keys=True) + '\n').encode('utf-8')
                        for record in records)
        atomic_write(self.epochs_path, lambda handle: handle.write(data))

    def append_epoch(self, record):
        with io.open(self.epochs_path, 'ab') as handle:
            handle.write((json.dumps(record, sort_keys=True) + '\n').encode('utf-8'))

    def write_summary(self, summary):
        summary = dict(summary, updated=datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ'))
        atomic_write(self.summary_path, lambda handle: handle.write(_json_bytes(summary)))
