"""The replay's graph against the released expressions written out literally, bit for bit.

`make replay-released` builds the MNIST net from gxnor's layers with Theano's own ops and
Theano's max-pool ties (``kernels=theano``, ``pool_grad=all``). tests/released_literal.py
builds the released script's training step from the spec's words with Lasagne 0.1's own
layers. Both draw from RandomState(1234) in the released order. Every shared variable
after every update must be the same bits: weights, biases, batch norm, Adam's moments
and counters, the gate streams.

The activation's window is where the two could part: the released derivative passes the
gradient at x = -0.49999994 (-0.5 + 2^-24) through float32 rounding that ``|x| - 1``
does not have. One test puts a batch-norm output exactly there and checks that the
replay follows the released arithmetic while ``act_grad=exact`` leaves it.
"""
from __future__ import absolute_import, division, print_function

from collections import OrderedDict

import lasagne
import numpy as np
import pytest

from gxnor.datasets import Dataset, Split
from gxnor.datasets.splits import scale_unit_pm1
from gxnor.experiments import configure
from gxnor.layers import BatchNormLayer, DiscreteConv2DLayer, DiscreteDenseLayer
from gxnor.training.replay import REPLAY_SETTINGS
from gxnor.training.train import Trainer

from released_literal import ReleasedMnist

BATCH = 100
RATES = [0.0, 0.1, 0.0996552080135, 0.0993116]
JUST_INSIDE = np.float32(-0.5) + np.float32(2 ** -24)   # -0.49999994


def _images(n, seed):
    """MNIST-like uint8 images: a background of zeros (-1 after scaling, ties in every
    pool window there) and blocky strokes of random grey."""
    rng = np.random.RandomState(seed)
    strokes = np.kron(rng.uniform(size=(n, 1, 7, 7)) > 0.75, np.ones((1, 1, 4, 4)))
    return (strokes * rng.randint(1, 256, (n, 1, 28, 28))).astype(np.uint8)


def _batches(count):
    rng = np.random.RandomState(7)
    batches = []
    for index in range(count):
        x = scale_unit_pm1(_images(BATCH, index))
        targets = -np.ones((BATCH, 10), np.float32)
        targets[np.arange(BATCH), rng.randint(0, 10, BATCH)] = 1
        batches.append((x, targets))
    return batches


def _trainer(act_grad):
    images = _images(BATCH, 99)
    split = Split(images, np.zeros(BATCH, np.int64), scale_unit_pm1, name='synthetic')
    dataset = Dataset('synthetic', split, split, split, source={'synthetic': True})
    config = configure('mnist', dict(REPLAY_SETTINGS, batch_size=BATCH, act_grad=act_grad))
    return Trainer(config, dataset)


def _our_params(trainer):
    """(layer index, name) -> shared variable, in the order of ReleasedMnist.params()."""
    named = OrderedDict()
    layers = lasagne.layers.get_all_layers(trainer.network)
    weights = [l for l in layers if isinstance(l, (DiscreteConv2DLayer, DiscreteDenseLayer))]
    norms = [l for l in layers if isinstance(l, BatchNormLayer)]
    for index, (weight, norm) in enumerate(zip(weights, norms)):
        for param in (weight.W, weight.b, norm.beta, norm.gamma, norm.mean, norm.inv_std):
            named[(index, param.name)] = param
    return named


def _adam_state(updates, params):
    """Adam's moments and step counters, in the order the updates were built."""
    return [v for v in updates if v not in params and v.dtype == 'float32']


def _state(net_params, adam_state, streams):
    values = [(('param',) + key, p.get_value()) for key, p in net_params.items()]
    values += [(('adam', i), m.get_value()) for i, m in enumerate(adam_state)]
    values += [(('stream', i), s.get_value()) for i, s in enumerate(streams)]
    return values


class Pair(object):
    """The literal released net and one gxnor replay trainer, with their states."""

    def __init__(self, literal, trainer):
        self.literal, self.trainer = literal, trainer
        lit_params = literal.params()
        lit_streams = [u[0] for s in literal.streams for u in s.state_updates]
        # The literal streams also carry the dead branch's draw: its live gate is the
        # second state of each W's stream.
        self.lit = (lit_params, _adam_state(literal.updates, list(lit_params.values())
                                            + lit_streams), lit_streams[1::2])
        ours = _our_params(trainer)
        our_streams = [u[0] for s in trainer.graph.updates.streams for u in s.state_updates]
        self.ours = (ours, _adam_state(trainer.graph.updates.updates,
                                       list(ours.values()) + our_streams), our_streams)
        # everything either training function changes, the dead draws' streams included
        variables = (list(literal.updates) + list(lit_params.values()) + lit_streams
                     + trainer.graph.state)
        self.initial = [(v, v.get_value()) for v in variables]

    def reset(self):
        for variable, value in self.initial:
            variable.set_value(value.copy())

    def differences(self):
        theirs = _state(*self.lit)
        ours = _state(*self.ours)
        assert [key for key, _ in theirs] == [key for key, _ in ours]
        return [key for (key, a), (_, b) in zip(theirs, ours)
                if a.shape != b.shape or a.dtype != b.dtype or a.tobytes() != b.tobytes()]


@pytest.fixture(scope='module')
def nets():
    literal = ReleasedMnist(1234)
    return dict((act_grad, Pair(literal, _trainer(act_grad)))
                for act_grad in ('released', 'exact'))


def test_same_state_before_training(nets):
    pair = nets['released']
    pair.reset()
    assert pair.differences() == []
    # and the comparison sees a one-bit change
    W = pair.ours[0][(0, 'W')]
    value = W.get_value()
    value.view(np.int32)[0, 0, 0, 0] ^= 1
    W.set_value(value)
    assert pair.differences() == [('param', 0, 'W')]


def test_four_updates_bit_for_bit(nets):
    pair = nets['released']
    pair.reset()
    for (x, targets), rate in zip(_batches(len(RATES)), RATES):
        theirs = pair.literal.train(x, targets, np.float32(rate))
        ours = pair.trainer.graph.train(x, targets, np.float32(rate))
        assert np.asarray(ours).tobytes() == np.asarray(theirs).tobytes()
        assert pair.differences() == []
    # the updates did move the state: weights on the grid, Adam counters at 4
    W = pair.ours[0][(1, 'W')].get_value()
    assert set(np.unique(W)) <= {-1.0, 0.0, 1.0} and len(np.unique(W)) == 3


def _window_edge_candidates(pair, x, targets, count):
    """bn1 outputs whose activation gets a non-zero gradient, nearest -0.49999994 first."""
    output, gradient = pair.literal.bn1(x, targets)
    distance = np.where(gradient != 0, np.abs(output - JUST_INSIDE), np.inf).ravel()
    return [np.unravel_index(i, output.shape) for i in np.argsort(distance)[:count]]


def _put_on_window_edge(pair, x, targets, index):
    """Shift bn1's beta of the output's channel until the output is exactly -0.49999994
    (it is a multiple of 2^-25 near -0.5; so is the shift: each step moves it by one
    float32 step). Returns whether it got there."""
    betas = [pair.lit[0][(0, 'beta')], pair.ours[0][(0, 'beta')]]
    beta = betas[0].get_value()
    channel = index[1]
    beta[channel] = np.float32(JUST_INSIDE - pair.literal.bn1(x, targets)[0][index])
    for _ in range(50):
        for shared in betas:
            shared.set_value(beta)
        value = pair.literal.bn1(x, targets)[0][index]
        if value == JUST_INSIDE:
            return True
        beta[channel] += np.float32(2 ** -25) * np.sign(JUST_INSIDE - value)
    return False


@pytest.mark.parametrize('act_grad', ['released', 'exact'])
def test_window_edge_follows_the_released_rounding(nets, act_grad):
    """Six bn1 outputs, one at a time, put exactly on -0.49999994; one update each.

    The training function computes bn1's output in its own fused loop (where the compiler
    may contract a multiply-add), so not every output put there in ``literal.bn1`` is
    there in training too; the test needs one that is: 'exact' must part from the
    released state on at least one, and only in the first layer."""
    pair = nets[act_grad]
    pair.reset()
    x, targets = _batches(2)[1]
    outcomes = []
    for index in _window_edge_candidates(pair, x, targets, 6):
        pair.reset()
        assert _put_on_window_edge(pair, x, targets, index)
        pair.literal.train(x, targets, np.float32(0.1))
        pair.trainer.graph.train(x, targets, np.float32(0.1))
        outcomes.append(pair.differences())
    if act_grad == 'released':
        assert outcomes == [[]] * len(outcomes)
    else:
        parted = [different for different in outcomes if different]
        assert parted, 'no output reached the window edge in the training function'
        for different in parted:
            # conv1's bias, bn1's beta and the moments of the first layer's parameters
            assert ('param', 0, 'b') in different
            assert all(key[0] == 'adam' or key[1] == 0 for key in different), different
