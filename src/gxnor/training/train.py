"""The released training loop, one epoch at a time, with run folders and resume.

Random numbers: ONE RandomState seeded with the run's seed plays the released scripts'
global ``numpy.random`` (and Lasagne's RNG): it draws, in the released order, the initial
weights (gxnor.layers), the DST streams (gxnor.updates.released_streams), the shuffle of
the training set before the first epoch and after every training pass, and -- CIFAR10 and
SVHN, faithful mode -- the discarded augmentation draws of every batch.

Per epoch (see schedule.py for the learning rate and the bookkeeping):
train on ``floor(n / batch)`` full mini-batches of the training set in its current order
(the remainder is dropped, as released), reshuffle the training set, evaluate the
validation and test sets with the deterministic (running-average) batch norm and record
the epoch. Evaluation covers every example (full batches plus one remainder batch; for the
released MNIST and CIFAR10 splits the sizes divide the batch, so this is the released
``floor``). Errors are in percent; each record also carries the released script's own
figures (``released``: mean of per-batch float32 means, see :func:`released_figures`).
"""
from __future__ import absolute_import, division, print_function

import sys
import time

import lasagne
import numpy as np
import theano.tensor as T

from .checkpoint import load_checkpoint, save_checkpoint
from ..datasets import get_augmentation, hinge_targets
from ..experiments import ConfigError
from ..graphs import graph_from_config
from ..models import network_from_config
from .schedule import BestEpochs, learning_rate

__all__ = ['Trainer']


class Trainer(object):
    """Network, compiled functions and loop state of one run (graphs built once)."""

    def __init__(self, config, dataset, architecture=None):
        self.config = config
        self.dataset = dataset
        if len(dataset.train) < config['batch_size']:
            raise ConfigError("batch_size=%d is larger than the training set (%d examples): "
                              "no full mini-batch to train on"
                              % (config['batch_size'], len(dataset.train)))
        # Released: numpy.random.seed(seed) at import; everything random comes from that
        # one stream (Lasagne's RNG is numpy's global one), in the order of the module doc.
        self.rng = np.random.RandomState(config['seed'])
        lasagne.random.set_rng(self.rng)
        inputs = T.tensor4('inputs')
        self.network = network_from_config(config, inputs, architecture,
                                           input_shape=dataset.train.shape[1:])
        self.graph = graph_from_config(config, self.network, inputs)
        self.augment = get_augmentation(config['augment'], config['dataset'])
        self.order = self.shuffled(np.arange(len(dataset.train)))   # before the first epoch
        self.best = BestEpochs(config['patience'])
        self.records = []
        self.wall_seconds = 0.0

    @property
    def epoch(self):
        """The next epoch to run (= number of epochs done)."""
        return len(self.records)

    # -------------------------------------------------------------------- one epoch
    def learning_rate(self, epoch):
        c = self.config
        return learning_rate(epoch, c['lr_start'], c['lr_fin'], c['num_epochs'], c['lr_steps'])

    def shuffled(self, order):
        """``order`` permuted as the released scripts shuffle the training set: numpy's
        ``shuffle`` of the list ``range(n)`` (the same draws as ``permutation(n)``), then
        the rows copied in that order."""
        return order[self.rng.permutation(len(order))]

    def train_epoch(self, rate, progress=None, batch_losses=None):
        """Mean training loss over the full batches (float64 mean of the float32 batch
        losses, as released). ``batch_losses(index, loss)`` sees each batch's loss."""
        batch = self.config['batch_size']
        split = self.dataset.train
        count = len(split) // batch
        total = 0.0
        for index in range(count):
            x, labels = split.batch(self.order[index * batch:(index + 1) * batch])
            x = self.augment(x, self.rng)
            targets = hinge_targets(labels)
            started = time.time()
            loss = float(self.graph.train(x, targets, rate))
            self._phases['train_steps'] += time.time() - started
            total += loss
            if batch_losses:
                batch_losses(index + 1, loss)
            if progress:
                progress(index + 1, count)
        return total / count

    def evaluate(self, split):
        """Mean loss, error in percent, share of zero hidden activations over ``split``,
        and the released script's figures (see :func:`released_figures`)."""
        batch = self.config['batch_size']
        loss = 0.0
        errors = zeros = count = 0
        per_batch = []
        for start in range(0, len(split), batch):
            x, labels = split.batch(slice(start, start + batch))
            targets = hinge_targets(labels)
            started = time.time()
            batch_loss, batch_errors, batch_zeros, batch_count = self.graph.evaluate(x, targets)
            self._phases['evaluation_steps'] += time.time() - started
            loss += float(batch_loss) * len(labels)
            errors += int(batch_errors)
            zeros += int(batch_zeros)
            count += int(batch_count)
            per_batch.append((float(batch_loss), int(batch_errors), len(labels)))
        sparsity = zeros / count if count else None
        return (loss / len(split), 100.0 * errors / len(split), sparsity,
                released_figures(per_batch, batch))

    def run_epoch(self, progress=None, batch_losses=None):
        epoch = self.epoch
        started = time.time()
        self._phases = dict(train_steps=0.0, evaluation_steps=0.0)
        rate = self.learning_rate(epoch)
        update_type = self.best.update_type(epoch)
        self.graph.updates.set_update_type(update_type)
        train_loss = self.train_epoch(rate, progress, batch_losses)
        self.order = self.shuffled(self.order)
        valid_loss, valid_error, _, valid_released = self.evaluate(self.dataset.valid)
        test_loss, test_error, sparsity, test_released = self.evaluate(self.dataset.test)
        if self.best.update(epoch, valid_error, test_error):
            self.graph.updates.remember_best()
        seconds = time.time() - started
        self.wall_seconds += seconds
        released = dict(valid_loss=valid_released[0], valid_error=valid_released[1],
                        test_loss=test_released[0], test_error=test_released[1])
        record = dict(epoch=epoch, lr=rate, train_loss=train_loss, valid_loss=valid_loss,
                      valid_error=valid_error, test_loss=test_loss, test_error=test_error,
                      activation_sparsity=sparsity, update_type=update_type,
                      seconds=round(seconds, 3), released=released,
                      phases=self._phase_record(seconds))
        self.records.append(record)
        return record

    def _phase_record(self, seconds):
        """Where the epoch's seconds went: the compiled training steps, the compiled
        evaluation passes, and the rest (batches, augmentation, shuffle, bookkeeping)."""
        phases = dict((name, round(value, 3)) for name, value in self._phases.items())
        phases['data_and_bookkeeping'] = round(max(seconds - sum(self._phases.values()), 0), 3)
        return phases

    # ------------------------------------------------------------------- checkpoints
    def save(self, path):
        loop_state = dict(records=self.records, best=self.best.to_dict(),
                          wall_seconds=self.wall_seconds)
        save_checkpoint(path, self.graph.state, self.rng, loop_state,
                        extra_arrays=dict(order=self.order))

    def restore(self, path):
        loop_state, extra = load_checkpoint(path, self.graph.state, self.rng)
        self.records = loop_state['records']
        self.best = BestEpochs.from_dict(self.config['patience'], loop_state['best'])
        self.wall_seconds = loop_state['wall_seconds']
        self.order = extra['order']

    def summary(self):
        c = self.config
        planned = c['num_epochs']
        limit = c['stop_after'] or planned
        last = self.records[-1] if self.records else {}
        at_best = (self.records[self.best.best_test_epoch]
                   if self.best.best_test_epoch is not None else {})
        summary = dict(self.best.to_dict(), epochs_run=self.epoch, epochs_planned=planned,
                       activation_sparsity=last.get('activation_sparsity'),
                       activation_sparsity_at_best_test=at_best.get('activation_sparsity'),
                       stopped_after=c['stop_after'], finished=self.epoch >= limit,
                       final_test_error=last.get('test_error'),
                       wall_seconds=round(self.wall_seconds, 1),
                       seconds_per_epoch=round(self.wall_seconds / max(1, self.epoch), 2))
        return summary


def released_figures(per_batch, batch_size):
    """(loss, error %) as the released script computes them from its evaluation batches.

    It evaluates ``floor(n / batch)`` full batches; each gives a float32 loss and a
    float32 error rate (``T.mean(neq, dtype=floatX)``); the Python loop adds them up as
    float64 and returns ``sum(errors) / batches * 100`` and ``sum(losses) / batches``.
    ``per_batch`` holds ``(loss, misclassified, size)`` per evaluated batch; a remainder
    batch (not evaluated by the released loop) is left out. (nan, nan) when no batch is
    full.
    """
    full = [(loss, wrong, size) for loss, wrong, size in per_batch if size == batch_size]
    if not full:
        return float('nan'), float('nan')
    losses = errors = 0.0
    for loss, wrong, size in full:
        losses += float(np.float32(loss))
        errors += float(np.float32(wrong) / np.float32(size))
    return losses / len(full), errors / len(full) * 100


def epoch_report(record, trainer, stream=sys.stdout):
    """The per-epoch lines, in the released script's spirit."""
    best = trainer.best
    c = trainer.config
    stream.write("Epoch %d of %d took %.1fs  (LR %.6g, update_type %d)\n"
                 % (record['epoch'], c['num_epochs'], record['seconds'], record['lr'],
                    record['update_type']))
    stream.write("  training loss:         %.6f\n" % record['train_loss'])
    stream.write("  validation loss/error: %.6f / %.2f%%\n"
                 % (record['valid_loss'], record['valid_error']))
    stream.write("  test loss/error:       %.6f / %.2f%%\n"
                 % (record['test_loss'], record['test_error']))
    if record.get('activation_sparsity') is not None:
        stream.write("  zero activations:      %.1f%% (test set)\n"
                     % (100 * record['activation_sparsity']))
    phases = record.get('phases')
    if phases:
        stream.write("  time:                  train steps %.1fs, evaluation %.1fs, data and "
                     "bookkeeping %.1fs%s\n"
                     % (phases['train_steps'], phases['evaluation_steps'],
                        phases['data_and_bookkeeping'],
                        ', checkpoint %.1fs' % phases['checkpoint'] if 'checkpoint' in phases
                        else ''))
    stream.write("  best test error:       %.2f%% (epoch %d); test at best valid: %.2f%% "
                 "(epoch %d)\n" % (best.best_test_error, best.best_test_epoch,
                                   best.test_error_at_best_valid, best.best_valid_epoch))
    stream.flush()


def progress_bar(stream=sys.stderr, width=30):
    """A progress callback drawing a bar inside long epochs, only on a terminal."""
    if not hasattr(stream, 'isatty') or not stream.isatty():
        return None

    def draw(done, total):
        filled = int(width * done / total)
        stream.write("\r  [%s%s] %d/%d batches" % ('#' * filled, '.' * (width - filled),
                                                   done, total))
        if done == total:
            stream.write("\r" + " " * (width + 30) + "\r")
        stream.flush()
    return draw
