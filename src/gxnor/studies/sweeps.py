"""The paper's studies beyond the main table, as data: each sweep is a list of points,
each point an ordinary run of a base experiment with a few settings changed.

``python -m gxnor sweeps makefile`` writes the make rules (one target per point, so
``make -j N ablation-m`` runs N points at a time); ``python -m gxnor sweeps slurm SWEEP``
writes a Slurm job-array script running the same command lines, one array task per point.
"""
from __future__ import absolute_import, division, print_function

import argparse
import os
import sys
from collections import OrderedDict

from ..experiments import ConfigError, configure
from ..settings import PULSE_SHAPES

__all__ = ['SWEEPS', 'sweep_points', 'point_run_name', 'parse_only', 'main']


def _points(setting, values):
    return [OrderedDict([(setting, value)]) for value in values]


def _states_points():
    points = []
    for weight_states in (0, 1, 2, 3):
        for activation_states in (1, 2, 3, 'none'):
            points.append(OrderedDict([('N', weight_states), ('act_N', activation_states)]))
    return points


# Full precision as the released `discrete = False` path; the released scripts recommend a
# smaller batch for it, whose value we do not know: 100 is our choice (documented).
SPECIAL_CASES = [
    OrderedDict([('N', 0), ('act_N', 'none')]),                        # binary weights
    OrderedDict([('N', 1), ('act_N', 'none')]),                        # ternary weights
    OrderedDict([('N', 1), ('act_N', 1)]),                             # GXNOR (both ternary)
    OrderedDict([('discrete', 'false'), ('act_N', 1)]),                # fp weights, ternary act.
    OrderedDict([('discrete', 'false'), ('act_N', 'none'), ('batch_size', 100)]),  # full precision
]

# cuDNN, on the authors' recommended platform (a pool window's gradient to one tied element), against
# Theano on a CPU (to every tied element), two seeds each (issue: what the rule does).
PLATFORM_POOL = [OrderedDict([('pool_grad', rule), ('seed', seed)])
                 for seed in (1234, 1) for rule in ('one', 'all')]

SWEEPS = OrderedDict([
    ('ablation-m', dict(about='DST nonlinearity m in p = tanh(m |v| / L); none = p = |v| / L',
                        points=_points('m', [1, 2, 3, 5, 10, 'none']))),
    ('ablation-a', dict(about='pulse width a of the derivative approximation (rectangular)',
                        points=_points('act_a', [0.125, 0.25, 0.5, 0.75, 1.0]))),
    ('ablation-r', dict(about='sparse window r of the ternary activation',
                        points=_points('act_r', [0.25, 0.5, 0.75, 1.0, 1.5, 2.0]))),
    ('ablation-pulse', dict(about='shape of the derivative pulse (a = 0.5)',
                            points=_points('pulse', list(PULSE_SHAPES)))),
    ('ablation-states', dict(about='states of the weight space (N) x activation space (act_N); '
                                   'none = full-precision activations',
                             points=_states_points())),
    ('special-cases', dict(about='binary / ternary weights, full-precision weights with ternary '
                                 'activations, full precision (batch 100, our choice)',
                           points=SPECIAL_CASES)),
    ('platform-pool', dict(about='tie rule of the max-pool gradient: one (cuDNN, the paper\'s '
                                 'K80) vs all (Theano on a CPU), seeds 1234 and 1',
                           points=PLATFORM_POOL)),
])


def point_run_name(sweep, point):
    """Run folder name of a point: ``ablation-m.m=3``, ``ablation-states.N=0,act_N=1``."""
    return '%s.%s' % (sweep, ','.join('%s=%s' % item for item in point.items()))


def parse_only(text):
    """``"m=3,5"`` or ``"N=0,1 act_N=1"`` -> {'m': ['3', '5']} ...; empty -> {}."""
    only = OrderedDict()
    for item in (text or '').split():
        if '=' not in item:
            raise ConfigError("ONLY item %r must be written setting=value[,value...]" % (item,))
        name, values = item.split('=', 1)
        only[name] = values.split(',')
    return only


def sweep_points(sweep, only=None, base='mnist'):
    """The (validated) points of a sweep, restricted by ``only``."""
    if sweep not in SWEEPS:
        raise ConfigError("unknown sweep %r; choose one of %s" % (sweep, ', '.join(SWEEPS)))
    points = SWEEPS[sweep]['points']
    for name, values in (only or {}).items():
        if not any(name in point for point in points):
            raise ConfigError("ONLY names %r, which sweep %s does not vary (it varies %s)"
                              % (name, sweep, ', '.join(sorted(set(k for p in points for k in p)))))
        points = [p for p in points if name not in p or str(p[name]) in values]
    if not points:
        raise ConfigError("ONLY=%s leaves no point of sweep %s"
                          % (' '.join('%s=%s' % (k, ','.join(v)) for k, v in only.items()), sweep))
    for point in points:
        configure(base, dict((k, str(v)) for k, v in point.items()))   # fail early, all at once
    return points


def point_arguments(sweep, point):
    """The ``gxnor run`` arguments that make a point (without the shared ones)."""
    settings = ' '.join('%s=%s' % item for item in point.items())
    return ['--run', point_run_name(sweep, point), '--sweep', sweep, '--set', settings]


def _quote(argument):
    if argument and all(c.isalnum() or c in '-_./=,:' for c in argument):
        return argument
    return "'%s'" % argument.replace("'", "'\\''")


def makefile(sweep, only_text, base, command_prefix, shared_arguments):
    """Make rules: ``SWEEP: SWEEP/0 SWEEP/1 ...`` with one phony target per point.

    The commands are written out in full (``command_prefix`` = how to call python -m
    gxnor), so the generated file needs no variables from the calling make.
    """
    points = sweep_points(sweep, parse_only(only_text), base)
    shared = ' '.join(_quote(a) for a in shared_arguments)
    results = _option(shared_arguments, '--results', 'results')
    targets = ['%s/%d' % (sweep, index) for index in range(len(points))]
    lines = ['# generated by python -m gxnor sweeps makefile %s; do not edit' % sweep, '',
             '.PHONY: %s %s' % (sweep, ' '.join(targets)),
             '%s: %s' % (sweep, ' '.join(targets)),
             '\t%s tables --results %s' % (command_prefix, _quote(results))]
    for target, point in zip(targets, points):
        arguments = ' '.join(_quote(a) for a in point_arguments(sweep, point))
        lines.append('%s:' % target)
        lines.append('\t%s run %s %s --resume-if-exists %s'
                     % (command_prefix, base, arguments, shared))
    return '\n'.join(lines) + '\n'


def _option(arguments, name, default):
    for index, argument in enumerate(arguments[:-1]):
        if argument == name:
            return arguments[index + 1]
    return default


def slurm_script(sweep, only_text, command_prefix, shared_arguments):
    """A job-array script: one array task per point, the same command line as make runs."""
    points = sweep_points(sweep, parse_only(only_text))
    lines = ['#!/bin/bash',
             '#SBATCH --job-name=gxnor-%s' % sweep,
             '#SBATCH --array=0-%d' % (len(points) - 1),
             '#SBATCH --cpus-per-task=2',
             '#SBATCH --output=results/slurm/%s-%%a.log' % sweep,
             '# generated by python -m gxnor sweeps slurm %s; run from the repository root.' % sweep,
             '# Each array task is one point of the sweep; add #SBATCH lines (partition,',
             '# time, --gres=gpu:1 for the GPU container) as your cluster needs.',
             'set -euo pipefail',
             '# the environment `make` gives every run (floatX=float32, OpenBLAS, compile cache)',
             'export PYTHONPATH="$PWD/src"',
             'export THEANO_FLAGS=%s' % _quote(os.environ.get(
                 'THEANO_FLAGS', 'floatX=float32,blas.ldflags=-lopenblas,'
                                 'base_compiledir=build/theano')),
             'case "$SLURM_ARRAY_TASK_ID" in']
    for index, point in enumerate(points):
        arguments = ' '.join(_quote(a) for a in point_arguments(sweep, point) + shared_arguments)
        lines.append('  %d) exec %s %s --resume-if-exists ;;' % (index, command_prefix, arguments))
    lines.append('  *) echo "no point $SLURM_ARRAY_TASK_ID in sweep %s" >&2; exit 2 ;;' % sweep)
    lines.append('esac')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m gxnor sweeps')
    commands = parser.add_subparsers(dest='command')
    make = commands.add_parser('makefile', help='print the make rules of one sweep')
    make.add_argument('sweep')
    make.add_argument('--only', default='')
    make.add_argument('--base', default='mnist')
    make.add_argument('--python', default='.venv/bin/python')
    slurm = commands.add_parser('slurm', help='write a Slurm job-array script for a sweep')
    slurm.add_argument('sweep')
    slurm.add_argument('--only', default='')
    slurm.add_argument('--base', default='mnist')
    slurm.add_argument('--out', default=None)
    slurm.add_argument('--python', default='.venv/bin/python')
    commands.add_parser('list', help='list the sweeps and their points')
    # Arguments after `--` are passed to every point's `gxnor run` (e.g. --stop-after 30).
    argv = list(sys.argv[1:] if argv is None else argv)
    shared = argv[argv.index('--') + 1:] if '--' in argv else []
    args = parser.parse_args(argv[:argv.index('--')] if '--' in argv else argv)
    try:
        if args.command == 'makefile':
            sys.stdout.write(makefile(args.sweep, args.only, args.base,
                                      '%s -m gxnor' % args.python, shared))
        elif args.command == 'slurm':
            text = slurm_script(args.sweep, args.only,
                                '%s -m gxnor run %s' % (args.python, args.base), shared)
            out = args.out or os.path.join('results', 'slurm', '%s.sbatch' % args.sweep)
            if not os.path.isdir(os.path.dirname(out)):
                os.makedirs(os.path.dirname(out))
            with open(out, 'w') as handle:
                handle.write(text)
            print("wrote %s: submit with  sbatch %s" % (out, out))
        else:
            for sweep, spec in SWEEPS.items():
                print('%s: %s' % (sweep, spec['about']))
                for point in spec['points']:
                    print('    %s' % point_run_name(sweep, point))
        return 0
    except ConfigError as error:
        sys.stderr.write('error: %s\n' % error)
        return 2
