"""BatchNormLayer against a NumPy reference of Lasagne 0.2.dev1's semantics."""
from __future__ import absolute_import, division, print_function

import lasagne
import numpy as np
import pytest
import theano
import theano.tensor as T

from gxnor.layers import BatchNormLayer
import reference as ref


@pytest.mark.parametrize('shape', [(16, 5), (8, 3, 4, 5)])
def test_training_running_statistics_and_deterministic_pass(shape):
    rng = np.random.RandomState(7)
    x = T.TensorType('float32', (False,) * len(shape))('x')
    layer = BatchNormLayer(lasagne.layers.InputLayer((None,) + shape[1:], input_var=x),
                           epsilon=1e-4, alpha=0.1)
    channels = shape[1]
    gamma = rng.uniform(0.5, 2, channels).astype(np.float32)
    beta = rng.uniform(-1, 1, channels).astype(np.float32)
    layer.gamma.set_value(gamma)
    layer.beta.set_value(beta)
    train = theano.function([x], lasagne.layers.get_output(layer, deterministic=False))
    test = theano.function([x], lasagne.layers.get_output(layer, deterministic=True))

    running_mean = np.zeros(channels)
    running_inv_std = np.ones(channels)
    for step in range(4):
        batch = (rng.standard_normal(shape) * (step + 1) + 3).astype(np.float32)
        out = train(batch)
        expected, mean, inv_std = ref.batch_norm_train(batch.astype(np.float64), gamma, beta, 1e-4)
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
        running_mean = 0.9 * running_mean + 0.1 * mean
        running_inv_std = 0.9 * running_inv_std + 0.1 * inv_std
        np.testing.assert_allclose(layer.mean.get_value(), running_mean, rtol=1e-5)
        np.testing.assert_allclose(layer.inv_std.get_value(), running_inv_std, rtol=1e-5)

    batch = rng.standard_normal(shape).astype(np.float32)
    before = layer.mean.get_value().copy()
    np.testing.assert_allclose(
        test(batch), ref.batch_norm_test(batch, gamma, beta, running_mean, running_inv_std),
        rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(layer.mean.get_value(), before)  # test pass does not update


def test_parameter_tags_and_initial_values():
    layer = BatchNormLayer(lasagne.layers.InputLayer((None, 3, 2, 2)))
    trainable = set(p.name for p in layer.get_params(trainable=True))
    assert trainable == {'beta', 'gamma'}
    assert set(p.name for p in layer.get_params()) == {'beta', 'gamma', 'mean', 'inv_std'}
    values = dict((p.name, p.get_value().tolist()) for p in layer.get_params())
    assert values == {'beta': [0] * 3, 'gamma': [1] * 3, 'mean': [0] * 3, 'inv_std': [1] * 3}


@pytest.mark.parametrize('kwargs', [dict(epsilon=0), dict(alpha=0), dict(alpha=1.5)])
def test_impossible_options(kwargs):
    with pytest.raises(ValueError):
        BatchNormLayer(lasagne.layers.InputLayer((None, 3)), **kwargs)


def test_same_as_lasagne_0_2_where_installed():
    """In the container Lasagne 0.2.dev1 is installed: both layers must agree exactly."""
    if not hasattr(lasagne.layers, 'BatchNormLayer'):
        pytest.skip("Lasagne %s has no BatchNormLayer (the container's 0.2.dev1 has): "
                    "comparison runs there" % lasagne.__version__)
    rng = np.random.RandomState(3)
    x = T.tensor4('x')
    incoming = lasagne.layers.InputLayer((None, 3, 4, 4), input_var=x)
    ours = BatchNormLayer(incoming, epsilon=1e-4, alpha=0.1)
    theirs = lasagne.layers.BatchNormLayer(incoming, epsilon=1e-4, alpha=0.1)
    f = theano.function([x], [lasagne.layers.get_output(ours), lasagne.layers.get_output(theirs)])
    for _ in range(3):
        a, b = f(rng.standard_normal((6, 3, 4, 4)).astype(np.float32))
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.mean.get_value(), theirs.mean.get_value(), rtol=1e-6)
    np.testing.assert_allclose(ours.inv_std.get_value(), theirs.inv_std.get_value(), rtol=1e-6)
