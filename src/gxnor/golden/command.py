"""``python -m gxnor golden --out DIR`` (write the goldens) and ``--replay GOLDEN_DIR
--out DIR`` (this code as a port)."""
from __future__ import absolute_import, division, print_function

import argparse
import sys

from ..settings import KERNELS
from .generate import generate, replay

__all__ = ['main']


def _parser():
    parser = argparse.ArgumentParser(prog='python -m gxnor golden',
                                     description='Write the golden vectors (or replay them).')
    parser.add_argument('--out', required=True, help='output folder, e.g. results/golden/v1')
    parser.add_argument('--replay', metavar='GOLDEN_DIR',
                        help='instead: recompute the outputs of GOLDEN_DIR\'s inputs with this '
                             'code and write them in the port layout to --out')
    parser.add_argument('--kernels', choices=KERNELS,
                        help='with --replay: the training step\'s kernels (gxnor.kernels or '
                             'Theano\'s own ops; default: the configuration\'s)')
    parser.add_argument('--curves-data-dir', help='MNIST folder: also run the curves')
    parser.add_argument('--curves-epochs', type=int, default=3)
    parser.add_argument('--curves-seeds', default='1,2,3', help='comma-separated seeds')
    parser.add_argument('--drop-curves', action='store_true',
                        help='without --curves-data-dir, delete existing curves instead of '
                             'keeping them')
    parser.add_argument('--only', help='comma-separated subset: activation,snap,dst,'
                                       'batchnorm,adam,train_step (for development)')
    return parser


def main(argv=None):
    from ..datasets import DataError
    from ..experiments import ConfigError
    args = _parser().parse_args(argv)
    only = [s.strip() for s in args.only.split(',')] if args.only else None
    try:
        if args.replay:
            replay(args.replay, args.out, only=only, kernels=args.kernels)
            return 0
        seeds = [int(s) for s in args.curves_seeds.split(',') if s.strip()]
        if args.curves_data_dir and (args.curves_epochs < 1 or not seeds):
            raise ValueError('--curves-epochs must be >= 1 and --curves-seeds non-empty')
        generate(args.out, args.curves_data_dir, args.curves_epochs, seeds,
                 keep_curves=not args.drop_curves, only=only)
        print('golden vectors written to %s' % args.out)
        return 0
    except (IOError, OSError, ValueError, DataError, ConfigError) as error:
        sys.stderr.write('error: %s\n' % error)
        return 2
