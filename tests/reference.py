"""NumPy references for the method's equations, written independently of the Theano code.

Where the Theano code uses one formulation, the reference uses another (e.g. counting
thresholds crossed instead of flooring), so that a shared mistake is unlikely.
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np


def activation_levels(x, r, N):
    """phi_r(x) as sign(x) * d * (number of thresholds t_j with |x| >= t_j)."""
    x = np.asarray(x, dtype=np.float32)
    d = 1.0 / 2 ** (N - 1)
    magnitude = np.abs(x)
    crossed = np.zeros(x.shape)
    for j in range(2 ** (N - 1)):
        crossed += (magnitude - np.float32(r)) >= np.float32(j * d)
    return (np.sign(x) * d * crossed).astype(np.float32)


def pulse(u, a, shape):
    u = np.asarray(u, dtype=np.float64)
    if shape == 'rectangular':
        return np.where(np.abs(u) <= a, 1.0 / (2 * a), 0.0)
    if shape == 'triangular':
        return np.clip(1 - np.abs(u) / a, 0, None) / a
    if shape == 'gaussian':
        return np.exp(-u ** 2 / (2 * a ** 2)) / (a * math.sqrt(2 * math.pi))
    if shape == 'exponential':
        return np.exp(-np.abs(u) / a) / (2 * a)
    raise KeyError(shape)


def activation_derivative(x, r, a, N, shape):
    d = 1.0 / 2 ** (N - 1)
    magnitude = np.abs(np.asarray(x, dtype=np.float32))
    return sum(d * pulse(magnitude - np.float32(r + j * d), a, shape) for j in range(2 ** (N - 1)))


def grid(H, N):
    """The 2^N + 1 weight states as float32 (N = 0: {-H, H})."""
    return np.array([-H + i * 2.0 * H / 2 ** N for i in range(2 ** N + 1)], dtype=np.float32)


def nearest_state(W, H, N):
    """Nearest grid state, ties toward +H (the released round goes half away from zero)."""
    step = 2.0 * H / 2 ** N
    index = np.floor((np.asarray(W, np.float64) + H) / step + 0.5)
    return grid(H, N)[np.clip(index, 0, 2 ** N).astype(int)]


def batch_norm_train(x, gamma, beta, epsilon):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = [1] * x.ndim
    shape[1] = -1
    mean = x.mean(axis=axes, dtype=np.float64)
    var = ((x - mean.reshape(shape)) ** 2).mean(axis=axes)
    inv_std = 1.0 / np.sqrt(var + epsilon)
    out = (x - mean.reshape(shape)) * (gamma * inv_std).reshape(shape) + beta.reshape(shape)
    return out, mean, inv_std


def batch_norm_test(x, gamma, beta, mean, inv_std):
    shape = [1] * x.ndim
    shape[1] = -1
    return (x - mean.reshape(shape)) * (gamma * inv_std).reshape(shape) + beta.reshape(shape)


def adam_steps(theta, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Parameters after Adam steps with the given sequence of gradients (Lasagne form)."""
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    history = []
    for t, g in enumerate(grads, 1):
        a_t = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        theta = theta - a_t * m / (np.sqrt(v) + eps)
        history.append(theta)
    return history


# --------------------------------------------- the MNIST net, forward and backward (float64)
# Written with explicit index loops over the filter taps (not im2col + gemm) and with the
# batch-norm backward in closed form, so it shares no formulation with the Theano graph.

def _conv_valid(x, w):
    """True convolution (filters flipped, as T.nnet.conv2d), 'valid', stride 1."""
    n, c, h, width = x.shape
    f, _, kh, kw = w.shape
    flipped = w[:, :, ::-1, ::-1]
    out = np.zeros((n, f, h - kh + 1, width - kw + 1))
    for u in range(kh):
        for v in range(kw):
            patch = x[:, :, u:u + h - kh + 1, v:v + width - kw + 1]
            out += np.einsum('ncij,fc->nfij', patch, flipped[:, :, u, v])
    return out


def _conv_valid_backward(x, w, gy):
    n, c, h, width = x.shape
    f, _, kh, kw = w.shape
    flipped = w[:, :, ::-1, ::-1]
    oh, ow = h - kh + 1, width - kw + 1
    gx = np.zeros_like(x)
    gflipped = np.zeros_like(w)
    for u in range(kh):
        for v in range(kw):
            patch = x[:, :, u:u + oh, v:v + ow]
            gflipped[:, :, u, v] = np.einsum('nfij,ncij->fc', gy, patch)
            gx[:, :, u:u + oh, v:v + ow] += np.einsum('nfij,fc->ncij', gy, flipped[:, :, u, v])
    return gx, gflipped[:, :, ::-1, ::-1]


def _pool(x, rule):
    n, c, h, w = x.shape
    oh, ow = h // 2, w // 2
    out = np.full((n, c, oh, ow), -np.inf)
    mask = np.zeros(x.shape, bool)
    for a in range(2):                       # row-major window order: (0,0) (0,1) (1,0) (1,1)
        for b in range(2):
            out = np.maximum(out, x[:, :, a:2 * oh:2, b:2 * ow:2])
    taken = np.zeros((n, c, oh, ow), bool)
    for a in range(2):
        for b in range(2):
            hit = x[:, :, a:2 * oh:2, b:2 * ow:2] == out
            if rule == 'one':
                hit &= ~taken
                taken |= hit
            mask[:, :, a:2 * oh:2, b:2 * ow:2] = hit
    return out, mask


def _unpool(gz, mask):
    spread = np.zeros(mask.shape)
    oh, ow = gz.shape[2], gz.shape[3]
    for a in range(2):
        for b in range(2):
            spread[:, :, a:2 * oh:2, b:2 * ow:2] = gz
    return np.where(mask, spread, 0.0)


def _bn_forward(x, gamma, beta, epsilon):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = [1] * x.ndim
    shape[1] = -1
    mean = x.mean(axis=axes)
    inv_std = 1.0 / np.sqrt(x.var(axis=axes) + epsilon)
    normalised = (x - mean.reshape(shape)) * inv_std.reshape(shape)
    return normalised * gamma.reshape(shape) + beta.reshape(shape), (normalised, inv_std, axes,
                                                                      shape)


def _bn_backward(gy, gamma, cache):
    normalised, inv_std, axes, shape = cache
    g_gamma = (gy * normalised).sum(axis=axes)
    g_beta = gy.sum(axis=axes)
    g_norm = gy * gamma.reshape(shape)
    mean_g = g_norm.mean(axis=axes).reshape(shape)
    mean_gn = (g_norm * normalised).mean(axis=axes).reshape(shape)
    gx = (g_norm - mean_g - normalised * mean_gn) * inv_std.reshape(shape)
    return gx, g_gamma, g_beta


def mnist_net_gradients(x, targets, params, rule, epsilon=1e-4):
    """Loss and d loss / d param of the released MNIST net in training mode (batch-norm
    batch statistics), ternary activation (r = 1) with the rectangular pulse (a = 0.5),
    squared hinge loss; ``rule`` is the max-pool gradient's tie rule ('one' / 'all').

    ``params``: dict of float64 arrays conv1.W conv1.b bn1.beta bn1.gamma conv2.* bn2.*
    dense3.W dense3.b bn3.* dense4.W dense4.b bn4.* (W of conv: (out, in, 5, 5); dense:
    (in, out)). Returns (loss, dict of gradients under the same names).
    """
    p = params
    grads = {}
    caches = []
    h = x
    for block in ('1', '2'):
        conv = _conv_valid(h, p['conv%s.W' % block]) + p['conv%s.b' % block][None, :, None, None]
        pooled, mask = _pool(conv, rule)
        normed, cache = _bn_forward(pooled, p['bn%s.gamma' % block], p['bn%s.beta' % block],
                                    epsilon)
        act = activation_levels(normed, 1.0, 1).astype(np.float64)
        caches.append((h, mask, cache, normed))
        h = act
    flat_in = h.reshape(len(h), -1)
    dense_caches = []
    h = flat_in
    for block in ('3', '4'):
        pre = h.dot(p['dense%s.W' % block]) + p['dense%s.b' % block]
        normed, cache = _bn_forward(pre, p['bn%s.gamma' % block], p['bn%s.beta' % block],
                                    epsilon)
        dense_caches.append((h, cache, normed))
        h = activation_levels(normed, 1.0, 1).astype(np.float64) if block == '3' else normed
    out = h
    margin = np.maximum(0.0, 1.0 - targets * out)
    loss = (margin ** 2).mean()
    g = -2.0 * margin * targets / out.size
    for block, (h_in, cache, normed) in zip(('4', '3'), dense_caches[::-1]):
        if block == '3':
            g = g * activation_derivative(normed, 1.0, 0.5, 1, 'rectangular')
        g, grads['bn%s.gamma' % block], grads['bn%s.beta' % block] = _bn_backward(
            g, p['bn%s.gamma' % block], cache)
        grads['dense%s.W' % block] = h_in.T.dot(g)
        grads['dense%s.b' % block] = g.sum(axis=0)
        g = g.dot(p['dense%s.W' % block].T)
    g = g.reshape(caches[-1][3].shape)
    for block, (h_in, mask, cache, normed) in zip(('2', '1'), caches[::-1]):
        g = g * activation_derivative(normed, 1.0, 0.5, 1, 'rectangular')
        g, grads['bn%s.gamma' % block], grads['bn%s.beta' % block] = _bn_backward(
            g, p['bn%s.gamma' % block], cache)
        g = _unpool(g, mask)
        grads['conv%s.b' % block] = g.sum(axis=(0, 2, 3))
        g, grads['conv%s.W' % block] = _conv_valid_backward(h_in, p['conv%s.W' % block], g)
    return loss, grads
