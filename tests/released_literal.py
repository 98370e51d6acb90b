"""The released MNIST training step, written out from the spec's words, for the tests.

Nothing here comes from gxnor's layers, updates or graphs: Lasagne 0.1's own Conv2D,
MaxPool2D and Dense layers, and every other expression as the project's spec
(released-code.md) states it -- the activation as the autodiff of
``round(hs(2(x-1)) + hs(2(x+1)) - 1)`` with a straight-through round, batch norm
``(x - mu) * (gamma * inv_std) + beta`` with its running averages, the squared hinge,
two Adam instances with ``one = T.constant(1)``, and the DST of every discrete W with
its gate drawn by the second ``binomial``-style call on the W's own MRG stream. The
random draws come from one RandomState in the released order. The tests compare gxnor's
replay graph (``kernels=theano``, ``pool_grad=all``) with it, bit for bit.
"""
from __future__ import absolute_import, division, print_function

from collections import OrderedDict

import lasagne
import numpy as np
import theano
import theano.tensor as T
from lasagne.layers import (Conv2DLayer, DenseLayer, InputLayer, Layer, MaxPool2DLayer,
                            NonlinearityLayer)
from lasagne.nonlinearities import identity
from theano.sandbox.rng_mrg import MRG_RandomStreams

from gxnor.discretization import released_ternary_activation

SEED_HIGH = 2147462579      # the released randint(1, 2147462579)
EPSILON, ALPHA = 1e-4, 0.1  # batch norm
H, N, TH = 1.0, 1, 3.0      # weight space and the DST's tanh factor


class SpecBatchNorm(Layer):
    """Batch norm as the spec words it."""

    def __init__(self, incoming):
        super(SpecBatchNorm, self).__init__(incoming)
        channels = self.input_shape[1]
        ones = lasagne.init.Constant(1)
        zeros = lasagne.init.Constant(0)
        self.beta = self.add_param(zeros, (channels,), 'beta', trainable=True)
        self.gamma = self.add_param(ones, (channels,), 'gamma', trainable=True)
        self.mean = self.add_param(zeros, (channels,), 'mean', trainable=False)
        self.inv_std = self.add_param(ones, (channels,), 'inv_std', trainable=False)

    def get_output_for(self, x, **kwargs):
        axes = (0,) + tuple(range(2, x.ndim))
        mu = x.mean(axes)
        inv_std = T.inv(T.sqrt(x.var(axes) + EPSILON))
        mu, inv_std = (mu + _running_average(self.mean, mu),
                       inv_std + _running_average(self.inv_std, inv_std))
        pattern = ['x' if axis in axes else 0 for axis in range(x.ndim)]
        return ((x - mu.dimshuffle(pattern))
                * (self.gamma.dimshuffle(pattern) * inv_std.dimshuffle(pattern))
                + self.beta.dimshuffle(pattern))


def _running_average(stored, batch):
    """``0 * copy``: the running average moves as the Theano default update of an aliased
    copy of ``stored``, which enters the graph this way (the spec: "as Theano default
    updates"; the added zero changes the last bits of the input's gradient)."""
    copy = theano.clone(stored, share_inputs=False)
    copy.default_update = (1 - ALPHA) * copy + ALPHA * batch
    return 0 * copy


def _adam(grads, params, lr):
    """Lasagne 0.2.dev1's Adam (float32 ``one - beta``), one step counter."""
    one = T.constant(1)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    updates = OrderedDict()
    t_prev = theano.shared(np.float32(0))
    t = t_prev + 1
    a_t = lr * T.sqrt(one - beta2 ** t) / (one - beta1 ** t)
    for param, g in zip(params, grads):
        shape = param.get_value().shape
        m_prev = theano.shared(np.zeros(shape, np.float32), broadcastable=param.broadcastable)
        v_prev = theano.shared(np.zeros(shape, np.float32), broadcastable=param.broadcastable)
        m = beta1 * m_prev + (one - beta1) * g
        v = beta2 * v_prev + (one - beta2) * g ** 2
        updates[m_prev] = m
        updates[v_prev] = v
        updates[param] = param - a_t * m / (T.sqrt(v) + eps)
    updates[t_prev] = t
    return updates


def _dst(W, dW, srng):
    """The DST of one discrete W (spec, "DST weight update"), gate from ``srng``."""
    L = 2 * H / 2 ** N
    s = T.sgn(dW)
    k = s * T.floor(abs(dW) / L)
    v = dW - k * L
    p = T.tanh(TH * abs(v) / L)
    srng.uniform(size=W.shape)                 # the dead random-search branch's draw
    gate = T.cast(srng.uniform(size=W.shape) < p, theano.config.floatX)
    moved = T.clip(W + (k + s * gate) * L, -H, H)
    return T.round((moved - (-H)) / (2 * H) * 2 ** N) / 2 ** N * (2 * H) - H


class ReleasedMnist(object):
    """The released MNIST net and its compiled ``train(x, t, lr) -> loss``."""

    def __init__(self, seed=1234, activation=released_ternary_activation):
        self.rng = np.random.RandomState(seed)
        lasagne.random.set_rng(self.rng)
        x = T.tensor4('x')
        targets = T.matrix('targets')
        lr = T.scalar('lr')
        layer = InputLayer((None, 1, 28, 28), x)
        self.norms = []
        self.discrete = []
        for index, spec in enumerate([('conv', 32), ('conv', 64), ('dense', 512),
                                      ('dense', 10)]):
            self.rng.randint(1, SEED_HIGH)     # the layer's own MRG seed, never used
            W = lasagne.init.Uniform((-H, H))
            if spec[0] == 'conv':
                layer = Conv2DLayer(layer, spec[1], (5, 5), W=W, nonlinearity=identity)
                self.discrete.append(layer.W)
                layer = MaxPool2DLayer(layer, pool_size=(2, 2))
            else:
                layer = DenseLayer(layer, spec[1], W=W, nonlinearity=identity)
                self.discrete.append(layer.W)
            layer = SpecBatchNorm(layer)
            self.norms.append(layer)
            if index < 3:
                layer = NonlinearityLayer(layer, activation)
        self.output_layer = layer
        y = lasagne.layers.get_output(layer)
        loss = T.mean(T.sqr(T.maximum(0., 1. - targets * y)))
        others = [p for p in lasagne.layers.get_all_params(layer, trainable=True)
                  if p not in self.discrete]
        proposal = _adam(T.grad(loss, self.discrete), self.discrete, lr)
        self.streams = []
        for W in self.discrete:
            self.rng.random_sample()           # the dead branch's keep flag c
            self.rng.random_sample()           # and its target state
            srng = MRG_RandomStreams(self.rng.randint(1, SEED_HIGH))
            self.streams.append(srng)
            proposal[W] = _dst(W, proposal[W] - W, srng)
        updates = OrderedDict(proposal)
        updates.update(_adam(T.grad(loss, others), others, lr))
        for srng in self.streams:
            updates.update((entry[0], entry[1]) for entry in srng.state_updates)
        self.train = theano.function([x, targets, lr], loss, updates=updates)
        # bn1's output and the loss's gradient w.r.t. the activation after it (no updates)
        act1 = lasagne.layers.get_all_layers(layer)[4]
        bn1_out, act1_out, y = lasagne.layers.get_output([self.norms[0], act1, layer])
        self.bn1 = theano.function(
            [x, targets], [bn1_out, T.grad(T.mean(T.sqr(T.maximum(0., 1. - targets * y))),
                                           act1_out)], no_default_updates=True)
        self.updates = updates

    def params(self):
        """Every layer parameter, by (layer index, name): W, b, beta, gamma, mean, inv_std."""
        named = OrderedDict()
        for index, norm in enumerate(self.norms):
            weight_layer = norm.input_layer
            if isinstance(weight_layer, MaxPool2DLayer):
                weight_layer = weight_layer.input_layer
            for param in (weight_layer.W, weight_layer.b, norm.beta, norm.gamma, norm.mean,
                          norm.inv_std):
                named[(index, param.name)] = param
        return named
