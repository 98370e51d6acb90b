"""The catalogue of porting mistakes: for each, the hint that names it and, where the
checker can re-enact it, a small NumPy model of the primitive with that mistake (run on
the golden inputs and compared with what the port wrote: see diagnosis).

What the hints name: round half to even and strict thresholds in the activation; an open
derivative window, a pulse of the wrong height or without the factor d; round half to
even in snapping; four DST mistakes; six batch-norm mistakes; five Adam mistakes; and, in
the training step, cross-correlation for convolution, the other max-pool gradient rule,
nothing advancing at LR = 0, no snapping at LR = 0, frozen or wrongly updated biases, and
which primitive file to check when the batch-norm statistics or the new weights differ.
(The learning curves' hints are in curves.)
"""
from __future__ import absolute_import, division, print_function

from collections import OrderedDict

import numpy as np

__all__ = ['dst_model', 'batchnorm_model', 'adam_model', 'snap_model', 'correlate_valid',
           'ACTIVATION_HINTS', 'SNAP_HINTS', 'DST_MISTAKES', 'BATCHNORM_MISTAKES',
           'ADAM_MISTAKES', 'TRAIN_STEP_HINTS']


def _f32(value):
    return np.asarray(value, dtype=np.float32)


def _round_half_away(position):
    magnitude = np.abs(position)
    whole = np.floor(magnitude)
    up = (magnitude - whole) >= 0.5
    return np.sign(position) * (whole + up)


def snap_model(W, H, N, half_even=False):
    H32, levels = np.float32(H), np.float32(2 ** N)
    position = (_f32(W) + H32) / np.float32(2 * H) * levels
    rounded = np.round(position) if half_even else _round_half_away(position)
    return _f32(rounded / levels * np.float32(2 * H) - H32)


# The activation and snapping mistakes are recognised from where the port differs (no
# model needed): the texts, by what the diagnosis found.
ACTIVATION_HINTS = OrderedDict([
    ('inner_level', 'at |x| = t_j exactly the port gives the inner level: round half to '
                    'even (np.round, torch.round, jnp.round, tf.round) or a strict '
                    '|x| > t_j. phi takes the OUTER level there (the released round '
                    'goes half away from zero): use floor((|x| - r)/d) + 1 or '
                    '|x| >= t_j'),
    ('open_window', 'zero derivative exactly at the window edges |x| - t_j = +-a: the '
                    'released rectangular window is CLOSED (|u| <= a; Theano\'s clip '
                    'gradient counts its bounds)'),
    ('pulse_height', 'rectangular pulse of height 1 instead of 1/(2a) (the released '
                     'a = 0.5 hides the difference)'),
    ('no_factor_d', 'the pulses lack the factor d = 1/2^(N-1): each pulse carries the '
                    'area d of the jump it replaces'),
    ('scaled', 'the derivative is the golden one times %.6g'),
    ('float32_edges', 'at these points |x| - t_j rounds in float32; the golden computes it in '
                      'float32 (the port probably in float64). Advisory: only values within '
                      'an ulp of a window edge are affected'),
])

SNAP_HINTS = OrderedDict([
    ('half_even', 'round half to even at the midpoints between states (np.round, '
                  'torch.round, jnp.round, tf.round): the released round goes half '
                  'away from zero, so a midpoint goes to the state nearer +H'),
    ('float32_edges', 'the released formula adds W + H in float32: a port computing the '
                      'exact nearest state (float64, or round(W/L) L) differs within an ulp '
                      'of a midpoint; so does a floor(x + 0.5) round. Advisory: only off-grid '
                      'weights within an ulp of a midpoint are affected'),
])


def dst_model(W, dW, u, H, N, m, mistake=None):
    """(W_new, p) of the DST, in float32, with one known ``mistake`` (or none)."""
    W, dW, u = _f32(W), _f32(dW), _f32(u)
    L = np.float32(2.0 * H / 2 ** N)
    direction = np.sign(dW)
    if mistake == 'signed_floor':
        kappa = np.floor(dW / L)
        direction = np.ones_like(dW)
    else:
        kappa = direction * np.floor(np.abs(dW) / L)
    nu = dW - kappa * L
    ratio = np.abs(nu) / L
    p = ratio if (m is None or mistake == 'linear_p') else np.tanh(np.float32(m) * ratio)
    gate = (u <= p) if mistake == 'gate_le' else (u < p)
    moved = W + (kappa + direction * gate) * L
    if mistake != 'no_clip':
        moved = np.clip(moved, np.float32(-H), np.float32(H))
    return snap_model(moved, H, N), _f32(p)


DST_MISTAKES = OrderedDict([
    ('linear_p', 'stochastic rounding p = |nu|/L instead of p = tanh(m |nu|/L) (the released '
                 'transition uses th = m = 3)'),
    ('gate_le', 'gate u <= p instead of u < p (with p = 0 a move must never happen)'),
    ('no_clip', 'no clip to [-H, H] before snapping'),
    ('signed_floor', 'kappa = floor(dW/L) on the signed dW; the released code floors |dW|/L '
                     'and moves in the direction sign(dW)'),
])


def batchnorm_model(inputs, case, params, mistake=None):
    """Outputs of one batchnorm.npz case in float64 with one known ``mistake``."""
    gamma = inputs[case + '/gamma'].astype(np.float64)
    beta = inputs[case + '/beta'].astype(np.float64)
    eps = {'eps_1e-5': 1e-5, 'eps_1e-3': 1e-3}.get(mistake, params['epsilon'])
    alpha = 1 - params['alpha'] if mistake == 'alpha_flipped' else params['alpha']
    ndim = len(params['shape'])
    axes = (0,) + tuple(range(2, ndim))
    shape = [1] * ndim
    shape[1] = -1
    channels = params['shape'][1]
    running_mean, running_inv_std, running_var = np.zeros(channels), np.ones(channels), \
        np.ones(channels)
    out = OrderedDict()
    for step in range(1, params['steps'] + 1):
        prefix = '%s/step%d/' % (case, step)
        x = inputs[prefix + 'x'].astype(np.float64)
        n = x.size // channels
        mean = x.mean(axis=axes)
        biased = ((x - mean.reshape(shape)) ** 2).mean(axis=axes)
        unbiased = biased * n / (n - 1)
        var = unbiased if mistake == 'unbiased' else biased
        inv_std = 1 / np.sqrt(var + eps)
        out[prefix + 'output'] = (x - mean.reshape(shape)) * (gamma * inv_std).reshape(shape) \
            + beta.reshape(shape)
        running_mean = (1 - alpha) * running_mean + alpha * mean
        if mistake in ('running_var', 'torch_running'):
            running_var = (1 - alpha) * running_var + alpha * (
                unbiased if mistake == 'torch_running' else biased)
            running_inv_std = 1 / np.sqrt(running_var + eps)
        else:
            running_inv_std = (1 - alpha) * running_inv_std + alpha * inv_std
        out[prefix + 'mean'] = running_mean
        out[prefix + 'inv_std'] = running_inv_std
    x = inputs[case + '/test/x'].astype(np.float64)
    out[case + '/test/output'] = (x - running_mean.reshape(shape)) * (
        gamma * running_inv_std).reshape(shape) + beta.reshape(shape)
    return out


BATCHNORM_MISTAKES = OrderedDict([
    ('running_var', 'the running VARIANCE is averaged; Lasagne 0.2 averages the running '
                    'inv_std = 1/sqrt(var + eps) itself (from 1)'),
    ('torch_running', 'PyTorch-style running statistics (the unbiased variance averaged); '
                      'Lasagne 0.2 averages the inv_std of the biased variance'),
    ('unbiased', 'unbiased variance (n - 1) in the batch statistics; Lasagne uses the biased '
                 'variance (n)'),
    ('alpha_flipped', 'running update r = alpha r + (1 - alpha) r_batch; Lasagne: '
                      'r = (1 - alpha) r + alpha r_batch with alpha = 0.1'),
    ('eps_1e-5', 'epsilon 1e-5 (PyTorch default); the released epsilon is 1e-4'),
    ('eps_1e-3', 'epsilon 1e-3 (Keras default); the released epsilon is 1e-4'),
])


def adam_model(inputs, case, params, mistake=None):
    """theta, m, v, t after each step of one adam.npz case, float64, one ``mistake``."""
    b1, b2 = params['beta1'], params['beta2']
    eps = 1e-7 if mistake == 'eps_1e-7' else params['epsilon']
    lr = float(inputs[case + '/lr'])
    theta = inputs[case + '/theta0'].astype(np.float64)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    t = 0
    out = OrderedDict()
    for step in range(1, params['steps'] + 1):
        prefix = '%s/step%d/' % (case, step)
        g = inputs[prefix + 'grad'].astype(np.float64)
        if not (mistake == 'frozen_at_lr0' and lr == 0):
            t += 1
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            if mistake == 'no_bias_correction':
                step_size = lr * m / (np.sqrt(v) + eps)
            elif mistake == 'eps_hat':
                step_size = lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
            else:
                a_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                denominator = np.sqrt(v + eps) if mistake == 'eps_in_sqrt' else \
                    np.sqrt(v) + eps
                step_size = a_t * m / denominator
            theta = theta - step_size
        out[prefix + 'theta'], out[prefix + 'm'], out[prefix + 'v'] = theta, m, v
        out[prefix + 't'] = np.float64(t)
    return out


ADAM_MISTAKES = OrderedDict([
    ('eps_in_sqrt', 'epsilon inside the square root, sqrt(v + eps); Lasagne: sqrt(v) + eps'),
    ('eps_hat', 'epsilon added after bias correction, lr m_hat/(sqrt(v_hat) + eps) (the '
                'PyTorch / optax form); Lasagne: a_t m/(sqrt(v) + eps) with a_t = lr '
                'sqrt(1 - b2^t)/(1 - b1^t)'),
    ('eps_1e-7', 'epsilon 1e-7 (Keras default); Lasagne uses 1e-8'),
    ('no_bias_correction', 'no bias correction'),
    ('frozen_at_lr0', 'nothing advances at LR = 0; Lasagne still updates m, v and t (the '
                      'released epoch 0 runs at LR = 0)'),
])


def correlate_valid(x, W):
    """Cross-correlation, 'valid', stride 1: out[b, f, i, j] = sum x[b, c, i+u, j+v] W[f, c, u, v].
    (Theano's conv2d is this with W flipped over both spatial axes.)"""
    x, W = np.asarray(x, np.float64), np.asarray(W, np.float64)
    rows, cols = x.shape[2] - W.shape[2] + 1, x.shape[3] - W.shape[3] + 1
    out = np.zeros((x.shape[0], W.shape[0], rows, cols))
    for u in range(W.shape[2]):
        for v in range(W.shape[3]):
            out += np.einsum('bcij,fc->bfij', x[:, :, u:u + rows, v:v + cols], W[:, :, u, v])
    return out


TRAIN_STEP_HINTS = {
    'conv_flip': 'cross-correlation instead of convolution: Theano / Lasagne\'s conv2d flips '
                 'the filters (flip_filters=True); with PyTorch, TF or JAX convolutions pass '
                 'W[:, :, ::-1, ::-1]',
    'pool_ties': 'the forward pass matches but gradients differ, and this batch has tied '
                 'maxima in 2x2 pool windows: check which rule the case uses (pool_grad: '
                 '\'all\' sends a window\'s gradient to EVERY element equal to its maximum, '
                 'as Theano\'s CPU op; \'one\' only to the first maximum in row-major order, '
                 'as cuDNN / PyTorch)',
    'adam_lr0': 'Adam\'s step counter (and moments) must advance at LR = 0: the released '
                'epoch 0 runs the full update with LR = 0',
    'snap_lr0': 'at LR = 0 the update still snaps W onto the grid (DST with dW = 0: '
                'snap(clip(W))); check snap.npz',
    'bn_stats': 'batch-norm running statistics differ: check batchnorm.npz (the running '
                'inv_std is averaged, not the variance)',
    'dst': 'gradients match but the new W differ: check dst.npz and adam.npz '
           '(dW = adam_new_W - W in float32, gate = u < p with the given u)',
    'frozen_bias': 'the biases %s did not move: the port left them at their values before '
                   'the step. Every b is trainable and updated by the second Adam (with the '
                   'batch-norm beta and gamma), at every step',
    'bias_update': 'the gradients of %s match but the new values do not: check the Adam '
                   'step of the biases (the second Adam instance, its own counter)',
}
