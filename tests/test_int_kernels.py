"""The integer path of the fast convolutions' forward products (gxnor.kernels.ternary).

Every test compares bytes: the integer kernels (each instruction set this machine has,
forced through GXNOR_INT_KERNEL) against the float path (GXNOR_INT_KERNEL=off), which the
other kernel tests compare with Theano's own ops. GXNOR_INT_STRICT=1 makes a product that
would leave the integer path an error, so a passing strict call shows the integer kernel
computed it.
"""
from __future__ import absolute_import, division, print_function

import os

import lasagne
import numpy as np
import pytest
import theano
import theano.tensor as T

from gxnor import kernels as fast, models
from gxnor.graphs import squared_hinge
from gxnor.kernels import ternary

KERNELS = ternary.available()          # e.g. ['avx512vnni', 'avx2', 'portable']


def _functions(pool_grad='one', pad=(0, 0)):
    x, w, b = T.tensor4('x'), T.tensor4('w'), T.vector('b')
    z, mask = fast.ConvPool2x2(pool_grad=pool_grad, pad=pad)(x, w, b)
    y = fast.Corr2dValid(pad=pad)(x, w)
    pooled = theano.function([x, w, b], [z, mask])
    plain = theano.function([x, w], y)
    return pooled, plain


FUNCTIONS = {}


def _compiled(pool_grad='one', pad=(0, 0)):
    key = (pool_grad, pad)
    if key not in FUNCTIONS:
        FUNCTIONS[key] = _functions(pool_grad, pad)
    return FUNCTIONS[key]


def _run(kernel, x, w, b, pool_grad='one', pad=(0, 0), strict=False):
    pooled, plain = _compiled(pool_grad, pad)
    with ternary.int_kernel(kernel, strict=strict):
        z, mask = pooled(x, w, b)
        y = plain(x, w)
    return z, mask, y


def _assert_same_bytes(ours, theirs):
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


def _ternary(rng, shape, p_zero=1 / 3.0):
    """-1, 0, +1 as float32 with the given share of zeros (ties in every pool window)."""
    values = rng.choice([-1.0, 0.0, 1.0], size=shape, p=[(1 - p_zero) / 2, p_zero,
                                                           (1 - p_zero) / 2])
    return values.astype(np.float32)


# (input shape, filter shape, pad): the nets' layers after the first at a small batch
# (MNIST conv2, CIFAR10's widest, SVHN's), and odd sizes: channels not a multiple of 4,
# filters not a multiple of 16, odd output sizes, padding.
SHAPES = [((6, 32, 12, 12), (64, 32, 5, 5), (0, 0)),
          ((2, 512, 4, 4), (512, 512, 3, 3), (1, 1)),
          ((2, 256, 8, 8), (256, 256, 3, 3), (1, 1)),
          ((3, 5, 9, 8), (20, 5, 3, 3), (0, 0)),
          ((4, 7, 7, 11), (3, 7, 2, 4), (2, 1)),
          ((13, 4, 6, 6), (70, 4, 1, 1), (0, 0))]


@pytest.mark.parametrize('kernel', KERNELS)
@pytest.mark.parametrize('xshape, wshape, pad', SHAPES)
def test_integer_forward_is_the_float_forward_bit_for_bit(kernel, xshape, wshape, pad):
    rng = np.random.RandomState(sum(xshape) + sum(wshape))
    x, w = _ternary(rng, xshape), _ternary(rng, wshape)
    b = (rng.randint(-8, 9, wshape[0]) * 0.25).astype(np.float32)
    float_path = _run('off', x, w, b, pad=pad)
    _assert_same_bytes(_run(kernel, x, w, b, pad=pad, strict=True), float_path)


@pytest.mark.parametrize('kernel', KERNELS)
@pytest.mark.parametrize('rule', ['one', 'all'])
def test_both_pool_rules_and_the_mask(kernel, rule):
    rng = np.random.RandomState(3)
    # mostly zeros: many windows hold tied maxima, the mask tells the rules apart
    x, w = _ternary(rng, (5, 8, 10, 10), p_zero=0.8), _ternary(rng, (16, 8, 3, 3), 0.8)
    b = np.zeros(16, np.float32)
    ours = _run(kernel, x, w, b, pool_grad=rule, strict=True)
    _assert_same_bytes(ours, _run('off', x, w, b, pool_grad=rule))
    bits = ours[1]
    counts = np.unpackbits(bits[..., None], axis=-1).sum(-1)
    if rule == 'one':
        assert counts.max() == 1
    else:
        assert counts.max() > 1


@pytest.mark.parametrize('kernel', KERNELS)
@pytest.mark.parametrize('sign', [1.0, -1.0])
def test_sums_at_the_limits(kernel, sign):
    """All +1 inputs against all +1 (or -1) filters: every sum is +-K, the largest fan-in
    of each net, and the largest the 16-bit AVX2 sums take (K = 32000)."""
    for channels, size in ((32, 5), (512, 3), (1280, 5)):
        k = channels * size * size
        x = np.ones((2, channels, size + 1, size + 1), np.float32)
        w = np.full((16, channels, size, size), sign, np.float32)
        b = np.zeros(16, np.float32)
        z, mask, y = _run(kernel, x, w, b, strict=True)
        assert np.all(y == sign * k)
        _assert_same_bytes((z, mask, y), _run('off', x, w, b))


def test_the_float_path_where_an_operand_is_not_ternary():
    rng = np.random.RandomState(5)
    x, w = _ternary(rng, (4, 8, 9, 9)), _ternary(rng, (16, 8, 3, 3))
    b = np.zeros(16, np.float32)
    pixels = x.copy()
    pixels[3, 5, 4, 4] = 0.5                   # one image of the batch is not ternary
    with pytest.raises(ValueError, match='GXNOR_INT_STRICT'):
        _run(KERNELS[0], pixels, w, b, strict=True)
    _assert_same_bytes(_run(KERNELS[0], pixels, w, b), _run('off', pixels, w, b))
    scaled = w * 0.5                           # weights off the ternary grid
    _run(KERNELS[0], x, scaled, b, strict=True)   # strict asks only where filters are ternary
    _assert_same_bytes(_run(KERNELS[0], x, scaled, b), _run('off', x, scaled, b))
    # NaN and infinities are not ternary either
    for value in (np.nan, np.inf, -np.inf, 2.0, -0.0):
        odd = x.copy()
        odd[0, 0, 0, 0] = value
        _assert_same_bytes(_run(KERNELS[0], odd, w, b), _run('off', odd, w, b))


def test_beyond_the_exact_16_bit_bound_the_float_path_computes():
    x = np.ones((1, 1284, 6, 5), np.float32)     # K = 32100 > 32000
    w = np.ones((16, 1284, 5, 5), np.float32)
    b = np.zeros(16, np.float32)
    z, mask, y = _run(KERNELS[0], x, w, b, strict=True)   # no integer plan: no strict error
    assert np.all(y == 32100)
    _assert_same_bytes((z, mask, y), _run('off', x, w, b))


def test_an_unknown_or_missing_kernel_is_a_clear_error():
    x = np.zeros((1, 4, 3, 3), np.float32)
    w = np.zeros((2, 4, 3, 3), np.float32)
    with pytest.raises(ValueError, match='GXNOR_INT_KERNEL=sse9 names no integer kernel'):
        _run('sse9', x, w, np.zeros(2, np.float32))
    with pytest.raises(ValueError, match='choose one of'):
        ternary.resolve('sse9')


def test_available_and_resolve_read_the_cpu_flags(tmpdir):
    def cpuinfo(flags):
        path = tmpdir.join('cpuinfo-%d' % len(flags))
        path.write('processor\t: 0\nflags\t\t: %s\n' % ' '.join(flags))
        return str(path)

    full = cpuinfo(['sse2', 'avx2', 'avx512f', 'avx512bw', 'avx512_vnni'])
    assert ternary.available(full) == ['avx512vnni', 'avx2', 'portable']
    assert ternary.resolve('auto', full) == 'avx512vnni'
    assert ternary.resolve('off', full) == 'off'
    haswell = cpuinfo(['sse2', 'avx2', 'fma'])
    assert ternary.available(haswell) == ['avx2', 'portable']
    assert ternary.resolve('', haswell) == 'avx2'
    with pytest.raises(ValueError, match='this CPU has only avx2, portable'):
        ternary.resolve('avx512vnni', haswell)
    old = cpuinfo(['sse2'])
    assert ternary.resolve('auto', old) == 'portable'
    assert ternary.available(str(tmpdir.join('missing'))) == ['portable']


def test_int_kernel_restores_the_environment(monkeypatch):
    monkeypatch.setenv(ternary.VARIABLE, 'portable')
    monkeypatch.delenv(ternary.STRICT_VARIABLE, raising=False)
    with ternary.int_kernel('off', strict=True):
        assert os.environ[ternary.VARIABLE] == 'off'
        assert os.environ[ternary.STRICT_VARIABLE] == '1'
    assert os.environ[ternary.VARIABLE] == 'portable'
    assert ternary.STRICT_VARIABLE not in os.environ


@pytest.mark.parametrize('architecture, input_shape', [
    ('mnist', (1, 28, 28)),
    ([models.Conv(8, 3, 1, False), models.Conv(12, 3, 1, True), models.Dense(16, 1.5),
      models.Dense(10, 1.5)], (3, 8, 8))])
def test_a_net_step_is_the_same_bits_on_every_path(architecture, input_shape):
    """Training-mode and deterministic outputs and every gradient of a net with ternary
    weights: the integer path of each kernel against the float path, byte for byte."""
    rng = np.random.RandomState(11)
    x, targets = T.tensor4('x'), T.matrix('t')
    net = models.build_network(architecture, x, input_shape=input_shape)
    for param in lasagne.layers.get_all_params(net):
        value = param.get_value()
        if param.ndim > 1:
            value = rng.randint(-1, 2, value.shape).astype(np.float32)
        elif param.name in ('b', 'beta'):
            value = (rng.randint(-4, 5, value.shape) / 4.0).astype(np.float32)
        param.set_value(value)
    train_out = lasagne.layers.get_output(net, deterministic=False)
    params = lasagne.layers.get_all_params(net, trainable=True)
    grads = T.grad(squared_hinge(train_out, targets), params)
    function = theano.function([x, targets],
                               [train_out, lasagne.layers.get_output(net, deterministic=True)]
                               + grads, no_default_updates=True,
                               mode=fast.compile_mode('fast'))
    values = rng.uniform(-1, 1, (24,) + input_shape).astype(np.float32)
    t = -np.ones((24, 10), np.float32)
    t[np.arange(24), rng.randint(0, 10, 24)] = 1
    with ternary.int_kernel('off'):
        reference = function(values, t)
    for kernel in KERNELS:
        with ternary.int_kernel(kernel):
            _assert_same_bytes(function(values, t), reference)


# ------------------------------------------------------------------ dense layers

DOT_FUNCTIONS = {}


def _dots():
    if not DOT_FUNCTIONS:
        x, w = T.matrix('x'), T.matrix('w')
        DOT_FUNCTIONS['ours'] = theano.function([x, w], fast.ternary_dot(x, w))
        DOT_FUNCTIONS['theirs'] = theano.function([x, w], T.dot(x, w))
        assert 'Dot22' in [type(node.op).__name__
                           for node in DOT_FUNCTIONS['theirs'].maker.fgraph.toposort()]
    return DOT_FUNCTIONS['ours'], DOT_FUNCTIONS['theirs']


@pytest.mark.parametrize('kernel', KERNELS)
@pytest.mark.parametrize('shape', [(37, 1024, 512), (130, 512, 10), (5, 3, 7), (64, 8192, 17),
                                   (1, 1, 1)])
def test_ternary_dot_is_dot22_bit_for_bit(kernel, shape):
    n, k, m = shape
    rng = np.random.RandomState(n + k + m)
    ours, theirs = _dots()
    x, w = _ternary(rng, (n, k)), _ternary(rng, (k, m))
    with ternary.int_kernel(kernel, strict=True):       # the integer path
        _assert_same_bytes([ours(x, w)], [theirs(x, w)])
    real = rng.uniform(-1, 1, (n, k)).astype(np.float32)
    with ternary.int_kernel(kernel):                     # the float path: Dot22's call
        _assert_same_bytes([ours(real, w)], [theirs(real, w)])
        _assert_same_bytes([ours(x, w * 0.5)], [theirs(x, w * 0.5)])
    with ternary.int_kernel(kernel, strict=True):
        with pytest.raises(ValueError, match='GXNOR_INT_STRICT'):
            ours(real, w)


@pytest.mark.parametrize('kernel', KERNELS)
def test_ternary_dot_at_the_limits(kernel):
    ours, theirs = _dots()
    for k in (1024, 32000):
        x = np.ones((3, k), np.float32)
        for sign in (1, -1):
            w = np.full((k, 20), sign, np.float32)
            with ternary.int_kernel(kernel, strict=True):
                y = ours(x, w)
            assert np.all(y == sign * k)
            _assert_same_bytes([y], [theirs(x, w)])
    x, w = np.ones((2, 32004), np.float32), np.ones((32004, 3), np.float32)
    with ternary.int_kernel(kernel, strict=True):       # beyond the bound: the float path
        _assert_same_bytes([ours(x, w)], [theirs(x, w)])
    with ternary.int_kernel('sse9'):
        with pytest.raises(ValueError, match='names no integer kernel'):
            ours(x, w)


def test_ternary_dot_has_dots_gradient():
    """The gradient graph is Dot's, so the compiled gradients are the same ops."""
    x, w, gz = T.matrix('x'), T.matrix('w'), T.matrix('gz')
    cost = lambda y: (y * gz).sum()
    ours = theano.function([x, w, gz], T.grad(cost(fast.ternary_dot(x, w)), [x, w]))
    theirs = theano.function([x, w, gz], T.grad(cost(T.dot(x, w)), [x, w]))
    rng = np.random.RandomState(2)
    args = (_ternary(rng, (40, 30)), _ternary(rng, (30, 20)),
            rng.uniform(-1, 1, (40, 20)).astype(np.float32))
    _assert_same_bytes(ours(*args), theirs(*args))
    names = lambda f: sorted(type(node.op).__name__ for node in f.maker.fgraph.toposort())
    assert names(ours) == names(theirs)


# ------------------------------------------------------------------ counting zeros

@pytest.mark.parametrize('dtype', ['float32', 'float64'])
def test_count_zeros_is_the_sum_of_eq_zero(dtype):
    rng = np.random.RandomState(4)
    x = T.TensorType(dtype, (False,) * 4)('x')
    ours = theano.function([x], fast.count_zeros(x))
    theirs = theano.function([x], T.sum(T.eq(x, 0), dtype='int64'))
    for shape in [(3, 2, 5, 5), (1000, 4, 12, 12), (0, 3, 2, 2)]:
        values = _ternary(rng, shape).astype(dtype)
        if values.size:
            values.flat[::7] = -0.0
            values.flat[1::11] = np.nan
            values.flat[2::13] = 1e-45
        count = ours(values)
        assert count.dtype == np.int64 and count.shape == ()
        assert int(count) == int(theirs(values)) == int((values == 0).sum())
