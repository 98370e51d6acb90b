"""Compile the experiments' Theano functions ahead of time: ``python -m gxnor warm``.

    python -m gxnor warm [EXPERIMENT ...]        (default: mnist; make warm-cache)

The first use of Theano on a machine compiles its C code for minutes before the first
epoch. This builds each experiment's network and its training and evaluation functions
exactly as a run does (the released hyperparameters, the Theano flags in effect), on
synthetic data of the right shape, so the code lands in Theano's compile cache; the
Docker images run it at build time, and a later run starts its first epoch at once.
Nothing is trained and nothing is written outside the cache. Theano keys its cache by
the generated code and the compiler flags, not by array sizes or data, so the cache
serves every run of the same settings and flags.
"""
from __future__ import absolute_import, division, print_function

import argparse
import sys
import time

import numpy as np

__all__ = ['warm', 'main']


def _synthetic_dataset(name, shape, count):
    from ..datasets import Dataset, Split
    from ..datasets.splits import scale_unit_pm1
    images = np.zeros((count,) + tuple(shape), dtype=np.uint8)
    labels = np.arange(count) % 10
    split = Split(images, labels, scale_unit_pm1, name='warm')
    return Dataset(name, split, split, split, source={'synthetic': 'gxnor.training.warm'})


def warm(experiment, stream=sys.stdout):
    """Compile one experiment's functions; returns the seconds it took."""
    import theano

    from ..experiments import configure
    from ..models import INPUT_SHAPES
    from .train import Trainer
    config = configure(experiment)
    dataset = _synthetic_dataset(experiment, INPUT_SHAPES[config['architecture']],
                                 config['batch_size'])
    stream.write("warm: compiling the %s network's training and evaluation functions into "
                 "%s ...\n" % (experiment, theano.config.compiledir))
    stream.flush()
    started = time.time()
    Trainer(config, dataset)
    seconds = time.time() - started
    stream.write("warm: %s compiled in %.0f s\n" % (experiment, seconds))
    stream.flush()
    return seconds


def main(argv=None):
    from ..experiments import EXPERIMENTS
    parser = argparse.ArgumentParser(prog='python -m gxnor warm',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('experiments', nargs='*', default=['mnist'],
                        help='experiments to compile (default: mnist; any of %s)'
                             % ', '.join(EXPERIMENTS))
    args = parser.parse_args(argv)
    unknown = [name for name in args.experiments if name not in EXPERIMENTS]
    if unknown:
        sys.stderr.write("error: unknown experiment(s) %s; choose from %s\n"
                         % (', '.join(unknown), ', '.join(EXPERIMENTS)))
        return 2
    for name in args.experiments:
        warm(name)
    return 0
