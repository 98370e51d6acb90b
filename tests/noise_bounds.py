"""Gradients compared by what determines them (issue #12).

The bias ``b`` of a layer that a batch norm directly follows has a gradient of
exactly 0: batch norm's input gradient has zero mean over the normalised
axes, and ``dL/db`` is its sum. What two implementations compute for it is float noise,
whose size depends on the order of the additions (hence on the CPU target the code was
compiled for), so comparing two such values relative to each other fails on some
machines (7.1e-9 vs 7.2e-9 on a Zen 3 EPYC). Instead both must lie within the bound of
the rounding error of that zero sum:

    |dL/db_c| <= 2 * n * eps * (|gamma_c| / sigma_c) * (2 + max|xhat_c|) * sum_i |dL/dy_ic|

with n the number of terms summed into ``b_c`` (batch x positions of the batch norm's input),
eps float32's machine epsilon, y the batch norm's output and xhat its normalised input:
the batch-norm gradient ``g = gamma/sigma * (dy - mean(dy) - xhat * mean(dy * xhat))``
has terms whose magnitudes sum to at most ``(|gamma|/sigma) * (2 + max|xhat|) * sum|dy|``,
and the recursive-summation bound ``n * eps * sum|terms|`` holds for the sums and means
involved (the factor 2 covers the means' own sums). Every other gradient is determined
and compared with a relative tolerance.
"""
from __future__ import absolute_import, division, print_function

import lasagne
import numpy as np
import theano
import theano.tensor as T

from gxnor.layers import BatchNormLayer

EPS32 = float(np.finfo(np.float32).eps)


def _owner(layers, param):
    for layer in layers:
        if param in layer.params:
            return layer
    return None


def _batch_norm_after(layers, owner):
    """The batch norm layer that takes ``owner``'s output directly, or through a 2x2 max
    pool whose gradient goes to one element per window (``pool_grad='one'``): then every
    window passes its gradient on once and the bias gradient is the batch norm's zero sum.
    (Through a pool with ``pool_grad='all'`` it is not 0: the gradient goes to every tied
    maximum, and ternary weights on dyadic inputs tie often, so each tie adds its share.)"""
    from gxnor.layers import MaxPool2x2Layer
    followers = [owner] + [layer for layer in layers if isinstance(layer, MaxPool2x2Layer)
                           and layer.input_layer is owner and layer.pool_grad == 'one']
    for layer in layers:
        if isinstance(layer, BatchNormLayer) and layer.input_layer in followers:
            return layer
    return None


def zero_gradient_bounds(net, loss_of, x, targets, values, t):
    """{param: per-channel bound} for the trainable biases whose gradient is exactly 0."""
    layers = lasagne.layers.get_all_layers(net)
    found = []
    for param in lasagne.layers.get_all_params(net, trainable=True):
        owner = _owner(layers, param)
        if param.name != 'b' or owner is None:
            continue
        bn = _batch_norm_after(layers, owner)
        if bn is not None:
            found.append((param, owner, bn))
    if not found:
        return {}
    outputs = lasagne.layers.get_output([net] + [bn.input_layer for _, _, bn in found] +
                                        [bn for _, _, bn in found], deterministic=False)
    k = len(found)
    out, inputs, normed = outputs[0], outputs[1:k + 1], outputs[k + 1:]
    loss = loss_of(out, targets)
    dys = T.grad(loss, normed)
    pieces = []
    for (param, owner, bn), z, dy in zip(found, inputs, dys):
        axes = bn.axes
        sigma = T.sqrt(z.var(axis=axes) + bn.epsilon)
        xhat = (z - z.mean(axis=axes, keepdims=True)) / T.sqrt(
            z.var(axis=axes, keepdims=True) + bn.epsilon)
        pieces += [abs(dy).sum(axis=axes), sigma, abs(xhat).max(axis=axes),
                   abs(bn.gamma), z.shape]
    function = theano.function([x, targets], pieces, no_default_updates=True,
                               on_unused_input='ignore')
    results = function(values, t)
    bounds = {}
    for index, (param, _, _) in enumerate(found):
        dy_sum, sigma, xhat_max, gamma, shape = results[5 * index:5 * index + 5]
        terms = int(np.prod(shape)) // int(shape[1])     # batch x positions per channel
        # (positions of the batch norm's input: the pooled map when a pool is between)
        bounds[param] = (2.0 * terms * EPS32 * gamma.astype(np.float64) / sigma *
                         (2.0 + xhat_max) * dy_sum)
    return bounds


def assert_gradients_agree(params, ours, theirs, bounds, rtol=1e-4, atol_share=1e-5):
    """Zero-by-construction gradients within their noise bound (both sides); the others
    equal within ``rtol`` and ``atol_share`` of their largest magnitude."""
    for param, a, b in zip(params, ours, theirs):
        if param in bounds:
            bound = np.broadcast_to(bounds[param], a.shape)
            assert np.all(np.abs(a) <= bound) and np.all(np.abs(b) <= bound), (
                '%s: gradient is 0 by construction; noise %r / %r exceeds the bound %r'
                % (param.name, np.abs(a).max(), np.abs(b).max(), bound.min()))
            continue
        scale = max(float(np.abs(b).max()), 1e-30)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol_share * scale,
                                   err_msg='gradient of %s' % param.name)
