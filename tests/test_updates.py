"""Adam as the spec writes it, and the update assembly of the released scripts."""
from __future__ import absolute_import, division, print_function

import numpy as np
import pytest
import theano
import theano.tensor as T

from gxnor.updates import adam
import reference as ref


def test_adam_three_steps_match_formula():
    rng = np.random.RandomState(5)
    start = rng.standard_normal(6).astype(np.float32)
    theta = theano.shared(start.copy())
    g = T.vector('g')
    lr = T.scalar('lr')
    step = theano.function([g, lr], [], updates=adam([g], [theta], lr))
    grads = [rng.standard_normal(6).astype(np.float32) for _ in range(3)]
    expected = ref.adam_steps(start.astype(np.float64), grads, lr=0.01)
    for grad, want in zip(grads, expected):
        step(grad, 0.01)
        np.testing.assert_allclose(theta.get_value(), want, rtol=1e-5, atol=1e-7)


def test_adam_with_zero_learning_rate_does_not_move():
    theta = theano.shared(np.float32([0.3, -0.7]))
    g = T.vector('g')
    step = theano.function([g], [], updates=adam([g], [theta], 0.0))
    step(np.float32([1, 1]))
    assert theta.get_value().tolist() == pytest.approx([0.3, -0.7])
