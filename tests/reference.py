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
