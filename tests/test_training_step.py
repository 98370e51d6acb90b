"""One compiled training function on a small problem: grid, LR = 0 snap, learning, Adam split."""
from __future__ import absolute_import, division, print_function

import lasagne
import numpy as np
import pytest
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams

from gxnor.graphs import TrainingGraph
from gxnor.models import Conv, Dense, build_network
from gxnor.settings import RANDOM_SEARCH_OFF, RANDOM_SEARCH_ON
import reference as ref

TINY = [Conv(4, 3, 'valid', True), Dense(16, 1.0), Dense(10, 1.0)]


def _problem(n=300, seed=0):
    """Labels from a fixed random projection of the images: learnable by a small net."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1, 1, (n, 1, 8, 8)).astype(np.float32)
    labels = np.argmax(x.reshape(n, -1).dot(rng.standard_normal((64, 10))), axis=1)
    targets = -np.ones((n, 10), np.float32)
    targets[np.arange(n), labels] = 1
    return x, targets


def _graph(seed=1, N=1, **kwargs):
    np.random.seed(seed)
    x = T.tensor4('x')
    net = build_network(TINY, x, input_shape=(1, 8, 8), H=1.0, N=N)
    return TrainingGraph(net, x, srng=MRG_RandomStreams(seed), **kwargs), net


def _discrete(net):
    return lasagne.layers.get_all_params(net, discrete=True)


@pytest.mark.parametrize('N', [1, 2])
def test_weights_stay_on_grid_and_loss_goes_down(N):
    graph, net = _graph(N=N)
    x, t = _problem()
    assert len(_discrete(net)) == 3
    graph.train(x, t, 0.0)
    first = float(graph.evaluate(x, t)[0])
    for update in range(40):
        graph.train(x, t, 0.01)
        for W in _discrete(net):
            assert set(np.unique(W.get_value())) <= set(ref.grid(1.0, N).tolist())
    last = float(graph.evaluate(x, t)[0])
    assert last < 0.7 * first


def test_zero_learning_rate_snaps_initial_weights_onto_the_grid():
    graph, net = _graph()
    before = [W.get_value() for W in _discrete(net)]
    assert all(np.abs(W).max() <= 1 and len(np.unique(W)) > 3 for W in before)  # Uniform(-H, H)
    bn_mean = lasagne.layers.get_all_params(net)[4]
    assert bn_mean.name == 'mean'
    graph.train(*_problem() + (0.0,))
    for W, old in zip(_discrete(net), before):
        np.testing.assert_array_equal(W.get_value(), ref.nearest_state(old, 1.0, 1))
    assert np.any(bn_mean.get_value() != 0)  # the batch-norm statistics warm up


def test_two_adam_counters_and_biases_follow_plain_adam():
    graph, net = _graph()
    counters = [v for v in graph.updates.updates if v.ndim == 0]
    assert len(counters) == 2
    x, t = _problem()
    for _ in range(3):
        graph.train(x, t, 0.01)
    assert [float(c.get_value()) for c in counters] == [3.0, 3.0]
    others = set(graph.updates.other_params)
    assert all('discrete' not in net.params.get(p, ()) for p in others)
    assert set(p.name for p in others) == {'b', 'beta', 'gamma'}


def test_live_random_search_restarts_from_the_best_weights():
    graph, net = _graph(random_search='live', c_prob=1.0)
    x, t = _problem()
    graph.train(x, t, 0.0)
    graph.updates.remember_best()
    best = [W.get_value() for W in _discrete(net)]
    graph.train(x, t, 0.5)
    assert any(np.any(W.get_value() != b) for W, b in zip(_discrete(net), best))
    graph.updates.set_update_type(RANDOM_SEARCH_ON)
    graph.train(x, t, 0.5)   # keep probability 1: every weight returns to its best state
    for W, b in zip(_discrete(net), best):
        np.testing.assert_array_equal(W.get_value(), b)
    graph.updates.set_update_type(RANDOM_SEARCH_OFF)
    graph.train(x, t, 0.5)
    assert any(np.any(W.get_value() != b) for W, b in zip(_discrete(net), best))


def test_released_random_search_is_dead_code():
    graph, _ = _graph()
    assert graph.updates.update_type not in graph.state
    with pytest.raises(ValueError) as info:
        _graph(random_search='sometimes')
    assert 'random_search' in str(info.value)
