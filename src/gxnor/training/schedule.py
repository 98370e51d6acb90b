"""The released training schedule: learning rate per epoch and best-epoch bookkeeping.

Learning rate: epoch 0 runs at LR = 0 (it only snaps the initial weights onto the grid and
warms up the batch-norm statistics); epoch 1 at ``lr_start``; after that the rate is
multiplied by ``decay = (lr_fin / lr_start) ** (1 / num_epochs)`` every epoch, and by each
extra factor of ``lr_steps`` from its epoch on (CIFAR10: x0.1 at 1000 and at 1600, steps
the released script gained after publication, 2018-05-25: whether the paper's run used
them is unknown; docs/method.md).
The product is accumulated epoch by epoch in float64, as the released loop does.

Bookkeeping: the released scripts report the BEST TEST error over all epochs (a choice
made on the test set); we also keep the best validation error and the test error at that
epoch. Ties go to the later epoch (``<=``, as in the BinaryNet loop the scripts come
from). ``update_type`` is RANDOM_SEARCH_ON once ``epoch >= best_epoch + patience`` with the
released counting: ``epoch`` is 0-based (epoch 0 is the LR = 0 epoch) but the released
``best_epoch`` is stored 1-based (``epoch + 1``, initially 1), so the switch first flips at
the 0-based epoch ``best + patience + 1``.
"""
from __future__ import absolute_import, division, print_function

from ..settings import RANDOM_SEARCH_OFF, RANDOM_SEARCH_ON

__all__ = ['lr_decay', 'learning_rate', 'BestEpochs']


def lr_decay(lr_start, lr_fin, num_epochs):
    return (lr_fin / lr_start) ** (1.0 / num_epochs)


def learning_rate(epoch, lr_start, lr_fin, num_epochs, lr_steps=()):
    """Learning rate of ``epoch`` (0-based) under the released schedule."""
    if epoch == 0:
        return 0.0
    decay = lr_decay(lr_start, lr_fin, num_epochs)
    rate = lr_start
    for current in range(2, epoch + 1):
        rate *= decay
    for step_epoch, factor in lr_steps:
        if epoch >= step_epoch:
            rate *= factor
    return rate


class BestEpochs(object):
    """Best test error (released metric), best validation error and test error there."""

    FIELDS = ('best_test_error', 'best_test_epoch', 'best_valid_error', 'best_valid_epoch',
              'test_error_at_best_valid')

    def __init__(self, patience):
        self.patience = patience
        self.best_test_error = float('inf')
        self.best_test_epoch = None
        self.best_valid_error = float('inf')
        self.best_valid_epoch = None
        self.test_error_at_best_valid = None

    def update(self, epoch, valid_error, test_error):
        """Record one epoch; returns True when it is a new best test epoch."""
        if valid_error <= self.best_valid_error:
            self.best_valid_error = valid_error
            self.best_valid_epoch = epoch
            self.test_error_at_best_valid = test_error
        if test_error <= self.best_test_error:
            self.best_test_error = test_error
            self.best_test_epoch = epoch
            return True
        return False

    def released_best_epoch(self):
        """The released script's ``best_epoch``: 1-based, 1 before any epoch."""
        return 1 if self.best_test_epoch is None else self.best_test_epoch + 1

    def update_type(self, epoch):
        """RANDOM_SEARCH_ON once the 0-based ``epoch`` reaches the released
        ``best_epoch + patience`` (see the module docstring for the counting)."""
        if epoch >= self.released_best_epoch() + self.patience:
            return RANDOM_SEARCH_ON
        return RANDOM_SEARCH_OFF

    def to_dict(self):
        return dict((name, getattr(self, name)) for name in self.FIELDS)

    @classmethod
    def from_dict(cls, patience, values):
        tracker = cls(patience)
        for name in cls.FIELDS:
            setattr(tracker, name, values[name])
        return tracker
