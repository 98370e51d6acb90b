"""Lasagne layers of GXNOR-Net: discrete Dense/Conv2D, Lasagne-0.2 batch norm, activation,
and an exact fast 2x2 max pooling.

Discrete layers keep their weights ``W`` in the weight space Z_N^w (``2^N + 1`` states in
``[-H, H]``) and tag them ``discrete`` so that ``get_all_params(net, discrete=True)``
finds the tensors the DST update owns; biases stay ordinary trainable parameters.
The forward pass uses ``W`` itself: there is no hidden full-precision copy. Convolutions
default to :func:`gxnor.kernels.conv2d` (the same convolution as ``T.nnet.conv2d``,
computed with bigger BLAS calls). Weights start
``Uniform(-init_scale H, init_scale H)`` (released: scale 1, CIFAR10 dense layers 1.5)
and reach the grid at the first update (the released epoch 0 runs with LR = 0 for that).
"""
from __future__ import absolute_import, division, print_function

import lasagne
import theano
import theano.tensor as T
from lasagne.layers import Conv2DLayer, DenseLayer, Layer
from lasagne.nonlinearities import identity

from .discretization import (PulseGradient, check_activation_space,
                             check_weight_space, discretize_activation)
from .kernels import (conv2d as fast_conv2d, fuse_bias_pool, max_pool_2x2,
                      multi_step as fast_multi_step, ternary_dot)
from .pooling import theano_max_pool_2x2
from .settings import ACT_GRAD, KERNEL, POOL_GRAD, PULSE, check_choice

__all__ = ['DiscreteDenseLayer', 'DiscreteConv2DLayer', 'BatchNormLayer',
           'DiscreteActivationLayer', 'MaxPool2x2Layer', 'discrete_weight_spaces',
           'MRG_SEED_HIGH']

# Released scripts seed every MRG stream with randint(1, MRG_SEED_HIGH) from Lasagne's RNG.
MRG_SEED_HIGH = 2147462579


def _draw_unused_stream_seed():
    """The released layers seed an MRG stream they never use, BEFORE sampling W: the
    draw moves the global RNG, so every later draw depends on it."""
    lasagne.random.get_rng().randint(1, MRG_SEED_HIGH)


def _weight_init(discrete, H, init_scale, W):
    if W is not None:
        return W
    if discrete:
        return lasagne.init.Uniform((-init_scale * H, init_scale * H))
    return lasagne.init.GlorotUniform()


class _DiscreteWeights(object):
    """Mixin: record the weight space and tag W ``discrete`` when the layer is discrete."""

    def _set_weight_space(self, discrete, H, N):
        self.discrete = bool(discrete)
        self.H = float(H)
        self.N = int(N)
        if self.discrete:
            self.params[self.W].add('discrete')


class DiscreteDenseLayer(DenseLayer, _DiscreteWeights):
    """Lasagne DenseLayer whose W lives in Z_N^w when ``discrete`` (no nonlinearity).

    ``kernels='fast'`` multiplies with :class:`gxnor.kernels.TernaryDot` (``T.dot``'s bits,
    in integers where input and weights are ternary), ``'theano'`` with ``T.dot``.
    """

    def __init__(self, incoming, num_units, discrete=True, H=1.0, N=1, init_scale=1.0,
                 W=None, nonlinearity=identity, kernels=KERNEL, **kwargs):
        check_weight_space(H, N)
        check_choice('kernels', kernels)
        _draw_unused_stream_seed()
        super(DiscreteDenseLayer, self).__init__(
            incoming, num_units, W=_weight_init(discrete, H, init_scale, W),
            nonlinearity=nonlinearity, **kwargs)
        self._set_weight_space(discrete, H, N)
        self.kernels = kernels

    def get_output_for(self, input, **kwargs):
        if self.kernels != 'fast':
            return super(DiscreteDenseLayer, self).get_output_for(input, **kwargs)
        # Lasagne 0.1's DenseLayer, line for line, with the product as one TernaryDot
        if input.ndim > 2:
            input = input.flatten(2)
        activation = ternary_dot(input, self.W)
        if self.b is not None:
            activation = activation + self.b.dimshuffle('x', 0)
        return self.nonlinearity(activation)


class DiscreteConv2DLayer(Conv2DLayer, _DiscreteWeights):
    """Lasagne Conv2DLayer whose W lives in Z_N^w when ``discrete`` (no nonlinearity).

    ``kernels='fast'`` convolves with :func:`gxnor.kernels.conv2d`, ``'theano'`` with
    ``T.nnet.conv2d`` (Theano's CorrMM on a CPU, as the released scripts).
    """

    def __init__(self, incoming, num_filters, filter_size, discrete=True, H=1.0, N=1,
                 init_scale=1.0, W=None, nonlinearity=identity, kernels=KERNEL, **kwargs):
        check_weight_space(H, N)
        check_choice('kernels', kernels)
        convolution = fast_conv2d if kernels == 'fast' else T.nnet.conv2d
        _draw_unused_stream_seed()
        super(DiscreteConv2DLayer, self).__init__(
            incoming, num_filters, filter_size, W=_weight_init(discrete, H, init_scale, W),
            nonlinearity=nonlinearity, convolution=convolution, **kwargs)
        self._set_weight_space(discrete, H, N)
        self.kernels = kernels

    def get_output_for(self, input, **kwargs):
        # Lasagne 0.1 pads a numeric `pad` with an explicit zero-filled copy of the input
        # (and crops its gradient); the fast kernels read the zeros in place instead, with
        # the same sums, so the copy and the crop (~4 % of a CIFAR10 step) are gone.
        if (self.kernels != 'fast' or not isinstance(self.pad, tuple) or self.pad == (0, 0)
                or tuple(self.stride) != (1, 1) or self.untie_biases or self.b is None):
            return super(DiscreteConv2DLayer, self).get_output_for(input, **kwargs)
        conved = fast_conv2d(input, self.W, border_mode=tuple(self.pad))
        return self.nonlinearity(conved + self.b.dimshuffle('x', 0, 'x', 'x'))


def discrete_weight_spaces(output_layer):
    """Ordered mapping ``W -> (H, N)`` for every discrete weight tensor below a layer."""
    spaces = []
    for layer in lasagne.layers.get_all_layers(output_layer):
        if getattr(layer, 'discrete', False):
            spaces.append((layer.W, (layer.H, layer.N)))
    return spaces


class BatchNormLayer(Layer):
    """Batch normalisation with the semantics of Lasagne 0.2.dev1 (absent from Lasagne 0.1).

    Normalises over every axis but axis 1 (per channel of a conv map, per unit of a dense
    layer). Training pass: batch mean ``mu`` and ``inv_std = 1 / sqrt(var + epsilon)``
    with the biased variance; output ``(x - mu) * (gamma * inv_std) + beta``. The running
    ``mean`` and ``inv_std`` (the inverse std itself is averaged, not the variance) move by
    ``r <- (1 - alpha) r + alpha r_batch`` as Theano *default updates*, so every function
    compiled from a training-mode output applies them. The deterministic pass uses the
    running statistics. ``beta`` (init 0) and ``gamma`` (init 1) are trainable, ``mean``
    (init 0) and ``inv_std`` (init 1) are not.
    """

    def __init__(self, incoming, epsilon=1e-4, alpha=0.1, **kwargs):
        super(BatchNormLayer, self).__init__(incoming, **kwargs)
        if not epsilon > 0:
            raise ValueError("batch norm epsilon must be > 0, got %r" % (epsilon,))
        if not 0 < alpha <= 1:
            raise ValueError("batch norm alpha must be in (0, 1], got %r" % (alpha,))
        self.epsilon = float(epsilon)
        self.alpha = float(alpha)
        ndim = len(self.input_shape)
        self.axes = (0,) + tuple(range(2, ndim))
        shape = (self.input_shape[1],)
        if shape[0] is None:
            raise ValueError("BatchNormLayer needs a known size of axis 1")
        constant = lasagne.init.Constant
        self.beta = self.add_param(constant(0), shape, 'beta', trainable=True, regularizable=False)
        self.gamma = self.add_param(constant(1), shape, 'gamma', trainable=True, regularizable=True)
        self.mean = self.add_param(constant(0), shape, 'mean', trainable=False, regularizable=False)
        self.inv_std = self.add_param(constant(1), shape, 'inv_std', trainable=False,
                                      regularizable=False)

    def get_output_for(self, input, deterministic=False, **kwargs):
        # The expression of Lasagne 0.2.dev1 (2016-06), term for term: the same graph
        # gives the same float32 results, gradients included.
        input_mean = input.mean(self.axes)
        input_inv_std = T.inv(T.sqrt(input.var(self.axes) + self.epsilon))
        if deterministic:
            mean, inv_std = self.mean, self.inv_std
        else:
            mean, inv_std = input_mean, input_inv_std
            # Memory-aliased copies of the running statistics carry the default updates,
            # so every function compiled from this (training) output applies them.
            running_mean = theano.clone(self.mean, share_inputs=False)
            running_inv_std = theano.clone(self.inv_std, share_inputs=False)
            running_mean.default_update = ((1 - self.alpha) * running_mean
                                           + self.alpha * input_mean)
            running_inv_std.default_update = ((1 - self.alpha) * running_inv_std
                                              + self.alpha * input_inv_std)
            # In the graph, out of the arithmetic (adds zero; optimised away).
            mean += 0 * running_mean
            inv_std += 0 * running_inv_std
        pattern = ['x' if axis in self.axes else 0 for axis in range(input.ndim)]
        beta = self.beta.dimshuffle(pattern)
        gamma = self.gamma.dimshuffle(pattern)
        mean = mean.dimshuffle(pattern)
        inv_std = inv_std.dimshuffle(pattern)
        return (input - mean) * (gamma * inv_std) + beta


class DiscreteActivationLayer(Layer):
    """The multi-step activation phi_r with its pulse derivative (see discretization.py).

    ``N=None`` keeps full-precision activations (identity), for the paper's special cases.
    ``kernels='fast'`` computes phi_r's value with :class:`gxnor.kernels.MultiStep` (one
    pass, the same bits), ``'theano'`` with Theano's elementwise ops. ``act_grad``: the
    float arithmetic of the rectangular window (``'released'`` or ``'exact'``, see
    :mod:`gxnor.discretization`).
    """

    def __init__(self, incoming, r=1.0, a=0.5, N=1, shape=PULSE, kernels=KERNEL,
                 act_grad=ACT_GRAD, **kwargs):
        super(DiscreteActivationLayer, self).__init__(incoming, **kwargs)
        if N is not None:
            check_activation_space(r, a, N, shape)
        check_choice('kernels', kernels)
        check_choice('act_grad', act_grad)
        self.r, self.a, self.N, self.shape, self.kernels = r, a, N, shape, kernels
        self.act_grad = act_grad

    def get_output_for(self, input, **kwargs):
        if self.N is None:
            return input
        if self.kernels == 'fast':
            return PulseGradient(self.r, self.a, self.N, self.shape, self.act_grad)(
                fast_multi_step(input, self.r, self.N), input)
        return discretize_activation(input, self.r, self.a, self.N, self.shape, self.act_grad)


class MaxPool2x2Layer(Layer):
    """``MaxPool2DLayer(pool_size=2)`` computed by :mod:`gxnor.kernels`.

    Same forward values, bit for bit, and with ``pool_grad='all'`` the same gradient as
    Theano's CPU ops. Ties are common here (conv outputs of ternary inputs and weights are
    integers). Odd trailing rows/columns are dropped, as with Lasagne's default
    ``ignore_border=True``.

    ``pool_grad`` is the tie rule of the gradient: ``'one'`` (default; the first maximum
    of the window in row-major order gets the window's gradient, as cuDNN on the platform
    the authors' README recommends) or ``'all'`` (every tied element, Theano 0.8.2 on a CPU).
    ``kernels='theano'`` pools with Theano's own ``Pool`` op (see :mod:`gxnor.pooling`).

    When the input is the output of a (Discrete)Conv2DLayer convolving with
    :func:`gxnor.kernels.conv2d` and adding a tied bias (no nonlinearity), convolution,
    bias and pooling run as one op (:class:`gxnor.kernels.ConvPool2x2`: the same
    arithmetic without the full-size conv output in memory); ``fuse=False`` turns that off.
    """

    # The geometry, under the attribute names of Lasagne's MaxPool2DLayer.
    pool_size = (2, 2)
    stride = (2, 2)
    pad = (0, 0)
    ignore_border = True
    mode = 'max'

    def __init__(self, incoming, pool_grad=POOL_GRAD, kernels=KERNEL, fuse=True, **kwargs):
        super(MaxPool2x2Layer, self).__init__(incoming, **kwargs)
        check_choice('pool_grad', pool_grad)
        check_choice('kernels', kernels)
        self.pool_grad = pool_grad
        self.kernels = kernels
        if len(self.input_shape) != 4:
            raise ValueError("MaxPool2x2Layer needs a 4-d input (batch, channels, rows, "
                             "cols), got shape %r" % (self.input_shape,))
        self.fuse = bool(fuse)

    def get_output_shape_for(self, input_shape):
        def halve(size):
            return None if size is None else size // 2
        return input_shape[:2] + (halve(input_shape[2]), halve(input_shape[3]))

    def get_output_for(self, input, **kwargs):
        if self.kernels == 'theano':
            return theano_max_pool_2x2(input, self.pool_grad)
        fused = fuse_bias_pool(input, self.pool_grad) if self.fuse else None
        return fused if fused is not None else max_pool_2x2(input, self.pool_grad)
