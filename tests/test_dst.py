"""Discrete state transition: grid, bounds, whole steps, transition statistics."""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
import pytest
import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams

from gxnor import dst
from gxnor.discretization import weight_step
import reference as ref


def _transition(H, N, m):
    W, dW, u = T.vectors('W', 'dW', 'u')
    return theano.function([W, dW, u], dst.discrete_state_transition(W, dW, u, H, N, m))


def _reference_transition(W, dW, u, H, N, m):
    """Step by step in float64: whole steps, remainder, gate, clip, nearest state."""
    L = weight_step(H, N)
    W, dW = W.astype(np.float64), dW.astype(np.float64)
    kappa = np.trunc(dW / L)                    # toward zero: sign(dW) floor(|dW| / L)
    nu = dW - kappa * L
    p = np.abs(nu) / L if m is None else np.tanh(m * np.abs(nu) / L)
    moved = W + (kappa + np.sign(dW) * (u < p)) * L
    return ref.nearest_state(np.clip(moved, -H, H), H, N), p


@pytest.mark.parametrize('N', [0, 1, 2, 3, 4])
@pytest.mark.parametrize('H', [1.0, 0.5])
def test_result_on_grid_inside_range_and_equal_to_reference(H, N):
    rng = np.random.RandomState(10 + N)
    L = weight_step(H, N)
    W = rng.choice(ref.grid(H, N), 50000).astype(np.float32)
    dW = (rng.standard_normal(50000) * 3 * L).astype(np.float32)
    u = rng.uniform(size=50000).astype(np.float32)
    new = _transition(H, N, 3.0)(W, dW, u)
    assert set(np.unique(new)) <= set(ref.grid(H, N).tolist())
    assert new.min() >= -H and new.max() <= H
    expected, p = _reference_transition(W, dW, u, H, N, 3.0)
    clear = np.abs(u - p) > 1e-5          # float32 tanh may flip a gate right at u == p
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(new[clear], expected[clear])


def test_whole_steps_are_deterministic():
    H, N = 1.0, 3
    L = weight_step(H, N)
    rng = np.random.RandomState(3)
    W = np.zeros(1000, np.float32)
    steps = rng.randint(-3, 4, 1000)
    f = _transition(H, N, 3.0)
    for u in (np.zeros(1000, np.float32), np.full(1000, 0.999, np.float32)):
        np.testing.assert_array_equal(f(W, (steps * L).astype(np.float32), u), steps * L)
    # 2.3 steps: two whole steps always, the third one only by chance
    moved = f(W, np.full(1000, 2.3 * L, np.float32), rng.uniform(size=1000).astype(np.float32))
    assert set(np.round(moved / L).astype(int).tolist()) == {2, 3}


def test_zero_change_leaves_grid_weights_alone():
    W = ref.grid(1.0, 2).repeat(100)
    u = np.random.RandomState(0).uniform(size=W.size).astype(np.float32)
    np.testing.assert_array_equal(_transition(1.0, 2, 3.0)(W, np.zeros_like(W), u), W)


def test_clipped_at_the_range():
    W = np.array([1.0, -1.0], np.float32)
    new = _transition(1.0, 1, 3.0)(W, np.array([5.0, -5.0], np.float32), np.zeros(2, np.float32))
    assert new.tolist() == [1.0, -1.0]


@pytest.mark.parametrize('m', [3.0, 1.0, None])
@pytest.mark.parametrize('ratio', [0.05, 0.2, 0.5, 0.9])
@pytest.mark.parametrize('sign', [1, -1])
def test_transition_frequency_matches_probability(m, ratio, sign):
    """Over 200k MRG draws, P(one more step) = tanh(m |v| / L) within 4 standard errors."""
    H, N, draws = 1.0, 1, 200000
    L = weight_step(H, N)
    W = T.vector('W')
    srng = MRG_RandomStreams(1234 + int(100 * ratio))
    f = theano.function([W], dst.dst_update(W, T.fill(W, sign * ratio * L), srng, H, N, m))
    moved = f(np.zeros(draws, np.float32))
    assert set(np.unique(moved)) <= {0.0, sign * L}
    p = ratio if m is None else math.tanh(m * ratio)
    frequency = np.mean(moved != 0)
    assert abs(frequency - p) < 4 * math.sqrt(p * (1 - p) / draws)


@pytest.mark.parametrize('m', [0, -1, float('inf'), 'tanh', True])
def test_impossible_nonlinearity(m):
    with pytest.raises(ValueError) as info:
        dst.discrete_state_transition(T.vector(), T.vector(), T.vector(), 1.0, 1, m)
    assert 'nonlinearity m' in str(info.value)
