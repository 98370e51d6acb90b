"""Sweeps as data: points, names, ONLY filters, generated make rules and Slurm scripts, tables."""
from __future__ import absolute_import, division, print_function

import json

import pytest

from gxnor.studies import sweeps
from gxnor.training import tables
from gxnor.experiments import ConfigError


def test_points_of_each_sweep():
    counts = dict((name, len(spec['points'])) for name, spec in sweeps.SWEEPS.items())
    assert counts == {'ablation-m': 6, 'ablation-a': 5, 'ablation-r': 6, 'ablation-pulse': 4,
                      'ablation-states': 16, 'special-cases': 5, 'platform-pool': 4}
    platform = sweeps.sweep_points('platform-pool', sweeps.parse_only('seed=1'))
    assert [(p['pool_grad'], p['seed']) for p in platform] == [('one', 1), ('all', 1)]
    names = [sweeps.point_run_name('ablation-m', p) for p in sweeps.sweep_points('ablation-m')]
    assert names[0] == 'ablation-m.m=1' and names[-1] == 'ablation-m.m=none'
    states = sweeps.sweep_points('ablation-states', sweeps.parse_only('N=0,3 act_N=none'))
    assert [(p['N'], p['act_N']) for p in states] == [(0, 'none'), (3, 'none')]


@pytest.mark.parametrize('only,word', [('N=1', 'does not vary'), ('m=7', 'leaves no point'),
                                       ('m', 'setting=value')])
def test_bad_only(only, word):
    with pytest.raises(ConfigError) as info:
        sweeps.sweep_points('ablation-m', sweeps.parse_only(only))
    assert word in str(info.value)


def test_unknown_sweep_names_the_choices():
    with pytest.raises(ConfigError) as info:
        sweeps.sweep_points('ablation-x')
    assert 'ablation-m' in str(info.value) and 'special-cases' in str(info.value)


def test_generated_make_rules_run_each_point_once():
    text = sweeps.makefile('ablation-m', 'm=3,none', 'mnist', 'PY -m gxnor',
                           ['--data-dir', 'd d', '--stop-after', '30'])
    lines = text.splitlines()
    assert 'ablation-m: ablation-m/0 ablation-m/1' in lines
    commands = [l.strip() for l in lines if l.startswith('\tPY -m gxnor run')]
    assert commands == [
        "PY -m gxnor run mnist --run ablation-m.m=3 --sweep ablation-m --set m=3 "
        "--resume-if-exists --data-dir 'd d' --stop-after 30",
        "PY -m gxnor run mnist --run ablation-m.m=none --sweep ablation-m --set m=none "
        "--resume-if-exists --data-dir 'd d' --stop-after 30"]


def test_slurm_script_has_one_array_task_per_point(tmpdir):
    out = str(tmpdir.join('s.sbatch'))
    assert sweeps.main(['slurm', 'special-cases', '--out', out, '--', '--stop-after', '3']) == 0
    text = open(out).read()
    assert '#SBATCH --array=0-4' in text
    tasks = [l for l in text.splitlines() if l.strip()[:2] in ('0)', '1)', '2)', '3)', '4)')]
    assert len(tasks) == 5
    assert all('--stop-after 3 --resume-if-exists' in t for t in tasks)
    assert "--set 'discrete=false act_N=none batch_size=100'" in tasks[4]
    assert 'export THEANO_FLAGS=' in text


def _fake_run(results, name, sweep, overrides, best, honest, sparsity):
    folder = results.join('runs', name)
    folder.ensure(dir=True)
    folder.join('config.json').write(json.dumps(dict(
        dataset='mnist', sweep=sweep, overrides=overrides, hyperparameters={})))
    folder.join('summary.json').write(json.dumps(dict(
        experiment='mnist', run=name, dataset='mnist', epochs_run=30, epochs_planned=4000,
        finished=True, stopped_after=30, best_test_error=best, best_test_epoch=29,
        best_valid_error=best, best_valid_epoch=28, test_error_at_best_valid=honest,
        final_test_error=best, wall_seconds=900.0, seconds_per_epoch=30.0,
        activation_sparsity=sparsity, activation_sparsity_at_best_test=sparsity,
        machine='m', commit='abcdef0123', command='c')))


def test_sweep_table_and_plot(tmpdir):
    _fake_run(tmpdir, 'ablation-m.m=3', 'ablation-m', {'m': '3', 'stop_after': 30}, 1.5, 1.6, 0.6)
    _fake_run(tmpdir, 'ablation-m.m=none', 'ablation-m', {'m': 'none'}, 2.25, 2.5, 0.55)
    _fake_run(tmpdir, 'mnist', None, {}, 0.9, 1.0, 0.5)
    text = open(tables.write_tables(str(tmpdir))).read()
    assert '## Sweep ablation-m' in text and '30 of 4000 epochs (STOP_AFTER)' in text
    rows = [l for l in text.splitlines() if l.startswith('| m=')]
    assert rows[0].startswith('| m=3 | mnist | 1.50 (29) | 1.60 (28) | 60.00 |')
    assert rows[1].startswith('| m=none | mnist | 2.25 (29) | 2.50 (28) | 55.00 |')
    # the sweep's runs are not mixed into the main MNIST table
    mnist_rows = [l for l in text.splitlines() if l.startswith('| mnist |')]
    assert len(mnist_rows) == 1
    png = tmpdir.join('sweeps', 'ablation-m.png')
    assert png.read_binary()[:8] == b'\x89PNG\r\n\x1a\n' and png.size() > 5000
