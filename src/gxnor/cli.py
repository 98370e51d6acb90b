"""Command line: ``python -m gxnor run EXPERIMENT ...`` and ``python -m gxnor tables``.

The make targets call these; every hyperparameter can be set with ``--set name=value``
(``make ... SET='name=value ...'``). Bad input ends with ``error: ...`` on stderr and
exit status 2; nothing already written is removed.
"""
from __future__ import absolute_import, division, print_function

import argparse
import sys

from .checkpoint import CheckpointError
from .datasets import DataError
from .experiments import EXPERIMENTS, ConfigError, parse_overrides
from .orchestration import default_run_name, run_experiment
from .runs import RunFolderError

__all__ = ['main', 'run_experiment', 'default_run_name']

USER_ERRORS = (ConfigError, DataError, RunFolderError, CheckpointError)


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
    tables = commands.add_parser('tables', help='write results/README.md from the run folders')
    tables.add_argument('--results', default='results')
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == 'tables':
            from .tables import write_tables
            print(write_tables(args.results))
            return 0
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


if __name__ == '__main__':
    sys.exit(main())
