"""tools/doctor.sh (make doctor): each missing host piece gives one `error:` line with
its Debian/Ubuntu fix, and the exit status stops make before anything is built."""
from __future__ import absolute_import, division, print_function

import os
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCTOR = os.path.join(ROOT, 'tools', 'doctor.sh')
PYTHON = sys.executable  # the test run's own Python 2.7 (or 3, when run that way)


def doctor(tmpdir, **env):
    full = dict(os.environ, PYTHON27=PYTHON, CXX='g++', BLAS_LDFLAGS='-lopenblas',
                GXNOR_MIN_FREE_MB='1', GXNOR_DOCTOR_OS=os_release(tmpdir, 'debian', '12'))
    full.update(env)
    process = subprocess.Popen(['bash', DOCTOR, str(tmpdir)], env=full,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate()
    errors = [line for line in err.decode('utf-8').splitlines() if line.startswith('error:')]
    return process.returncode, errors, out.decode('utf-8')


def os_release(tmpdir, distro, version):
    path = tmpdir.join('os-release-%s-%s' % (distro, version))
    path.write('ID=%s\nVERSION_ID="%s"\n' % (distro, version))
    return str(path)


def fake_python(tmpdir, name, intercept):
    """A Python that behaves like the real one except where ``intercept`` (shell) decides."""
    path = tmpdir.join(name)
    path.write('#!/bin/sh\n%s\nexec "%s" "$@"\n' % (intercept, PYTHON))
    os.chmod(str(path), os.stat(str(path)).st_mode | stat.S_IEXEC)
    return str(path)


@pytest.fixture(scope='module')
def complete():
    """Skip the cases that need a complete host when this one is not (it must be for CI)."""
    if sys.version_info[:2] != (2, 7):
        pytest.skip('the doctor checks a Python 2.7; this test run is Python %d.%d'
                    % sys.version_info[:2])


def test_a_complete_machine_passes(tmpdir, complete):
    status, errors, out = doctor(tmpdir)
    assert (status, errors) == (0, [])
    assert 'doctor: all set' in out


def test_missing_interpreter(tmpdir):
    status, errors, _ = doctor(tmpdir, PYTHON27=str(tmpdir.join('no-such-python')))
    assert status == 1
    assert len(errors) == 1 and 'no-such-python does not run' in errors[0]
    assert 'pyenv install 2.7.18' in errors[0] and 'make docker-run-cpu' in errors[0]


@pytest.mark.parametrize('distro,version,packaged', [
    ('debian', '12', False), ('ubuntu', '24.04', False),
    ('ubuntu', '22.04', True), ('debian', '11', True)])
def test_no_interpreter_at_all_gets_the_fix_of_the_release(tmpdir, distro, version, packaged):
    status, errors, _ = doctor(tmpdir, PYTHON27='',
                               GXNOR_DOCTOR_OS=os_release(tmpdir, distro, version))
    assert status == 1 and len(errors) == 1
    assert ('apt-get install -y python2.7 python2.7-dev' in errors[0]) == packaged
    assert ('pyenv install 2.7.18' in errors[0]) == (not packaged)


def test_a_python_3_is_refused(tmpdir):
    python3 = fake_python(tmpdir, 'python3x', 'case "$1" in -c) echo 3.11; exit 0;; esac')
    status, errors, _ = doctor(tmpdir, PYTHON27=python3)
    assert status == 1 and len(errors) == 1 and 'is Python 3.11, not 2.7' in errors[0]


def test_missing_pip(tmpdir, complete):
    nopip = fake_python(tmpdir, 'python-nopip', '[ "$1 $2" = "-m pip" ] && exit 1')
    status, errors, _ = doctor(tmpdir, PYTHON27=nopip)
    assert status == 1 and len(errors) == 1
    assert 'has no pip' in errors[0]
    assert 'https://bootstrap.pypa.io/pip/2.7/get-pip.py' in errors[0]


def test_missing_headers(tmpdir, complete):
    noheaders = fake_python(
        tmpdir, 'python-noheaders',
        'case "$2" in *INCLUDEPY*) echo %s; exit 0;; esac' % tmpdir.join('no-include'))
    status, errors, _ = doctor(tmpdir, PYTHON27=noheaders)
    assert status == 1 and len(errors) == 1
    assert 'no Python.h' in errors[0] and 'python2.7-dev' in errors[0]


def test_missing_compiler_also_reports_blas_unchecked(tmpdir, complete):
    status, errors, _ = doctor(tmpdir, CXX=str(tmpdir.join('no-g++')))
    assert status == 1 and len(errors) == 2
    assert 'no C++ compiler' in errors[0] and errors[0].endswith('apt-get install -y g++')
    assert errors[1].endswith('apt-get install -y libopenblas-dev')


def test_missing_blas(tmpdir, complete):
    status, errors, _ = doctor(tmpdir, BLAS_LDFLAGS='-lgxnor_no_such_blas')
    assert status == 1 and len(errors) == 1
    assert 'cannot link a BLAS' in errors[0] and 'gxnor_no_such_blas' in errors[0]
    assert errors[0].endswith('apt-get install -y libopenblas-dev')


def test_too_little_disk(tmpdir, complete):
    status, errors, _ = doctor(tmpdir, GXNOR_MIN_FREE_MB=str(10 ** 12))
    assert status == 1 and len(errors) == 1 and 'MB free at' in errors[0]
