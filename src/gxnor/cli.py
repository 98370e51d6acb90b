"""Command line: ``python -m gxnor run EXPERIMENT ...`` and every other gxnor program.

``python -m gxnor PROGRAM ARGS`` runs a program's ``main(ARGS)`` (``PROGRAMS``: tables,
fetch, replay, warm, bench, sweeps, resting, bitwise, golden, ...) in a process that
``gxnor/__main__.py`` prepared (gxnor.process), as every make target does. For ``run``
every hyperparameter can be set with ``--set name=value`` (``make ... SET='name=value
...'``). Bad input ends with ``error: ...`` on stderr and exit status 2; nothing already
written is removed.
"""
from __future__ import absolute_import, division, print_function

import argparse
import importlib
import sys
from collections import OrderedDict

from .datasets import DataError
from .experiments import EXPERIMENTS, ConfigError, parse_overrides
from .training.checkpoint import CheckpointError
from .training.orchestration import default_run_name, run_experiment
from .training.runs import RunFolderError

__all__ = ['main', 'run_experiment', 'default_run_name']

USER_ERRORS = (ConfigError, DataError, RunFolderError, CheckpointError)

# python -m gxnor NAME ...: the module whose main(argv) runs, and what it does.
PROGRAMS = OrderedDict([
    ('tables', ('gxnor.training.tables', 'write results/README.md from the run folders')),
    ('fetch', ('gxnor.datasets.fetch', 'download and verify a data set')),
    ('replay', ('gxnor.training.replay', 'the released MNIST script number for number; '
                                         'the reproduction check')),
    ('warm', ('gxnor.training.warm', "compile an experiment's Theano functions now")),
    ('checkpoint', ('gxnor.training.checkpoint', 'compress a checkpoint')),
    ('longrun', ('gxnor.training.longrun', "the long run's report")),
    ('resume-check', ('gxnor.training.resume_check', "a run's committed checkpoints resumed "
                                                     'and checked against its log')),
    ('curves', ('gxnor.training.curves', "a run's curves and plot")),
    ('sweeps', ('gxnor.studies.sweeps', "a sweep's makefile or Slurm script")),
    ('compare', ('gxnor.studies.compare', 'several runs side by side')),
    ('resting', ('gxnor.studies.resting', "a trained run's zero weights, inputs, resting "
                                          'probability')),
    ('bitwise', ('gxnor.studies.bitwise', 'bit-level gated-XNOR inference of a trained run')),
    ('golden', ('gxnor.golden.command', 'golden vectors (also python -m gxnor.golden)')),
    ('bench', ('gxnor.studies.bench', 'seconds per epoch of the kernels')),
])


def _parser():
    parser = argparse.ArgumentParser(prog='python -m gxnor', description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command')
    run = commands.add_parser('run', help='train one experiment')
    run.add_argument('experiment', choices=list(EXPERIMENTS))
    run.add_argument('--run', help='run folder name (default: experiment + overrides)')
    run.add_argument('--resume', action='store_true', help='continue the run from its checkpoint')
    run.add_argument('--resume-if-exists', action='store_true',
                     help='resume when the run has a checkpoint, else start it (sweeps)')
    run.add_argument('--sweep', help='the sweep this run is a point of (recorded in config.json)')
    run.add_argument('--stop-after', type=int, help='end after K epochs, schedule unchanged')
    run.add_argument('--epochs', type=int, help='number of epochs of the schedule itself')
    run.add_argument('--seed', type=int)
    run.add_argument('--data-dir', help='folder with the data set (default: datasets/)')
    run.add_argument('--results', default='results', help='results folder (default: results)')
    run.add_argument('--set', action='append', default=[], metavar='NAME=VALUE',
                     help='any hyperparameter, e.g. --set H=0.5 --set m=none (repeatable; '
                          'several may be given space-separated in one argument)')
    for name, (_, what) in PROGRAMS.items():   # listed only: main() hands them their args
        commands.add_parser(name, help=what, add_help=False)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PROGRAMS:
        return importlib.import_module(PROGRAMS[argv[0]][0]).main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        items = [item for chunk in args.set for item in chunk.split()]
        overrides = parse_overrides(items)
        for option, name in (('epochs', 'num_epochs'), ('seed', 'seed'),
                             ('stop_after', 'stop_after')):
            if getattr(args, option) is not None:
                overrides[name] = getattr(args, option)
        run_experiment(args.experiment, overrides, run=args.run, resume=args.resume,
                       data_dir=args.data_dir, results_dir=args.results, sweep=args.sweep,
                       resume_if_exists=args.resume_if_exists)
        return 0
    except USER_ERRORS as error:
        sys.stderr.write("error: %s\n" % error)
        return 2
    except KeyboardInterrupt:
        return 130
