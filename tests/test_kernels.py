"""gxnor.kernels against the Theano / Lasagne ops it replaces.

Pooling is compared bit for bit (forward and gradient) on integer-valued inputs full of
ties; sums and convolutions up to the reordering of their additions (exactly where the
operands are integers or dyadic, as the nets' conv inputs and ternary weights are); the
whole MNIST net (and a small padded one) against the same net built with Theano's conv2d
(CorrMM) and Lasagne's MaxPool2DLayer.
"""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import lasagne
import numpy as np
import pytest
import theano
import theano.tensor as T
from lasagne.layers import InputLayer, MaxPool2DLayer, get_output
from theano.tensor.signal.pool import pool_2d

from gxnor import kernels as fast, models
from gxnor.graphs import squared_hinge
from gxnor.kernels import ternary
from gxnor.layers import MaxPool2x2Layer
from gxnor.models import Conv, Dense, build_network
from gxnor.studies import bench
from gxnor.pooling import theano_max_pool_2x2
from noise_bounds import assert_gradients_agree, zero_gradient_bounds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WITHOUT_CHANNEL_SUM = theano.compile.get_default_mode().excluding('gxnor_channel_sum')


def _integers(rng, shape, low=-2, high=3):
    """Small integers as float32: most 2x2 windows of such maps have tied maxima."""
    return rng.randint(low, high, shape).astype(np.float32)


def _ops(function):
    return [type(node.op).__name__ for node in function.maker.fgraph.toposort()]


def _tied_windows(x):
    n, c, h, w = x.shape
    windows = x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2)
    top = windows.max(axis=(3, 5), keepdims=True)
    return np.mean((windows == top).sum(axis=(3, 5)) > 1)


def _close(ours, theirs):
    """Equal up to float32 rounding of long sums (tolerance scaled by the largest value)."""
    scale = max(1.0, float(np.abs(theirs).max()))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * scale)


def _max_ulp(a, b):
    """Largest distance in units of the last place between two float32 arrays."""
    a = np.asarray(a, np.float32).ravel().view(np.int32).astype(np.int64)
    b = np.asarray(b, np.float32).ravel().view(np.int32).astype(np.int64)
    # map the sign-magnitude bit patterns onto a monotone integer line
    a = np.where(a < 0, -(a & 0x7fffffff), a)
    b = np.where(b < 0, -(b & 0x7fffffff), b)
    return int(np.abs(a - b).max()) if a.size else 0


# ------------------------------------------------------------------------------ pooling

@pytest.mark.parametrize('shape', [(4, 3, 8, 6), (3, 2, 7, 9), (2, 5, 1, 4)])
@pytest.mark.parametrize('openmp', [False, True])
def test_pool_is_lasagne_maxpool_bit_for_bit(shape, openmp):
    rng = np.random.RandomState(1)
    x = T.tensor4('x')
    incoming = InputLayer((None,) + shape[1:], input_var=x)
    # pins Theano's CPU tie rule ('all'), the one Lasagne's layer has here (the default
    # 'one' is compared with NumPy in test_pooling.py)
    ours_layer = MaxPool2x2Layer(incoming, pool_grad='all')
    ours = (get_output(ours_layer) if not openmp
            else fast.MaxPool2x2(openmp=True, pool_grad='all')(x))
    theirs_layer = MaxPool2DLayer(incoming, pool_size=2)
    theirs = get_output(theirs_layer)
    assert ours_layer.output_shape == theirs_layer.output_shape
    c = T.tensor4('c')
    f = theano.function([x, c], [ours, theirs, T.grad(T.sum(ours * c), x),
                                 T.grad(T.sum(theirs * c), x)])
    assert 'MaxPool2x2' in _ops(f) and 'MaxPool2x2Grad' in _ops(f)
    values = _integers(rng, shape)
    if shape[2] > 1:
        assert _tied_windows(values) > 0.2
    weights = rng.standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2))
    weights = weights.astype(np.float32)
    out, expected, grad, expected_grad = f(values, weights)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(grad, expected_grad)
    assert np.all(grad[..., shape[2] // 2 * 2:, :] == 0)       # dropped odd row / column
    assert np.all(grad[..., shape[3] // 2 * 2:] == 0)


def test_pool_layer_geometry_and_refusal():
    layer = MaxPool2x2Layer(InputLayer((None, 3, 9, None)))
    assert layer.output_shape == (None, 3, 4, None)
    assert (layer.pool_size, layer.stride, layer.ignore_border) == ((2, 2), (2, 2), True)
    with pytest.raises(ValueError) as info:
        MaxPool2x2Layer(InputLayer((None, 3, 9)))
    assert '4-d' in str(info.value)


# --------------------------------------------------------------------------- channel sums

def _activation_inputs(dtype, r, N):
    """Random values, every threshold and its float neighbours, zeros, NaN and infinities;
    3 x 100000 elements, enough for the threaded loop."""
    rng = np.random.RandomState(11)
    thresholds = np.array([r + j / 2.0 ** (N - 1) for j in range(2 ** (N - 1) + 1)], dtype)
    special = np.concatenate([thresholds, np.nextafter(thresholds, dtype(np.inf)),
                              np.nextafter(thresholds, dtype(-np.inf))])
    special = np.concatenate([special, -special,
                              np.array([0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf,
                                        1e30, -1e30, 1e-40, -1e-40], dtype)])
    values = (rng.standard_normal(300000) * 2).astype(dtype)
    values[:len(special)] = special
    return values.reshape(3, 100000)


@pytest.mark.parametrize('dtype', ['float32', 'float64'])
@pytest.mark.parametrize('r,N', [(1.0, 1), (0.5, 1), (0.0, 2), (0.3, 3), (1.0, 2)])
def test_multi_step_op_is_the_theano_expression_bit_for_bit(dtype, r, N):
    from gxnor.discretization import multi_step
    x = T.matrix(dtype=dtype)
    ours = theano.function([x], fast.multi_step(x, r, N))
    theirs = theano.function([x], multi_step(x, r, N), mode=fast.compile_mode('theano'))
    values = _activation_inputs(np.dtype(dtype).type, r, N)
    got, expected = ours(values), theirs(values)
    assert got.dtype == expected.dtype and got.shape == values.shape
    assert got.tobytes() == expected.tobytes()          # signs of zeros and NaNs included
    levels = set(np.unique(got[~np.isnan(got)]).tolist())
    assert levels <= set(np.arange(-1, 1.0001, 1.0 / 2 ** (N - 1)).tolist())
    # strided input (a transposed view) gives the same
    assert ours(values.T.copy().T).tobytes() == got.tobytes()


def test_activation_layer_uses_the_op_only_on_the_fast_kernels():
    from gxnor.layers import DiscreteActivationLayer
    x = T.tensor4()
    layer = InputLayer((None, 2, 3, 3), input_var=x)
    values = np.random.RandomState(2).standard_normal((4, 2, 3, 3)).astype('float32') * 2
    outputs, kinds = [], []
    for kernels in ('fast', 'theano'):
        out = get_output(DiscreteActivationLayer(layer, N=2, kernels=kernels))
        f = theano.function([x], [out, T.grad(T.sum(out * x), x)])
        kinds.append([type(node.op).__name__ for node in f.maker.fgraph.toposort()])
        outputs.append([a.tobytes() for a in f(values)])
    assert 'MultiStep' in kinds[0] and 'MultiStep' not in kinds[1]
    assert outputs[0] == outputs[1]                     # value and pulse gradient


@pytest.mark.parametrize('pad,xshape,wshape', [((1, 1), (5, 3, 8, 8), (4, 3, 3, 3)),
                                               ((2, 1), (3, 2, 7, 9), (3, 2, 5, 3)),
                                               ((1, 0), (4, 2, 6, 6), (2, 2, 3, 3))])
def test_padded_conv_is_the_explicitly_padded_one_bit_for_bit(pad, xshape, wshape):
    """Zeros read in place = an explicitly zero-padded copy: the same sums in the same
    order, forward and both gradients, plain and fused with bias and pooling."""
    rng = np.random.RandomState(4)
    x, w, b, g = T.tensor4(), T.tensor4(), T.vector(), T.tensor4()
    ph, pw = pad
    padded = T.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw))
    padded = T.set_subtensor(padded[:, :, ph:padded.shape[2] - ph, pw:padded.shape[3] - pw], x)
    outs = []
    for implicit in (True, False):
        conv = (fast.Corr2dValid(pad=pad)(x, w) if implicit
                else fast.Corr2dValid()(padded, w))
        fused = (fast.ConvPool2x2(pad=pad, pool_grad='one')(x, w, b)[0] if implicit
                 else fast.ConvPool2x2(pool_grad='one')(padded, w, b)[0])
        cost = T.sum(conv * g) + T.sum(fused ** 2)
        outs.append(theano.function([x, w, b, g], [conv, fused] + T.grad(cost, [x, w, b]),
                                    on_unused_input='ignore'))
    n, c, h, wd = xshape
    oh, ow = h + 2 * ph - wshape[2] + 1, wd + 2 * pw - wshape[3] + 1
    values = [np.round(rng.standard_normal(xshape) * 2).astype('float32'),
              rng.standard_normal(wshape).astype('float32'),
              rng.standard_normal(wshape[0]).astype('float32'),
              rng.standard_normal((n, wshape[0], oh, ow)).astype('float32')]
    implicit, explicit = [f(*values) for f in outs]
    assert implicit[0].shape == (n, wshape[0], oh, ow)
    for a, e in zip(implicit, explicit):
        assert a.shape == e.shape and a.tobytes() == e.tobytes()
    # and it is the convolution Theano computes with that border (up to float32 sums)
    theirs = theano.function([x, w], T.nnet.conv2d(x, w[:, :, ::-1, ::-1], border_mode=pad),
                             mode=fast.compile_mode('theano'))
    np.testing.assert_allclose(implicit[0], theirs(*values[:2]), rtol=1e-5, atol=1e-5)


def test_padded_conv_layer_skips_the_padded_copy_with_the_same_bits():
    from lasagne.layers import Conv2DLayer
    from gxnor.layers import DiscreteConv2DLayer, MaxPool2x2Layer
    x = T.tensor4()
    layer = DiscreteConv2DLayer(InputLayer((None, 3, 6, 6), input_var=x), 4, 3, pad=1)
    pooled = MaxPool2x2Layer(layer)
    ours = get_output(pooled)
    lasagne_way = MaxPool2x2Layer(layer).get_output_for(Conv2DLayer.get_output_for(layer, x))
    values = np.random.RandomState(5).standard_normal((7, 3, 6, 6)).astype('float32')
    params = [layer.W, layer.b]
    f = theano.function([x], [ours] + T.grad(T.sum(ours ** 2), [x] + params))
    g = theano.function([x], [lasagne_way] + T.grad(T.sum(lasagne_way ** 2), [x] + params))
    ops = [type(node.op).__name__ for node in f.maker.fgraph.toposort()]
    theirs = [type(node.op).__name__ for node in g.maker.fgraph.toposort()]
    # the padded copy (a set_subtensor into zeros) is gone; the filter flip's gradient stays
    assert ops.count('IncSubtensor') == 1
    if lasagne.__version__.startswith('0.1'):
        # Lasagne 0.1 pads with that copy; 0.2.dev1 (the images') hands the padding to
        # Theano's conv2d, so there the two graphs are the same
        assert theirs.count('IncSubtensor') == 2
    assert 'ConvPool2x2' in ops
    assert [a.tobytes() for a in f(values)] == [a.tobytes() for a in g(values)]


@pytest.mark.parametrize('shape', [(37, 5, 7, 3), (300, 4, 12, 12), (9, 3, 1, 1), (1000, 7),
                                   (130, 4, 9)])
def test_channel_sum_is_the_float64_sum(shape):
    """Every float32 Sum over all axes but 1 (Theano accumulates it in float64)."""
    rng = np.random.RandomState(2)
    values = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3, shape)).astype(np.float32)
    x = T.TensorType('float32', (False,) * len(shape))('x')
    axes = (0,) + tuple(range(2, len(shape)))
    ours = theano.function([x], x.sum(axis=axes))
    theirs = theano.function([x], x.sum(axis=axes), mode=WITHOUT_CHANNEL_SUM)
    assert 'ChannelSum' in _ops(ours) and 'Sum' not in _ops(ours)
    assert 'ChannelSum' not in _ops(theirs)
    exact = values.astype(np.float64).sum(axis=axes)
    deviation = _max_ulp(ours(values), theirs(values))
    print('ChannelSum vs Theano Sum{acc_dtype=float64}: max deviation %d ulp' % deviation)
    assert deviation <= 1
    assert _max_ulp(ours(values), exact.astype(np.float32)) <= 1
    explicit = theano.function([x], fast.ChannelSum(openmp=True)(x))
    np.testing.assert_array_equal(explicit(values), ours(values))


def test_batch_norm_statistics_use_channel_sum():
    x = T.tensor4('x')
    y = x - x.mean(axis=(0, 2, 3), keepdims=True)
    f = theano.function([x], [x.mean(axis=(0, 2, 3)), T.mean(T.sqr(y), axis=(0, 2, 3))])
    g = theano.function([x], [x.mean(axis=(0, 2, 3)), T.mean(T.sqr(y), axis=(0, 2, 3))],
                        mode=WITHOUT_CHANNEL_SUM)
    assert _ops(f).count('ChannelSum') == 2
    values = np.random.RandomState(3).standard_normal((50, 6, 5, 5)).astype(np.float32) + 3
    for a, b in zip(f(values), g(values)):
        assert _max_ulp(a, b) <= 1


# --------------------------------------------------------------------------- convolution

CONV_CASES = [((6, 3, 12, 11), (5, 3, 3, 4)), ((20, 1, 28, 28), (8, 1, 5, 5)),
              ((9, 4, 9, 10), (3, 4, 2, 3)), ((7, 2, 10, 13), (4, 2, 3, 3))]


@pytest.mark.parametrize('xshape,wshape', CONV_CASES)
@pytest.mark.parametrize('chunk_floats,openmp', [(1 << 20, False), (2000, False), (2000, True)])
def test_conv_matches_corrmm(xshape, wshape, chunk_floats, openmp):
    """Small chunks: several chunks per call, several lanes for the filter gradient."""
    rng = np.random.RandomState(4)
    x, w, g = T.tensor4('x'), T.tensor4('w'), T.tensor4('g')
    op = fast.Corr2dValid(openmp=openmp, chunk_floats=chunk_floats)
    ours = op(x, w[:, :, ::-1, ::-1])
    theirs = T.nnet.conv2d(x, w)
    f = theano.function([x, w, g], [ours, theirs] + T.grad(T.sum(ours * g), [x, w])
                        + T.grad(T.sum(theirs * g), [x, w]))
    assert 'CorrMM' in _ops(f) and 'Corr2dValidGradWeights' in _ops(f)
    oshape = (xshape[0], wshape[0], xshape[2] - wshape[2] + 1, xshape[3] - wshape[3] + 1)
    gvalues = rng.standard_normal(oshape).astype(np.float32)
    # integer operands: every sum is exact, the forward pass must agree bit for bit
    out = f(_integers(rng, xshape), _integers(rng, wshape, -1, 2), gvalues)
    np.testing.assert_array_equal(out[0], out[1])
    for ours_grad, theirs_grad in zip(out[2:4], out[4:6]):
        _close(ours_grad, theirs_grad)
    # real operands: the same sums in another order
    out = f(rng.standard_normal(xshape).astype(np.float32),
            rng.standard_normal(wshape).astype(np.float32), gvalues)
    for ours_value, theirs_value in zip(out[0:1] + out[2:4], out[1:2] + out[4:6]):
        _close(ours_value, theirs_value)


@pytest.mark.parametrize('xshape,wshape', CONV_CASES)
@pytest.mark.parametrize('chunk_floats,openmp', [(1 << 20, False), (3000, True)])
@pytest.mark.parametrize('rule', ['all', 'one'])
def test_fused_conv_bias_pool_matches_the_three_ops(xshape, wshape, chunk_floats, openmp, rule):
    """Against Theano's conv2d + bias + pooling: pool_2d itself for Theano's tie rule
    ('all'), gxnor.pooling's Theano graph for the first-maximum rule ('one')."""
    rng = np.random.RandomState(5)
    x, w, b, g = T.tensor4('x'), T.tensor4('w'), T.vector('b'), T.tensor4('g')
    shift = b.dimshuffle('x', 0, 'x', 'x')
    conv = fast.Corr2dValid(openmp=openmp, chunk_floats=chunk_floats)(x, w[:, :, ::-1, ::-1])
    ours = fast.fuse_bias_pool(conv + shift, pool_grad=rule)
    theirs = theano_max_pool_2x2(T.nnet.conv2d(x, w) + shift, rule)
    f = theano.function([x, w, b, g], [ours, theirs] + T.grad(T.sum(ours * g), [x, w, b])
                        + T.grad(T.sum(theirs * g), [x, w, b]))
    ops = _ops(f)
    assert 'ConvPool2x2' in ops and 'Corr2dValid' not in ops and 'MaxPool2x2' not in ops
    pooled = (xshape[0], wshape[0], (xshape[2] - wshape[2] + 1) // 2,
              (xshape[3] - wshape[3] + 1) // 2)
    values = _integers(rng, xshape)
    filters = _integers(rng, wshape, -1, 2)
    bias = (rng.randint(-8, 9, wshape[0]) / 4.0).astype(np.float32)
    out = f(values, filters, bias, rng.standard_normal(pooled).astype(np.float32))
    np.testing.assert_array_equal(out[0], out[1])
    gx, gw, gb, theirs_gx, theirs_gw, theirs_gb = out[2:]
    _close(gx, theirs_gx)
    _close(gw, theirs_gw)
    assert _max_ulp(gb, theirs_gb) <= 1
    # where the upstream gradient is integer, every sum is exact: bit for bit
    out = f(values, filters, bias, _integers(rng, pooled))
    for ours_value, theirs_value in zip(out[2:5], out[5:]):
        np.testing.assert_array_equal(ours_value, theirs_value)


def test_float64():
    rng = np.random.RandomState(9)
    x, w, b, g = T.tensor4('x', 'float64'), T.tensor4('w', 'float64'), T.vector('b', 'float64'), \
        T.tensor4('g', 'float64')
    conv = fast.conv2d(x, w) + b.dimshuffle('x', 0, 'x', 'x')
    # Theano's tie rule ('all') on both sides: pool_2d below
    ours = [fast.fuse_bias_pool(conv, pool_grad='all'), fast.max_pool_2x2(conv, 'all'),
            x.sum(axis=(0, 2, 3))]
    theirs = [pool_2d(T.nnet.conv2d(x, w) + b.dimshuffle('x', 0, 'x', 'x'), (2, 2),
                      ignore_border=True), x.sum(axis=(0, 2, 3))]
    grads = T.grad(T.sum(ours[0] * g), [x, w, b]) + T.grad(T.sum(theirs[0] * g), [x, w, b])
    f = theano.function([x, w, b, g], ours + theirs + grads)
    assert 'ConvPool2x2' in _ops(f) and 'ChannelSum' in _ops(f)
    values = _integers(rng, (5, 2, 9, 8)).astype(np.float64)
    out = f(values, _integers(rng, (3, 2, 3, 3), -1, 2).astype(np.float64),
            np.arange(3, dtype=np.float64), _integers(rng, (5, 3, 3, 3)).astype(np.float64))
    assert all(a.dtype == np.float64 for a in out)
    np.testing.assert_array_equal(out[0], out[3])
    np.testing.assert_array_equal(out[1], out[3])
    np.testing.assert_array_equal(out[2], out[4])
    for a, b in zip(out[5:8], out[8:]):
        np.testing.assert_array_equal(a, b)


def test_conv2d_passes_other_modes_to_theano():
    x, w = T.tensor4('x'), T.tensor4('w')
    rng = np.random.RandomState(6)
    values, filters = _integers(rng, (2, 3, 7, 7)), _integers(rng, (4, 3, 3, 3))
    for kwargs in (dict(border_mode='full'), dict(subsample=(2, 2))):
        f = theano.function([x, w], [fast.conv2d(x, w, **kwargs),
                                     T.nnet.conv2d(x, w, **kwargs)])
        assert 'Corr2dValid' not in _ops(f)
        ours, theirs = f(values, filters)
        np.testing.assert_array_equal(ours, theirs)


_THREADS_SCRIPT = r"""
import sys
import numpy as np
import theano, theano.tensor as T
from gxnor import kernels as fast
from gxnor.discretization import multi_step
rng = np.random.RandomState(7)
x, w, b, g = T.tensor4(), T.tensor4(), T.vector(), T.tensor4()
# large enough that OpenBLAS would split each gemm among threads (M N K > 262144)
z = fast.ConvPool2x2(pool_grad='all')(x, w, b)[0]   # Theano's tie rule, pinned
# a batch of 1200 images: the channel sum shares its blocks among threads, and the batch
# norm + activation loop over the images runs on threads (openmp_elemwise_minsize)
big, scale = T.tensor4(), T.vector()
normed = (big - big.mean(axis=(0, 2, 3)).dimshuffle('x', 0, 'x', 'x')) * scale.dimshuffle('x', 0, 'x', 'x')
f = theano.function([x, w, b, g, big, scale], [z] + T.grad(T.sum(z * g), [x, w, b])
                    + [fast.ChannelSum()(x), fast.corr2d_valid(x, w),
                       fast.ChannelSum()(big), multi_step(normed), normed])
out = f(rng.standard_normal((48, 8, 20, 20)).astype('float32'),
        rng.standard_normal((16, 8, 5, 5)).astype('float32'),
        rng.standard_normal(16).astype('float32'),
        rng.standard_normal((48, 16, 8, 8)).astype('float32'),
        rng.standard_normal((1200, 16, 6, 6)).astype('float32'),
        rng.standard_normal(16).astype('float32') * 2)
np.savez(sys.argv[1], *out)
"""


def test_results_do_not_depend_on_the_thread_count(tmpdir):
    """OpenMP on or off, any OMP_NUM_THREADS, any OPENBLAS_NUM_THREADS: the same bits
    (the kernels call BLAS with one thread; OpenBLAS's own split would change the bits),
    for the kernels and for Theano's elementwise loops on threads."""
    from gxnor.process import cpu
    script = str(tmpdir.join('threads.py'))
    with open(script, 'w') as handle:
        handle.write(_THREADS_SCRIPT)
    flags = ','.join(item for item in os.environ.get('THEANO_FLAGS', '').split(',')
                     if item and not item.startswith(('openmp=', 'gcc.cxxflags=')))
    results = []
    for omp, blas, openmp in (('1', '1', True), ('2', '2', True), ('3', '2', True),
                              ('1', '2', False)):
        # the pins would force OPENBLAS_NUM_THREADS: set their other parts by hand
        env = dict(os.environ, OMP_NUM_THREADS=omp, OPENBLAS_NUM_THREADS=blas,
                   GXNOR_CPU_PINS='0', OPENBLAS_CORETYPE=cpu.PINNED_CORETYPE,
                   THEANO_FLAGS='%s,gcc.cxxflags=%s,openmp=%s'
                   % (flags, cpu.PINNED_CXXFLAGS, openmp),
                   PYTHONPATH=os.pathsep.join([os.path.join(ROOT, 'src'),
                                               os.environ.get('PYTHONPATH', '')]))
        target = str(tmpdir.join('out%s%s%s.npz' % (omp, blas, openmp)))
        subprocess.check_call([sys.executable, script, target], env=env)
        with np.load(target) as data:
            results.append([data['arr_%d' % k] for k in range(9)])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes()


# ------------------------------------------------------------------------- whole networks

def _mnist_like(rng, n, shape):
    """Background -1 and ink in {-0.5, 0, 0.5, 1} (dyadic: all conv sums exact)."""
    values = -np.ones((n,) + shape, np.float32)
    ink = rng.rand(*values.shape) < 0.35
    values[ink] = rng.choice([-0.5, 0.0, 0.5, 1.0], ink.sum())
    return values


@pytest.mark.parametrize('rule', ['one', 'all'])
@pytest.mark.parametrize('architecture,input_shape', [
    ('mnist', (1, 28, 28)),
    ([Conv(6, 3, 1, False), Conv(8, 3, 1, True), Dense(16, 1.0), Dense(10, 1.0)], (3, 10, 10))])
def test_network_equals_the_theano_ops_version(architecture, input_shape, rule):
    rng = np.random.RandomState(8)
    x = T.tensor4('x')
    ours = build_network(architecture, x, input_shape=input_shape, pool_grad=rule)
    theirs = build_network(architecture, x, input_shape=input_shape, pool_grad=rule,
                           kernels='theano')
    for a, b in zip(lasagne.layers.get_all_params(ours), lasagne.layers.get_all_params(theirs)):
        assert a.name == b.name and a.get_value().shape == b.get_value().shape
        value = a.get_value()
        if a.ndim > 1:
            value = rng.randint(-1, 2, value.shape).astype(np.float32)   # ternary weights
        elif a.name in ('b', 'beta'):
            value = (rng.randint(-4, 5, value.shape) / 4.0).astype(np.float32)
        a.set_value(value)
        b.set_value(value)
    targets = T.matrix('t')
    functions = []
    for net, kernels in ((ours, 'fast'), (theirs, 'theano')):
        train_out = get_output(net, deterministic=False)
        params = lasagne.layers.get_all_params(net, trainable=True)
        grads = T.grad(squared_hinge(train_out, targets), params)
        functions.append(theano.function(
            [x, targets], [train_out, get_output(net, deterministic=True)] + grads,
            no_default_updates=True, mode=fast.compile_mode(kernels)))
    assert 'ConvPool2x2' in _ops(functions[0]) and 'CorrMM' not in _ops(functions[0])
    assert 'CorrMM' in _ops(functions[1]) and 'Pool' in _ops(functions[1])
    assert 'ChannelSum' not in _ops(functions[1])
    assert ('MaxPoolGrad' in _ops(functions[1])) == (rule == 'all')
    values = _mnist_like(rng, 48, input_shape)
    labels = rng.randint(0, 10, len(values))
    t = -np.ones((len(values), 10), np.float32)
    t[np.arange(len(values)), labels] = 1
    ours_out, theirs_out = [function(values, t) for function in functions]
    np.testing.assert_array_equal(ours_out[0], theirs_out[0])     # training-mode output
    np.testing.assert_array_equal(ours_out[1], theirs_out[1])     # deterministic output
    # biases whose gradient is exactly 0 by construction (a batch norm follows directly,
    # or through a pool passing each window's gradient on once): both within the rounding
    # bound of that zero sum (tests/noise_bounds.py); the rest relative
    bounds = zero_gradient_bounds(ours, squared_hinge, x, targets, values, t)
    specs = architecture if isinstance(architecture, list) else models.ARCHITECTURES[architecture]
    assert len(bounds) == len([s for s in specs if rule == 'one' or not getattr(s, 'pool', False)])
    assert_gradients_agree(lasagne.layers.get_all_params(ours, trainable=True),
                           ours_out[2:], theirs_out[2:], bounds)


def test_released_nets_use_the_fast_ops():
    x = T.tensor4('x')
    f = theano.function([x], get_output(build_network('mnist', x), deterministic=True))
    ops = _ops(f)
    assert ops.count('ConvPool2x2') == 2 and ops.count('MultiStep') == 3
    assert not [name for name in ops if name in ('CorrMM', 'Pool', 'MaxPoolGrad')]


def test_bench_prints_a_table(capsys):
    assert bench.main(['--nets', 'mnist', '--batch', '16', '--steps', '1',
                       '--kernels', 'fast,theano', '--threads', '2,1']) == 0
    out = capsys.readouterr().out
    assert 'THEANO_FLAGS=' in out and 'OMP_NUM_THREADS=' in out
    rows = [line.split() for line in out.splitlines()
            if line.startswith('mnist ') and 'passes' not in line]
    # the default integer kernel at every thread count, the float path ('off') at the
    # most; Theano's own ops have no integer path
    best = ternary.resolve('auto')
    assert [row[1:4] for row in rows] == [['fast', best, '1'], ['fast', best, '2'],
                                          ['fast', 'off', '2'], ['theano', '-', '2']]
    assert all(len(row) == len(bench.COLUMNS) for row in rows)
    # each configuration's steps: their system time and page faults, one figure per step
    per_step = [line.split(';') for line in out.splitlines()
                if line.startswith('    train steps: system s ')]
    assert len(per_step) == 4
    assert all(len(first.split()) == 5 and len(second.split()) == 4
               for first, second in per_step)
    epoch = dict(((row[1], row[3]), float(row[9])) for row in rows if row[2] != 'off')
    ratio = [line for line in out.splitlines() if "faster than Theano's own ops" in line]
    assert len(ratio) == 1
    # the printed ratio is the table's (to the rounding of the table's epoch seconds)
    printed = float(ratio[0].split('fast path ')[1].split('x')[0])
    assert abs(printed - epoch[('theano', '2')] / epoch[('fast', '2')]) < 0.05 * printed + 0.01
    assert any(line.startswith('mnist: 2 threads vs 1: train step') for line in out.splitlines())
    assert any(line.startswith('mnist: integer forward (%s) vs float: ' % best)
               for line in out.splitlines())


def test_bench_summary_and_profile_arithmetic():
    rows = [dict(net='mnist', kernels='fast', threads=1, epoch_s=40.0, train_step_s=6.0,
                 eval_pass_s=2.0, train_user_s=6.0, train_sys_s=0.3),
            dict(net='mnist', kernels='fast', threads=2, epoch_s=20.0, train_step_s=3.0,
                 eval_pass_s=1.25, train_user_s=6.0, train_sys_s=0.6),
            dict(net='mnist', kernels='theano', threads=2, epoch_s=80.0, train_step_s=12.0,
                 eval_pass_s=5.0, train_user_s=12.0, train_sys_s=4.0)]
    lines = bench.summary(rows)
    assert 'mnist: fast path 20.0 s per epoch (0.3 min)' in lines
    assert 'mnist: system time 10.0% of user in the train step (fast, 2 threads)' in lines
    assert ("mnist: fast path 4.00x faster than Theano's own ops per epoch "
            "(train step 4.00x, evaluation 4.00x)") in lines
    assert 'mnist: 2 threads vs 1: train step 2.00x, evaluation 1.60x faster' in lines
    # with the integer kernels: the first one timed is the default, compared with each other
    for row in rows:
        row['int_kernel'] = 'avx2' if row['kernels'] == 'fast' else '-'
    rows.append(dict(net='mnist', kernels='fast', int_kernel='off', threads=2, epoch_s=25.0,
                     train_step_s=3.3, eval_pass_s=2.5, train_user_s=6.6, train_sys_s=0.6))
    lines = bench.summary(rows)
    assert 'mnist: fast path 20.0 s per epoch (0.3 min)' in lines
    assert ('mnist: integer forward (avx2) vs float: 20.0 vs 25.0 s per epoch (1.25x), '
            'train step 1.10x, evaluation 2.00x faster') in lines

    class Node(object):
        def __init__(self, op):
            self.op = op

    class Stats(object):
        fct_callcount = 2
        apply_time = {Node('conv'): 3.0, Node('conv'): 1.0, Node('pool'): 2.0,
                      Node('sum'): 1.5, Node('a'): 0.5, Node('b'): 0.5, Node('c'): 0.5,
                      Node('d'): 1.0}
    top = bench.op_profile(Stats(), top=3)
    assert [name for name, _, _ in top] == ['conv', 'pool', 'sum', '(4 other ops)']
    assert [seconds for _, seconds, _ in top] == [2.0, 1.0, 0.75, 1.25]
    assert abs(sum(share for _, _, share in top) - 1) < 1e-12


# ------------------------------------------------------------------ the C files

def test_the_c_files_are_what_the_ops_compile_and_key_the_cache(tmpdir):
    """Each kernel family's C lives in its .c file, read at import into the support code
    every op compiles; editing any .c (or .py) file of the package changes the ops'
    cache version, so Theano recompiles instead of reusing a stale module."""
    import os
    import shutil
    from gxnor.kernels import support
    assert support.UNTYPED_FILES == ('support.c', 'ternary.c')
    for name in support.UNTYPED_FILES + support.TYPED_FILES:
        text = support.read_c(name)
        body = text if name in support.UNTYPED_FILES else text.replace('TYPE', 'float').replace(
            'GEMM', 'sgemm_')
        assert body.strip() and body in support.SUPPORT_C, name
    for op in (fast.MaxPool2x2(), fast.ChannelSum(), fast.MultiStep(), fast.Corr2dValid(),
               fast.TernaryDot()):
        assert op.c_code_cache_version()[1] == support.SOURCE_VERSION
        assert support.SUPPORT_C in op.c_support_code()
    copy = str(tmpdir.join('kernels'))
    shutil.copytree(support.HERE, copy, ignore=shutil.ignore_patterns('*.pyc', '__pycache__'))
    assert support.source_version(copy) == support.SOURCE_VERSION
    with open(os.path.join(copy, 'pooling.c'), 'a') as handle:
        handle.write('/* an edit */\n')
    assert support.source_version(copy) != support.SOURCE_VERSION


def test_the_input_and_filter_gradients_share_one_definition():
    """Corr2dValidGradInputs / GradWeights (and ConvPool2x2GradInputs) differ only in the
    direction of the C pass and in which input's type and shape their output has."""
    x, w, gy = T.tensor4('x'), T.tensor4('w'), T.tensor4('gy')
    gx = fast.Corr2dValidGradInputs()(x, w, gy)
    gw = fast.Corr2dValidGradWeights()(x, w, gy)
    assert gx.type == x.type and gw.type == w.type
    def function(op, name):
        method = getattr(type(op), name)
        return getattr(method, '__func__', method)   # Python 2: the unbound method's function
    for name in ('make_node', 'infer_shape'):
        assert function(gx.owner.op, name) is function(gw.owner.op, name)
    with pytest.raises(TypeError, match='takes 3 inputs'):
        fast.Corr2dValidGradInputs()(x, w)
    mask = T.TensorType('uint8', (False,) * 4)('mask')
    assert fast.ConvPool2x2GradInputs()(x, w, gy, mask).type == x.type
