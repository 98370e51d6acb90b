"""A fresh clone leaves every default run name free (issue #12: `make mnist-quick`
stopped at once on a fresh clone, because the committed example run sat in
results/runs/mnist-quick, where the user's own run goes)."""
from __future__ import absolute_import, division, print_function

import os
import re
import subprocess
import sys

import pytest

from gxnor.cli import default_run_name
from gxnor.experiments import EXPERIMENTS
from gxnor.studies.sweeps import SWEEPS, point_run_name, sweep_points

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_TARGETS = [name + suffix for name in sorted(EXPERIMENTS) for suffix in ('', '-quick')]


def _git(*args, **kwargs):
    return subprocess.check_output(('git',) + args, **kwargs).decode('utf-8')


@pytest.fixture(scope='module')
def clone(tmpdir_factory):
    try:
        _git('-C', ROOT, 'rev-parse', 'HEAD')
    except (OSError, subprocess.CalledProcessError):
        pytest.skip('not a git checkout: nothing to clone')
    path = str(tmpdir_factory.mktemp('fresh').join('gxnor'))
    _git('clone', '--quiet', '--no-checkout', ROOT, path)
    _git('-C', path, 'checkout', '--quiet', 'HEAD')
    return path


def _make_n(clone, target):
    """The commands `make <target>` would run, in order."""
    env = dict(os.environ, GXNOR_VENV=os.path.join(clone, 'no-venv'), PYTHON27=sys.executable)
    for name in ('RUN', 'SET', 'SEED', 'EPOCHS', 'MAKEFLAGS', 'MFLAGS'):
        env.pop(name, None)
    return subprocess.check_output(['make', '-n', '--no-print-directory', '-C', clone, target],
                                   env=env).decode('utf-8').splitlines()


def _run_name_of(clone, target):
    """The run folder `make <target>` would write, read from what make would run."""
    commands = [line for line in _make_n(clone, target) if ' -m gxnor run ' in line]
    assert len(commands) == 1, out
    experiment = re.search(r' -m gxnor run (\S+)', commands[0]).group(1)
    named = re.search(r'--run "([^"]*)"', commands[0])
    return named.group(1) if named else default_run_name(experiment, {})


def test_no_default_run_name_exists_in_a_fresh_clone(clone):
    names = dict((target, _run_name_of(clone, target)) for target in RUN_TARGETS)
    assert names['mnist-quick'] == 'mnist-quick' and names['mnist'] == 'mnist'
    for sweep in SWEEPS:
        for point in sweep_points(sweep):
            names['%s (%s)' % (sweep, point_run_name(sweep, point))] = point_run_name(sweep, point)
    taken = sorted('%s -> results/runs/%s' % (target, name) for target, name in names.items()
                   if os.path.exists(os.path.join(clone, 'results', 'runs', name)))
    assert not taken, 'a fresh clone already has these run folders: %s' % ', '.join(taken)


@pytest.mark.parametrize('target', RUN_TARGETS)
def test_every_run_target_checks_its_data_before_the_run(clone, target):
    lines = _make_n(clone, target)
    experiment = target.split('-')[0]
    fetch = [i for i, line in enumerate(lines)
             if re.search(r' -m gxnor fetch %s .*--if-missing' % experiment, line)]
    run = [i for i, line in enumerate(lines) if ' -m gxnor run %s ' % experiment in line]
    assert len(fetch) == 1 and len(run) == 1 and fetch[0] < run[0], '\n'.join(lines)


def test_the_shipped_runs_are_in_reference_and_nothing_in_runs(clone):
    tracked = _git('-C', clone, 'ls-files', 'results').splitlines()
    assert not [path for path in tracked if path.startswith('results/runs/')]
    shipped = set(path.split('/')[2] for path in tracked if path.startswith('results/reference/'))
    assert 'mnist-quick' in shipped
    with open(os.path.join(clone, 'results', 'README.md')) as handle:
        assert '| mnist-quick (shipped) |' in handle.read()


@pytest.mark.parametrize('setting,fix', [
    ('PYTHON27=/nonexistent/python2.7', 'PYTHON27=/nonexistent/python2.7 does not run'),
    ('BLAS_LDFLAGS=-lgxnor_no_such_blas', 'apt-get install -y libopenblas-dev')])
def test_make_test_stops_before_building_when_a_piece_is_missing(clone, setting, fix):
    env = dict(os.environ)
    for name in ('GXNOR_VENV', 'MAKEFLAGS', 'MFLAGS'):
        env.pop(name, None)
    settings = [setting] if setting.startswith('PYTHON27=') else [
        setting, 'PYTHON27=%s' % sys.executable]   # only the one piece missing
    process = subprocess.Popen(['make', '-C', clone, 'test'] + settings, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = process.communicate()
    errors = [line for line in err.decode('utf-8').splitlines() if line.startswith('error:')]
    assert process.returncode != 0
    assert len(errors) == 1 and fix in errors[0], err
    assert not os.path.exists(os.path.join(clone, '.venv'))
    assert not os.path.exists(os.path.join(clone, 'build'))
