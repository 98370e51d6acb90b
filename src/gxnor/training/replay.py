"""Number-for-number comparisons of the first epochs of MNIST with a recorded printout.

Two uses, one mechanism (train K epochs, print every figure the way the released
script prints it, compare the printed strings with a reference):

* ``replay`` (``make replay-released``): the released MNIST script as it runs on a
  CPU -- Theano's own ops (``kernels=theano``), Theano's max-pool ties
  (``pool_grad=all``), the released random streams and Lasagne 0.2.dev1's Adam
  constants (both defaults) -- compared with the released script's own printout,
  measured batch by batch (``results/reference/released-mnist-trace.json``, from
  the project's spec ``released-trace.md``).
* ``check`` (``make check-reproduction``): the DEFAULT MNIST run (fast kernels,
  ``pool_grad=one``) compared with its committed first 3 epochs
  (``results/reference/reproduction-mnist.json``), every printed figure and a sha256
  of the final weights. ``record`` writes that reference.

Printed as the released script prints (Python 2 ``str`` of its float64 figures, i.e.
12 significant digits; batch losses with ``repr``):
``Epoch k of N took ...s`` (1-based k), ``  LR:``, ``  training loss:``,
``  validation loss:``, ``  validation error rate: ...%``, ``  test loss:``,
``  test error rate: ...%``, and ``  batch i loss <repr>`` for every training batch.
The CPU pins of :mod:`gxnor.process.cpu` are what make these strings the same on any x86-64
machine with AVX2.
"""
from __future__ import absolute_import, division, print_function

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

from ..process import cpu
from ..datasets import DataError, load_dataset
from ..experiments import ConfigError, configure
from .files import atomic_write

__all__ = ['REPLAY_SETTINGS', 'released_str', 'EpochPrinter', 'weights_sha256',
           'compare', 'main']

# the repository: this file is src/gxnor/training/<name>.py
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
REFERENCE_DIR = os.path.join(ROOT, 'results', 'reference')
TRACE = os.path.join(REFERENCE_DIR, 'released-mnist-trace.json')
REPRODUCTION = os.path.join(REFERENCE_DIR, 'reproduction-mnist.json')
REPRODUCTION_EPOCHS = 3

# The released script on a CPU (everything else is the default MNIST experiment).
REPLAY_SETTINGS = {'pool_grad': 'all', 'kernels': 'theano'}

FIGURES = ('training_loss', 'validation_loss', 'validation_error', 'test_loss', 'test_error')


def released_str(value):
    """``str(value)`` of a float as Python 2 prints it (12 significant digits)."""
    return '%.12g' % value


class EpochPrinter(object):
    """Prints epochs in the released format and keeps the printed figures."""

    def __init__(self, num_epochs, stream=sys.stdout):
        self.num_epochs = num_epochs
        self.stream = stream
        self.epochs = []
        self._batches = []

    def batch(self, index, loss):
        text = repr(float(loss))
        self._batches.append(text)
        self.stream.write('  batch %d loss %s\n' % (index, text))
        self.stream.flush()

    def epoch(self, record):
        released = record['released']
        figures = dict(epoch=record['epoch'] + 1, lr=released_str(record['lr']),
                       batch_losses=self._batches,
                       training_loss=released_str(record['train_loss']),
                       validation_loss=released_str(released['valid_loss']),
                       validation_error=released_str(released['valid_error']),
                       test_loss=released_str(released['test_loss']),
                       test_error=released_str(released['test_error']))
        self._batches = []
        self.epochs.append(figures)
        write = self.stream.write
        write('Epoch %d of %d took %ss\n' % (figures['epoch'], self.num_epochs,
                                              released_str(record['seconds'])))
        write('  LR:                            %s\n' % figures['lr'])
        write('  training loss:                 %s\n' % figures['training_loss'])
        write('  validation loss:               %s\n' % figures['validation_loss'])
        write('  validation error rate:         %s%%\n' % figures['validation_error'])
        write('  test loss:                     %s\n' % figures['test_loss'])
        write('  test error rate:               %s%%\n' % figures['test_error'])
        self.stream.flush()


def weights_sha256(variables):
    """sha256 over the bytes of every shared variable's value, in order (with shapes)."""
    digest = hashlib.sha256()
    for variable in variables:
        value = np.ascontiguousarray(variable.get_value(borrow=True))
        digest.update(('%s%s%s' % (variable.name, value.dtype, value.shape)).encode('ascii'))
        digest.update(value.tobytes())
    return digest.hexdigest()


def _significant(text, digits=7):
    return '%.*g' % (digits, float(text))


def compare(ours, reference):
    """Lines comparing printed epochs with a reference; returns (lines, all_identical).

    Each figure is compared as printed; a figure that differs is also shown to 7
    significant digits (the precision the released trace's table is read at).
    """
    lines = []
    identical = True
    for index, want in enumerate(reference.get('epochs', [])):
        if index >= len(ours):
            break
        got = ours[index]
        same_batches = [a == b for a, b in zip(got['batch_losses'], want['batch_losses'])]
        differing = [name for name in FIGURES if got[name] != want[name]]
        first_batch = same_batches.index(False) + 1 if False in same_batches else None
        state = 'identical' if not differing and first_batch is None else 'DIFFERENT'
        identical = identical and state == 'identical'
        lines.append('epoch %d: %s (%d/%d batch losses, %d/%d figures identical%s)'
                     % (want['epoch'], state, sum(same_batches), len(want['batch_losses']),
                        len(FIGURES) - len(differing), len(FIGURES),
                        '' if first_batch is None else '; first different batch: %d'
                        % first_batch))
        for name in differing:
            lines.append('  %s: ours %s, reference %s (7 digits: %s vs %s)'
                         % (name, got[name], want[name], _significant(got[name]),
                            _significant(want[name])))
        if first_batch is not None:
            lines.append('  batch %d loss: ours %s, reference %s'
                         % (first_batch, got['batch_losses'][first_batch - 1],
                            want['batch_losses'][first_batch - 1]))
    checksum = reference.get('weights_sha256')
    if checksum and len(ours) >= len(reference.get('epochs', [])):
        same = ours[-1].get('weights_sha256') == checksum
        identical = identical and same
        lines.append('weights after epoch %d: %s (sha256 %s)'
                     % (len(reference['epochs']), 'identical' if same else 'DIFFERENT',
                        ours[-1].get('weights_sha256')))
    return lines, identical


def _train(settings, epochs, data_dir, stream):
    from .train import Trainer
    config = configure('mnist', dict(settings, stop_after=epochs))
    dataset = load_dataset(config['dataset'], data_dir)
    stream.write('building and compiling the network (%s)...\n'
                 % ', '.join('%s=%s' % item for item in sorted(settings.items())))
    stream.flush()
    started = time.time()
    trainer = Trainer(config, dataset)
    stream.write('compiled in %.0fs\n' % (time.time() - started))
    cpu.describe()   # one warning line if the loaded OpenBLAS breaks a pin (gxnor.process.cpu)
    printer = EpochPrinter(config['num_epochs'], stream)
    for _ in range(epochs):
        printer.epoch(trainer.run_epoch(batch_losses=printer.batch))
    printer.epochs[-1]['weights_sha256'] = weights_sha256(trainer.graph.state)
    return printer.epochs


def _read(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError) as error:
        sys.stderr.write('error: cannot read the reference %s (%s)\n' % (path, error))
        sys.exit(2)


def _parser():
    parser = argparse.ArgumentParser(prog='python -m gxnor replay', description=__doc__.split(
        '\n\n')[0])
    parser.add_argument('mode', choices=('replay', 'check', 'record'))
    parser.add_argument('--data-dir', help='folder holding MNIST (see datasets/README.md)')
    parser.add_argument('--stop-after', type=int, default=None,
                        help='epochs to run (replay: 3; check/record: %d)'
                        % REPRODUCTION_EPOCHS)
    parser.add_argument('--reference', help='reference file (default: the committed one)')
    parser.add_argument('--out', help='also write the figures as JSON to this file')
    return parser


def main(argv=None, stream=sys.stdout):
    args = _parser().parse_args(argv)
    if args.mode == 'replay':
        settings, reference = REPLAY_SETTINGS, args.reference or TRACE
        epochs = args.stop_after or 3
    else:
        settings, reference = {}, args.reference or REPRODUCTION
        epochs = args.stop_after or REPRODUCTION_EPOCHS
        if args.mode == 'check' and epochs != REPRODUCTION_EPOCHS:
            sys.stderr.write('error: the reference holds %d epochs; check runs exactly those '
                             '(drop --stop-after)\n' % REPRODUCTION_EPOCHS)
            return 2
    if epochs < 1:
        sys.stderr.write('error: --stop-after must be at least 1\n')
        return 2
    try:
        epochs_printed = _train(settings, epochs, args.data_dir, stream)
    except (ConfigError, DataError) as error:
        sys.stderr.write('error: %s\n' % error)
        return 2
    result = dict(settings=settings, epochs=epochs_printed)
    if args.out:
        atomic_write(args.out, lambda handle: handle.write(
            json.dumps(result, indent=1, sort_keys=True).encode('utf-8')))
    if args.mode == 'record':
        result['description'] = ('First %d epochs of the default MNIST run (seed 1234), as '
                                 'printed; `make check-reproduction` compares with them.'
                                 % epochs)
        atomic_write(reference, lambda handle: handle.write(
            json.dumps(result, indent=1, sort_keys=True).encode('utf-8')))
        stream.write('reference written: %s\n' % reference)
        return 0
    lines, identical = compare(epochs_printed, _read(reference))
    stream.write('\ncompared with %s:\n' % os.path.relpath(reference))
    for line in lines:
        stream.write(line + '\n')
    if args.mode == 'check':
        stream.write('reproduction %s\n' % ('OK: every figure and the weights are identical'
                                             if identical else 'FAILED'))
        return 0 if identical else 1
    return 0
