"""The two tie rules of the max-pool gradient (pool_grad), in both implementations.

'one': a 2x2 window's gradient goes to its FIRST maximum in row-major order (the paper's
cuDNN platform); 'all': to every element equal to the maximum (Theano 0.8.2 on a CPU).
Implementations: the fast kernels (gxnor.kernels, alone and fused with the convolution)
and Theano's own ops (gxnor.pooling).
"""
from __future__ import absolute_import, division, print_function

import numpy as np
import pytest
import theano
import theano.tensor as T

from gxnor.kernels import conv_pool_2x2, max_pool_2x2
from gxnor.pooling import first_max_gradient, theano_max_pool_2x2

RULES = ('one', 'all')


def _fast(x, rule):
    return max_pool_2x2(x, rule)


def _fused(x, rule):
    # a 1x1 convolution with the identity matrix and bias 0 leaves every channel as it is
    w = T.eye(x.shape[1], dtype=x.dtype).dimshuffle(0, 1, 'x', 'x')
    b = T.zeros((x.shape[1],), dtype=x.dtype)
    return conv_pool_2x2(x, w, b, pool_grad=rule)


def _theano(x, rule):
    return theano_max_pool_2x2(x, rule)


IMPLEMENTATIONS = {'fast': _fast, 'fused': _fused, 'theano': _theano}


def _pool_and_grad(implementation, rule, x_value, gz_value):
    x = T.tensor4('x')
    z = IMPLEMENTATIONS[implementation](x, rule)
    gz = T.tensor4('gz')
    gx = T.grad(T.sum(z * gz), x)
    f = theano.function([x, gz], [z, gx])
    return f(x_value, gz_value)


def reference_pool(x, rule):
    """NumPy: pooled values and the gradient routing mask (1 where a window's gradient goes)."""
    n, c, h, w = x.shape
    oh, ow = h // 2, w // 2
    windows = x[:, :, :2 * oh, :2 * ow].reshape(n, c, oh, 2, ow, 2).transpose(0, 1, 2, 4, 3, 5)
    windows = windows.reshape(n, c, oh, ow, 4)
    top = windows.max(axis=-1)
    if rule == 'all':
        chosen = windows == top[..., None]
    else:
        chosen = np.arange(4) == windows.argmax(axis=-1)[..., None]
    mask = np.zeros(x.shape, bool)
    mask[:, :, :2 * oh, :2 * ow] = chosen.reshape(n, c, oh, ow, 2, 2).transpose(
        0, 1, 2, 4, 3, 5).reshape(n, c, 2 * oh, 2 * ow)
    return top, mask


# Hand-made windows: maximum 5 held by 1, 2, 3 and 4 elements (row-major positions).
WINDOWS = [
    ([[1, 5], [2, 3]], [(0, 1)]),
    ([[5, 0], [5, 1]], [(0, 0), (1, 0)]),
    ([[4, 5], [5, 5]], [(0, 1), (1, 0), (1, 1)]),
    ([[5, 5], [5, 5]], [(0, 0), (0, 1), (1, 0), (1, 1)]),
    ([[-1, -1], [-1, -1]], [(0, 0), (0, 1), (1, 0), (1, 1)]),     # MNIST background
]


@pytest.mark.parametrize('implementation', sorted(IMPLEMENTATIONS))
@pytest.mark.parametrize('window,maxima', WINDOWS)
def test_hand_made_windows(implementation, window, maxima):
    x = np.array(window, np.float32).reshape(1, 1, 2, 2)
    gz = np.float32([[[[7.0]]]])
    for rule in RULES:
        z, gx = _pool_and_grad(implementation, rule, x, gz)
        assert z.tolist() == [[[[max(max(row) for row in window)]]]]    # forward unchanged
        receivers = sorted(zip(*np.nonzero(gx[0, 0])))
        assert receivers == (maxima if rule == 'all' else maxima[:1])
        assert all(gx[0, 0][r] == 7.0 for r in receivers)


@pytest.mark.parametrize('implementation', sorted(IMPLEMENTATIONS))
def test_many_windows_against_numpy(implementation):
    """Random small integers (ties everywhere), odd borders, several planes."""
    rng = np.random.RandomState(3)
    x = rng.randint(-2, 3, (3, 4, 7, 9)).astype(np.float32)
    gz = rng.randint(1, 9, (3, 4, 3, 4)).astype(np.float32)
    results = {}
    for rule in RULES:
        z, gx = _pool_and_grad(implementation, rule, x, gz)
        top, mask = reference_pool(x, rule)
        np.testing.assert_array_equal(z, top)
        spread = np.zeros_like(x)
        spread[:, :, :6, :8] = np.repeat(np.repeat(gz, 2, axis=2), 2, axis=3)
        np.testing.assert_array_equal(gx, np.where(mask, spread, 0))
        results[rule] = gx
    # with this many ties the rules must differ, and 'one' moves exactly one element per window
    assert (results['one'] != results['all']).any()
    assert np.count_nonzero(results['one']) == gz.size


@pytest.mark.parametrize('implementation', sorted(IMPLEMENTATIONS))
@pytest.mark.parametrize('rule', RULES)
def test_numeric_gradient_away_from_ties(implementation, rule):
    rng = np.random.RandomState(11)
    # distinct values: every window has one maximum and both rules are the true gradient
    x = rng.permutation(2 * 3 * 6 * 6).reshape(2, 3, 6, 6).astype('float64') / 10.0
    theano.gradient.verify_grad(lambda v: IMPLEMENTATIONS[implementation](v, rule), [x],
                                rng=rng, eps=1e-4)


def test_first_max_gradient_graph_alone():
    x = T.tensor4('x')
    gz = T.tensor4('gz')
    f = theano.function([x, gz], first_max_gradient(x, gz))
    value = np.float32([[[[3, 3, 1], [3, 0, 1], [9, 9, 9]]]])
    got = f(value, np.float32([[[[2]]]]))
    assert got.tolist() == [[[[2, 0, 0], [0, 0, 0], [0, 0, 0]]]]


def test_unknown_rule_is_refused():
    x = T.tensor4('x')
    for build in IMPLEMENTATIONS.values():
        with pytest.raises(ValueError, match="pool_grad must be one of one, all"):
            build(x, 'first')


# ------------------------------------------------- the whole MNIST net, both rules, vs NumPy

@pytest.fixture
def float64():
    """Build and compile in float64: the comparison with NumPy is then free of float32
    rounding, so no activation lands on the other side of a break point by accident."""
    saved = theano.config.floatX
    theano.config.floatX = 'float64'
    try:
        yield
    finally:
        theano.config.floatX = saved


def _named_params(network):
    """conv1.W, conv1.b, bn1.beta, ... for the layers of build_network('mnist')."""
    import lasagne
    names = {}
    block = 0
    for layer in lasagne.layers.get_all_layers(network):
        kind = type(layer).__name__
        if 'Conv2D' in kind or 'Dense' in kind:
            block += 1
            prefix = ('conv%d' if 'Conv2D' in kind else 'dense%d') % block
        elif 'BatchNorm' in kind:
            prefix = 'bn%d' % block
        else:
            continue
        for param in layer.get_params(trainable=True):
            names['%s.%s' % (prefix, param.name)] = param
    return names


# kernels='fast' (the default); Theano's own ops are held to these nets by
# test_kernels.test_network_equals_the_theano_ops_version under both rules.
@pytest.mark.parametrize('kernels', ['fast'])
def test_mnist_net_gradients_match_numpy_under_each_rule(float64, kernels):
    import lasagne
    from gxnor.kernels import compile_mode
    from gxnor.graphs import squared_hinge
    from gxnor.models import build_network
    import reference as ref

    rng = np.random.RandomState(21)
    images = -np.ones((6, 1, 28, 28))                      # MNIST background is -1
    ink = rng.rand(6, 1, 16, 16) < 0.5
    images[:, :, 6:22, 6:22][ink] = rng.choice([-0.5, 0.0, 0.5, 1.0], ink.sum())
    targets = -np.ones((6, 10))
    targets[np.arange(6), rng.randint(0, 10, 6)] = 1
    x = T.tensor4('x')
    t = T.matrix('t')
    values = None
    gradients = {}
    for rule in RULES:
        lasagne.random.set_rng(np.random.RandomState(0))
        net = build_network('mnist', x, pool_grad=rule, kernels=kernels)
        params = _named_params(net)
        if values is None:
            values = {}
            for name, param in sorted(params.items()):
                shape = param.get_value().shape
                if name.endswith('.W'):
                    values[name] = rng.randint(-1, 2, shape).astype(np.float64)   # ternary
                elif name.endswith('.gamma'):
                    values[name] = 1 + rng.randint(-2, 3, shape) / 8.0
                else:
                    values[name] = rng.randint(-2, 3, shape) / 8.0
        for name, param in params.items():
            param.set_value(values[name])
        names = sorted(params)
        loss = squared_hinge(lasagne.layers.get_output(net, deterministic=False), t)
        f = theano.function([x, t], [loss] + T.grad(loss, [params[n] for n in names]),
                            no_default_updates=True, mode=compile_mode(kernels))
        outputs = f(images, targets)
        want_loss, want = ref.mnist_net_gradients(images, targets, values, rule)
        assert outputs[0] == pytest.approx(want_loss, rel=1e-10)
        for name, got in zip(names, outputs[1:]):
            # A bias followed by batch norm has a true gradient of 0 whenever every window
            # passes its gradient on once ('one'): then only rounding is left, bounded by
            # the scale of the terms summed -- the layer's weight gradient.
            layer = name.split('.')[0]
            scale = max(np.abs(want[name]).max(), np.abs(want.get(layer + '.W', 0)).max())
            np.testing.assert_allclose(got, want[name], rtol=1e-8, atol=1e-10 * scale,
                                       err_msg='%s under pool_grad=%s' % (name, rule))
        gradients[rule] = dict(zip(names, outputs[1:]))
    # ties are the rule here: the two rules give different filter gradients in both convs
    for name in ('conv1.W', 'conv2.W'):
        assert np.abs(gradients['one'][name] - gradients['all'][name]).max() > 1e-3
