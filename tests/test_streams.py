"""The released random streams and the released arithmetic where Lasagne 0.2.dev1 and 0.1
differ (docs/method.md, "Reproducing a number").

The released MNIST script draws everything from numpy's global RandomState seeded 1234:
per layer randint then W; per discrete W at update-building time random(), random(),
randint (the seed of a new MRG stream whose live gate takes the SECOND block of
substreams); the shuffle of range(n) before epoch 0 and after every training pass.
"""
from __future__ import absolute_import, division, print_function

import lasagne
import numpy as np
import pytest
import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams

from gxnor.datasets import Dataset, Split, get_augmentation
from gxnor.datasets.splits import scale_unit_pm1
from gxnor.experiments import configure
from gxnor.layers import MRG_SEED_HIGH, discrete_weight_spaces
from gxnor.models import build_network
from gxnor.training.train import Trainer, released_figures
from gxnor.updates import adam, released_streams

MNIST_W_SHAPES = [(32, 1, 5, 5), (64, 32, 5, 5), (1024, 512), (512, 10)]


def _released_draws(seed, shapes, scales, n_train):
    """What the released script draws, in its order, with plain NumPy."""
    rng = np.random.RandomState(seed)
    weights = []
    for shape, scale in zip(shapes, scales):
        rng.randint(1, MRG_SEED_HIGH)                    # the layer's unused MRG seed
        weights.append(rng.uniform(low=-scale, high=scale, size=shape).astype(np.float32))
    stream_seeds = []
    for _ in shapes:
        rng.random_sample()                              # c of the dead random search
        rng.random_sample()                              # its target state
        stream_seeds.append(rng.randint(1, MRG_SEED_HIGH))
    order = list(range(n_train))
    rng.shuffle(order)                                   # before the first epoch
    return weights, stream_seeds, np.array(order), rng


def _mnist_shaped(n, seed=0):
    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, (n, 1, 28, 28)).astype(np.uint8)
    labels = rng.randint(0, 10, n)
    split = Split(images, labels, scale_unit_pm1, name='synthetic')
    return Dataset('synthetic', split, split, split, source={'synthetic': True})


def test_mnist_trainer_draws_in_the_released_order():
    dataset = _mnist_shaped(48)
    config = configure('mnist', dict(batch_size=16))
    trainer = Trainer(config, dataset)
    weights, seeds, order, rng = _released_draws(1234, MNIST_W_SHAPES, [1.0] * 4, 48)
    discrete = [W for W, _ in discrete_weight_spaces(trainer.network)]
    assert [W.get_value().shape for W in discrete] == MNIST_W_SHAPES
    for W, want in zip(discrete, weights):
        np.testing.assert_array_equal(W.get_value(), want)
    # one MRG stream per W, its state past the dead branch's block of substreams
    streams = trainer.graph.updates.streams
    assert len(streams) == 4
    for stream, seed in zip(streams, seeds):
        expected = MRG_RandomStreams(seed)
        expected.inc_rstate()       # the dead binomial's substreams
        expected.inc_rstate()       # the live gate's, taken when the update was built
        np.testing.assert_array_equal(stream.rstate, expected.rstate)
    np.testing.assert_array_equal(trainer.order, order)
    # after the training pass: the current order permuted by a new shuffle of range(n)
    trainer.run_epoch()
    again = list(range(48))
    rng.shuffle(again)
    np.testing.assert_array_equal(trainer.order, order[again])


def test_live_gate_uses_the_second_block_of_the_weights_stream():
    """The DST gate's uniforms are the ones a fresh stream gives on its second call."""
    rng = np.random.RandomState(5)
    (stream, _), = released_streams(1, rng)
    W = theano.shared(np.zeros((7, 3), np.float32))
    u = theano.function([], stream.uniform(size=W.shape, dtype='float32'))()
    seed = np.random.RandomState(5)
    seed.random_sample()
    seed.random_sample()
    reference = MRG_RandomStreams(seed.randint(1, MRG_SEED_HIGH))
    reference.uniform(size=W.shape, dtype='float32')              # the dead branch's call
    second = theano.function([], reference.uniform(size=W.shape, dtype='float32'))()
    np.testing.assert_array_equal(u, second)


def test_cifar10_layers_draw_in_network_order():
    shapes = [(128, 3, 3, 3), (128, 128, 3, 3), (256, 128, 3, 3), (256, 256, 3, 3),
              (512, 256, 3, 3), (512, 512, 3, 3), (8192, 1024), (1024, 10)]
    lasagne.random.set_rng(np.random.RandomState(1234))
    net = build_network('cifar10', T.tensor4('x'))
    weights, _, _, _ = _released_draws(1234, shapes, [1.0] * 6 + [1.5] * 2, 0)
    discrete = [W for W, _ in discrete_weight_spaces(net)]
    for W, want in zip(discrete, weights):
        np.testing.assert_array_equal(W.get_value(), want)


def test_faithful_cifar10_makes_the_discarded_augmentation_draws():
    batch = np.zeros((4, 3, 32, 32), np.float32)
    rng = np.random.RandomState(9)
    assert get_augmentation('faithful', 'cifar10')(batch, rng) is batch
    reference = np.random.RandomState(9)
    reference.randint(0, 8, size=2)          # one crop offset pair; randint(0, 1) draws nothing
    assert rng.randint(1 << 30) == reference.randint(1 << 30)
    untouched = np.random.RandomState(9)
    assert get_augmentation('faithful', 'mnist')(batch, untouched) is batch
    assert untouched.randint(1 << 30) == np.random.RandomState(9).randint(1 << 30)


@pytest.mark.parametrize('constants,one_minus_beta1,one_minus_beta2', [
    ('float32', np.float32(1) - np.float32(0.9), np.float32(1) - np.float32(0.999)),
    ('python', np.float32(0.1), np.float32(0.001))])
def test_adam_one_minus_beta_constants(constants, one_minus_beta1, one_minus_beta2):
    # Lasagne 0.2.dev1: 0.100000024f and 0.0009999871f; Lasagne 0.1: 0.1f and 0.001f
    assert (np.float32(1) - np.float32(0.9)) != np.float32(0.1)
    theta = theano.shared(np.float32([0.0, 0.0]))
    g = T.vector('g')
    updates = adam([g], [theta], 0.1, constants)
    moments = [variable for variable in updates if variable is not theta][:2]
    step = theano.function([g], [], updates=updates)
    step(np.float32([1.0, 2.0]))
    first, second = [m.get_value() for m in moments]
    assert first.tolist() == [one_minus_beta1, np.float32(one_minus_beta1 * np.float32(2))]
    assert second.tolist() == [one_minus_beta2, np.float32(one_minus_beta2 * np.float32(4))]


def test_adam_refuses_unknown_constants():
    with pytest.raises(ValueError, match='float32, python'):
        adam([T.vector()], [theano.shared(np.zeros(2, np.float32))], 0.1, 'lasagne')


def test_released_figures_are_means_of_float32_batch_means():
    # three batches of 10000: float32 error rates summed in float64, / 3 * 100
    per_batch = [(1.5, 8982, 10000), (0.25, 1, 10000), (2.0, 0, 10000), (9.0, 3, 7)]
    loss, error = released_figures(per_batch, 10000)
    want = (float(np.float32(0.8982)) + float(np.float32(0.0001)) + 0.0) / 3 * 100
    assert error == want and error != (8982 + 1) / 30000.0 * 100
    assert loss == (1.5 + 0.25 + 2.0) / 3                  # the remainder batch is not used
    assert '%.12g' % released_figures([(0.1, 8982, 10000)], 10000)[1] == '89.8199975491'
