"""One process per run folder (issue #12): a second RESUME=1 or a second sweep worker on
the same point stops with a message naming the process that trains it; a lock whose
process has gone is taken over."""
from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys

import pytest

from gxnor.training.runs import RunFolder, RunFolderError, RunLock
from test_runs import _run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HOLDER = """
import sys
sys.path.insert(0, %r)
from gxnor.training.runs import RunLock
RunLock(sys.argv[1]).acquire()
sys.stdout.write('held\\n')
sys.stdout.flush()
sys.stdin.read()          # hold the lock until the test closes our stdin
"""


@pytest.fixture
def holder():
    """Start a process that takes a run folder's lock; yields a function folder -> Popen."""
    started = []

    def start(folder):
        process = subprocess.Popen([sys.executable, '-c', HOLDER % os.path.join(ROOT, 'src'),
                                    folder], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert process.stdout.readline().strip() == b'held'
        started.append(process)
        return process
    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_second_process_is_refused_with_the_holders_pid(tmpdir, holder):
    folder = str(tmpdir.mkdir('run'))
    other = holder(folder)
    with pytest.raises(RunFolderError) as info:
        RunFolder(folder).lock()
    message = str(info.value)
    assert 'is in use by process %d on ' % other.pid in message
    assert 'kill %d' % other.pid in message


def test_the_lock_of_a_process_that_has_gone_is_taken_over(tmpdir, holder):
    folder = str(tmpdir.mkdir('run'))
    other = holder(folder)
    other.kill()
    other.wait()
    lock = RunFolder(folder).lock()       # no RunFolderError: the kernel dropped it
    with open(os.path.join(folder, RunLock.FILE)) as handle:
        assert json.load(handle)['pid'] == os.getpid()
    lock.release()
    RunFolder(folder).lock().release()    # and a released lock can be taken again


def test_a_stale_record_without_a_lock_does_not_block(tmpdir):
    folder = str(tmpdir.mkdir('run'))
    with open(os.path.join(folder, RunLock.FILE), 'w') as handle:
        json.dump(dict(pid=2 ** 22 + 7, host='elsewhere', command='gone'), handle)
    RunFolder(folder).lock().release()


def test_resume_while_the_run_trains_changes_nothing(tmpdir, holder):
    _run(tmpdir, run='r', settings=dict(stop_after=1))
    run_dir = tmpdir.join('runs', 'r')
    before = dict((name, run_dir.join(name).read_binary())
                  for name in ('epochs.jsonl', 'checkpoint.npz', 'summary.json'))
    other = holder(str(run_dir))
    with pytest.raises(RunFolderError) as info:
        _run(tmpdir, run='r', resume=True)
    assert 'in use by process %d' % other.pid in str(info.value)
    for name, content in before.items():
        assert run_dir.join(name).read_binary() == content
    # a sweep worker on the same point (resume when a checkpoint exists) is refused too
    with pytest.raises(RunFolderError):
        _run(tmpdir, run='r', resume_if_exists=True)


def test_two_starts_of_one_new_run_the_second_is_told_who_has_it(tmpdir, holder):
    first = RunFolder.open(str(tmpdir), 'r', resume=False)   # after its compilation
    other = holder(first.path)
    with pytest.raises(RunFolderError) as info:
        RunFolder.open(str(tmpdir), 'r', resume=False)
    assert 'already exists' in str(info.value)
    assert 'It is in use by process %d' % other.pid in str(info.value)
