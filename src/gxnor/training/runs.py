"""Run folders: ``results/runs/<run>/`` with the config, the epoch log and the summary.

* ``config.json``: hyperparameters, library versions, Theano flags, git commit, machine,
  command line;
* ``epochs.jsonl``: one JSON object per finished epoch (rewritten from the checkpoint on
  resume, so it always matches it);
* ``summary.json``: the numbers the tables are made from;
* ``checkpoint.npz``: see checkpoint.py; ``curves.png`` and the ``.mat`` curves;
* ``.lock``: held (``flock``) by the one process that trains the run, and naming it, so
  that a second process (a second RESUME=1, two sweep workers on one point) stops with a
  message instead of interleaving checkpoints. The kernel drops the lock when its process
  ends, however it ends, so a lock left by a killed run is simply taken over.
"""
from __future__ import absolute_import, division, print_function

import datetime
import errno
import io
import json
import os
import platform
import socket
import subprocess
import sys

from .files import atomic_write, make_folder

try:
    import fcntl
except ImportError:  # not on POSIX: the pid check alone
    fcntl = None

__all__ = ['RunFolder', 'RunFolderError', 'RunLock', 'environment_facts', 'run_path']

# the repository: this file is src/gxnor/training/<name>.py
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


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
    from .. import __version__
    from ..process import cpu, tuning
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


def run_path(results_dir, name):
    """Where run ``name`` lives: ``results_dir/runs/<name>``, or ``name`` itself when it
    is a folder path (it holds a '/', e.g. ``results/reference/mnist-full``)."""
    if '/' in name or os.sep in name:
        return os.path.normpath(name)
    return os.path.join(results_dir, 'runs', name)


def _append_json_line(path, record):
    with io.open(path, 'ab') as handle:
        handle.write((json.dumps(record, sort_keys=True) + '\n').encode('utf-8'))


class RunFolder(object):
    """One run's folder. ``open`` refuses to reuse an existing run unless resuming."""

    def __init__(self, path):
        self.path = path
        self.config_path = os.path.join(path, 'config.json')
        self.epochs_path = os.path.join(path, 'epochs.jsonl')
        self.summary_path = os.path.join(path, 'summary.json')
        self.checkpoint_path = os.path.join(path, 'checkpoint.npz')
        self.sessions_path = os.path.join(path, 'sessions.jsonl')

    @classmethod
    def open(cls, results_dir, name, resume):
        """The run folder, created unless resuming. Refuses an existing folder (unless
        resuming) and a missing checkpoint (when resuming). Does not lock: see lock()."""
        folder = cls(run_path(results_dir, name))
        if resume:
            if not os.path.exists(folder.checkpoint_path):
                raise RunFolderError(
                    "cannot resume run %r: %s has no checkpoint.npz (start it without "
                    "--resume/RESUME=1, or name another run)%s"
                    % (name, folder.path, RunLock(folder.path).in_use_note()))
            return folder
        make_folder(os.path.dirname(folder.path))
        try:
            os.mkdir(folder.path)       # atomic: of two processes only one creates it
        except OSError as error:
            if error.errno != errno.EEXIST:
                raise
            raise RunFolderError(
                "run folder %s already exists; nothing was changed.%s Continue that run "
                "with --resume (make ... RESUME=1), or start a new one under another name "
                "with --run NAME (make ... RUN=NAME)"
                % (folder.path, RunLock(folder.path).in_use_note()))
        return folder

    def lock(self):
        """Take the folder's lock (RunFolderError naming the holder if another process
        has it); returns the RunLock, to ``release()`` when the run ends."""
        lock = RunLock(self.path)
        lock.acquire()
        return lock

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
        _append_json_line(self.epochs_path, record)

    def append_session(self, record):
        """One line per start, resume and stop of the run: when, on which commit and
        machine, from and to which epoch (a run trained in chunks says where each ran)."""
        _append_json_line(self.sessions_path, dict(
            record, time=datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ')))

    def write_summary(self, summary):
        summary = dict(summary, updated=datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ'))
        atomic_write(self.summary_path, lambda handle: handle.write(_json_bytes(summary)))


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno == errno.EPERM   # exists, but belongs to someone else
    return True


class RunLock(object):
    """The lock of one run folder: ``<folder>/.lock``.

    Held with ``flock`` for as long as the run trains; the file names the holder
    (pid, host, command, start time) for the message a second process gets. The kernel
    releases a ``flock`` when the holding process ends, so a lock whose process has gone
    is taken over without anyone deleting anything. Where ``flock`` is unavailable, a
    holder on this host is tested for being alive instead.
    """

    FILE = '.lock'

    def __init__(self, folder):
        self.folder = folder
        self.path = os.path.join(folder, self.FILE)
        self._fd = None

    def holder(self):
        """The holder's record (a dict) from the lock file, or {} if unreadable."""
        try:
            with io.open(self.path, encoding='utf-8') as handle:
                record = json.load(handle)
            return record if isinstance(record, dict) else {}
        except (IOError, OSError, ValueError):
            return {}

    @staticmethod
    def describe(record):
        if not record:
            return 'another process'
        return ('process %s on %s (%s; since %s)'
                % (record.get('pid', '?'), record.get('host', '?'),
                   record.get('command', '?'), record.get('since', '?')))

    def _held_elsewhere(self, record):
        """Without flock: is the recorded holder a live process other than us?"""
        pid = record.get('pid')
        if not isinstance(pid, int) or pid == os.getpid():
            return False
        if record.get('host') != socket.gethostname():
            return True   # cannot tell; assume it lives
        return _process_alive(pid)

    def acquire(self, write_record=True):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except (IOError, OSError) as error:
                    if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                    raise self._busy(self.holder())
            else:
                record = self.holder()
                if self._held_elsewhere(record):
                    raise self._busy(record)
            if write_record:
                record = dict(pid=os.getpid(), host=socket.gethostname(),
                              command=_command_line(),
                              since=datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ'))
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, _json_bytes(record))
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def _busy(self, record):
        return RunFolderError(
            "run folder %s is in use by %s; nothing was changed. Wait for that run to end "
            "(or stop it: kill %s), then try again; a lock whose process has ended is "
            "taken over by itself" % (self.folder, self.describe(record),
                                     record.get('pid', '<its pid>')))

    def in_use_note(self):
        """' It is in use by process ...' when another process holds the lock, else ''."""
        if not os.path.exists(self.path):
            return ''
        probe = RunLock(self.folder)
        try:
            probe.acquire(write_record=False)
        except RunFolderError:
            return ' It is in use by %s.' % self.describe(self.holder())
        except (IOError, OSError):
            return ''
        probe.release(keep_record=True)
        return ''

    def release(self, keep_record=False):
        if self._fd is None:
            return
        try:
            if not keep_record:
                os.ftruncate(self._fd, 0)
        finally:
            os.close(self._fd)   # closing drops the flock
            self._fd = None
