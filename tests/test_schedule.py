"""Learning-rate schedule and best-epoch bookkeeping on scripted sequences."""
from __future__ import absolute_import, division, print_function

import pytest

from gxnor.training.schedule import BestEpochs, learning_rate, lr_decay
from gxnor.settings import RANDOM_SEARCH_OFF, RANDOM_SEARCH_ON


def test_epoch_zero_runs_at_zero_then_exponential_decay():
    rates = [learning_rate(e, 0.1, 1e-7, 4000) for e in range(4)]
    decay = (1e-7 / 0.1) ** (1 / 4000.)
    assert rates[0] == 0.0 and rates[1] == 0.1
    assert rates[2] == pytest.approx(0.1 * decay, rel=1e-12)
    assert rates[3] == pytest.approx(0.1 * decay ** 2, rel=1e-12)
    # the last epoch of the full schedule ends one decay step above lr_fin
    assert learning_rate(3999, 0.1, 1e-7, 4000) == pytest.approx(1e-7 / decay ** 2, rel=1e-9)


def test_stop_after_does_not_change_the_schedule_but_epochs_does():
    assert lr_decay(0.1, 1e-7, 4000) != lr_decay(0.1, 1e-7, 30)
    assert learning_rate(30, 0.1, 1e-7, 30) == pytest.approx(0.1 * 1e-6 ** (29 / 30.), rel=1e-9)


def test_cifar10_steps_multiply_from_their_epoch_on():
    steps = ((1000, 0.1), (1600, 0.1))
    plain = [learning_rate(e, 0.01, 3e-5, 2000) for e in (999, 1000, 1599, 1600, 1999)]
    stepped = [learning_rate(e, 0.01, 3e-5, 2000, steps) for e in (999, 1000, 1599, 1600, 1999)]
    factors = [s / p for s, p in zip(stepped, plain)]
    assert factors == pytest.approx([1, 0.1, 0.1, 0.01, 0.01], rel=1e-12)


def test_bookkeeping_on_a_scripted_sequence():
    best = BestEpochs(patience=2)
    script = [(5.0, 6.0), (4.0, 5.5), (4.5, 5.0), (4.0, 5.2), (4.2, 5.0), (3.9, 5.1), (4.1, 5.3)]
    new_best = [best.update(epoch, valid, test) for epoch, (valid, test) in enumerate(script)]
    assert new_best == [True, True, True, False, True, False, False]
    assert (best.best_test_error, best.best_test_epoch) == (5.0, 4)        # tie -> later epoch
    assert (best.best_valid_error, best.best_valid_epoch) == (3.9, 5)
    assert best.test_error_at_best_valid == 5.1
    # released counting: best_epoch = 4 + 1 (1-based), flips at 0-based 5 + patience 2
    assert best.released_best_epoch() == 5
    assert best.update_type(6) == RANDOM_SEARCH_OFF
    assert best.update_type(7) == RANDOM_SEARCH_ON
    restored = BestEpochs.from_dict(2, best.to_dict())
    assert restored.to_dict() == best.to_dict()


def test_no_random_search_before_any_epoch():
    # before any epoch the released best_epoch is 1: epoch 0 stays off even at patience 0
    fresh = BestEpochs(patience=0)
    assert fresh.released_best_epoch() == 1
    assert fresh.update_type(0) == RANDOM_SEARCH_OFF
    assert fresh.update_type(1) == RANDOM_SEARCH_ON
