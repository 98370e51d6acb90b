"""Conformance check of a port against the golden vectors (``make check-port PORT=<folder>``).

``python -m gxnor.conformance PORT_DIR [--golden results/golden/v1]`` reads the port's
outputs, written under the golden file and array names (``schema.json``; any subset), and
compares every one with the golden array by the schema's rule: exact for discrete values
(activation levels, grid states, DST outputs, predictions, counters), ``|port - golden| <=
atol + rtol |golden|`` otherwise. A per-epoch log ``epochs*.jsonl`` (fields ``epoch``,
``test_error``) is checked against the envelope of our seeds' learning curves.

It prints one line per check: PASS (every array provided and matching), PARTIAL n/m (n of
the m arrays provided, all matching), FAIL, WARN (an advisory check), "not provided". A
failing line leads with the first divergence in the documented order (training steps:
forward, loss, gradients, new state, deterministic pass; other checks: the worst array),
with where (array, index, golden value, port value), then a hint naming the likely porting
mistake when the deviations fit a known one: the mistake is re-enacted on the golden
inputs by a small NumPy model and compared with what the port wrote. The last line is
RESULT: PASS, PARTIAL or FAIL. Exit status: 0 when nothing failed, 1 on a failure (and,
with --require-complete, on PARTIAL), 2 when the folders cannot be used. ``make
check-port`` returns the same statuses (see the Makefile).
"""
from __future__ import absolute_import, division, print_function

import argparse
import glob
import json
import os
import sys
from collections import OrderedDict

import numpy as np

from .golden import CURVES_FILE, load_schema, read_golden, read_npz

__all__ = ['Comparison', 'CheckResult', 'compare_arrays', 'check_port', 'check_curves',
           'step_groups', 'step_order', 'format_report', 'overall', 'run', 'main']


def _newest_golden(root=os.path.join('results', 'golden')):
    """results/golden/v<highest> that exists (v1 if none does)."""
    versions = []
    for path in glob.glob(os.path.join(root, 'v*')):
        tail = os.path.basename(path)[1:]
        if tail.isdigit() and os.path.isdir(path):
            versions.append(int(tail))
    return os.path.join(root, 'v%d' % max(versions or [1]))


DEFAULT_GOLDEN = _newest_golden()
MODEL_SLACK = 10.0     # a mistake model "explains" a port within 10x the golden tolerance


# ============================================================ comparing arrays

class Comparison(object):
    """Outcome of one array: ok, how many elements are off, and the worst one."""

    def __init__(self, name, ok, bad=0, size=0, index=None, golden=None, port=None,
                 deviation=0.0, allowed=0.0, ratio=0.0, problem=None):
        self.name, self.ok, self.bad, self.size = name, ok, bad, size
        self.index, self.golden, self.port = index, golden, port
        self.deviation, self.allowed, self.ratio = deviation, allowed, ratio
        self.problem = problem

    def where(self):
        if self.problem:
            return '%s: %s' % (self.name, self.problem)
        index = '' if self.index is None or self.index == () else \
            '[%s]' % ', '.join(str(int(i)) for i in self.index)
        text = '%s%s golden %s port %s' % (self.name, index, _num(self.golden), _num(self.port))
        if not self.ok:
            text += ' (%d of %d elements off' % (self.bad, self.size)
            if self.allowed:
                text += '; |diff| %s > allowed %s' % (_num(self.deviation), _num(self.allowed))
            text += ')'
        return text


def _num(value):
    if value is None:
        return '-'
    value = float(value)
    if np.isfinite(value) and value == np.floor(value) and abs(value) < 1e9:
        return '%d' % value
    return '%.8g' % value


def _aligned(golden, port):
    """Both as float64 of one shape, or a problem string."""
    port = np.asarray(port)
    if port.dtype.kind not in 'biuf':
        return None, None, 'not numeric (dtype %s)' % port.dtype
    golden = np.asarray(golden, dtype=np.float64)
    port = port.astype(np.float64)
    if golden.shape != port.shape:
        squeeze = lambda shape: tuple(s for s in shape if s != 1)
        if squeeze(golden.shape) != squeeze(port.shape):
            return None, None, 'shape %s, golden %s' % (port.shape, golden.shape)
        port = port.reshape(golden.shape)
    return golden, port, None


def compare_arrays(name, golden, port, rule):
    """Compare by ``rule`` (schema: exact, or close with rtol/atol)."""
    golden, port, problem = _aligned(golden, port)
    if problem:
        return Comparison(name, False, problem=problem)
    size = golden.size
    if size == 0:
        return Comparison(name, True)
    shape = golden.shape
    golden, port = golden.ravel(), port.ravel()
    deviation = np.abs(port - golden)
    deviation[np.isnan(deviation)] = np.inf
    if rule['rule'] == 'exact':
        bad = ~(port == golden)
        ratio = np.where(bad, np.inf, 0.0)
        allowed = np.zeros_like(golden)
    else:
        allowed = rule['atol'] + rule['rtol'] * np.abs(golden)
        with np.errstate(divide='ignore', invalid='ignore'):
            ratio = np.where(deviation == 0, 0.0, deviation / allowed)
        bad = ~(deviation <= allowed)
    worst = int(np.argmax(np.where(bad, deviation, -1.0))) if bad.any() else \
        int(np.argmax(ratio))
    index = np.unravel_index(worst, shape) if shape else ()
    finite = ratio[np.isfinite(ratio)]
    return Comparison(name, not bad.any(), int(bad.sum()), size, index,
                      golden.flat[worst], port.flat[worst], float(deviation.flat[worst]),
                      float(allowed.flat[worst]),
                      float(finite.max()) if finite.size and not bad.any() else float('inf'))


# ============================================================ one check's result

class CheckResult(object):
    """One line of the report: a check (primitive) and how the port did on it.

    ``order`` (optional) lists the check's arrays in the documented debugging order (the
    training steps: forward, loss, gradients, new state, deterministic pass); a failing
    check then leads with its FIRST divergence in that order, otherwise with its worst.
    """

    def __init__(self, check, advisory=False):
        self.check = check
        self.advisory = advisory
        self.comparisons = []
        self.missing = []
        self.hints = []
        self.note = None
        self.order = None

    @property
    def failures(self):
        return [c for c in self.comparisons if not c.ok]

    @property
    def complete(self):
        """Every array of the check was provided."""
        return not self.missing

    @property
    def status(self):
        """PASS, PARTIAL n/m, FAIL, WARN (advisory), 'not provided' or SKIP."""
        if not self.comparisons:
            return 'not provided' if self.note is None else 'SKIP'
        if self.failures:
            return 'WARN' if self.advisory else 'FAIL'
        if self.missing:
            return 'PARTIAL %d/%d' % (len(self.comparisons),
                                      len(self.comparisons) + len(self.missing))
        return 'PASS'

    @property
    def failed(self):
        return self.status == 'FAIL'

    def worst(self):
        return max(self.failures, key=lambda c: (c.problem is not None, c.ratio, c.deviation))

    def first(self):
        """The first failing array in ``order`` (None without an order or outside it)."""
        if not self.order:
            return None
        failing = dict((c.name, c) for c in self.failures)
        for name in self.order:
            if name in failing:
                return failing[name]
        return None

    def lead(self):
        """The failure the report line leads with: the first divergence, else the worst."""
        return self.first() or self.worst()

    def summary(self):
        if not self.comparisons:
            if self.note:
                return self.note
            if self.check == 'curves':
                return 'no epochs*.jsonl log'
            return '%d arrays in the schema' % len(self.missing)
        failures = self.failures
        provided = '%d/%d arrays' % (len(self.comparisons),
                                     len(self.comparisons) + len(self.missing))
        if not failures:
            ratios = [c.ratio for c in self.comparisons if c.ratio]
            worst = ('; worst %.2g of tolerance' % max(ratios)) if ratios else '; identical'
            text = provided + ' match' + worst
            if self.missing:
                text += '; %d not provided (e.g. %s)' % (
                    len(self.missing), ', '.join(self.missing[:2]))
            return text
        first = self.first()
        if first is not None:
            return '%s, %d differ; first divergence %s' % (provided, len(failures),
                                                          first.where())
        return '%s, %d differ; worst %s' % (provided, len(failures), self.worst().where())


# ============================================================ hints: mistakes re-enacted

def _f32(value):
    return np.asarray(value, dtype=np.float32)


def _round_half_away(position):
    magnitude = np.abs(position)
    whole = np.floor(magnitude)
    up = (magnitude - whole) >= 0.5
    return np.sign(position) * (whole + up)


def _snap(W, H, N, half_even=False):
    H32, levels = np.float32(H), np.float32(2 ** N)
    position = (_f32(W) + H32) / np.float32(2 * H) * levels
    rounded = np.round(position) if half_even else _round_half_away(position)
    return _f32(rounded / levels * np.float32(2 * H) - H32)


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
    return _snap(moved, H, N), _f32(p)


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


def _explains(model, port, rules):
    """True when every provided array ``name`` is within MODEL_SLACK x tolerance of model."""
    checked = 0
    for name, value in port.items():
        if name not in model or name not in rules:
            continue
        golden_rule = rules[name]
        golden, port_value, problem = _aligned(model[name], value)
        if problem:
            return False
        if golden_rule['rule'] == 'exact':
            if not np.array_equal(golden, port_value):
                return False
        else:
            allowed = MODEL_SLACK * (golden_rule['atol'] + golden_rule['rtol'] * np.abs(golden))
            if not np.all(np.abs(port_value - golden) <= allowed + 1e-12 * np.abs(golden)):
                return False
        checked += 1
    return checked > 0


def _differs(model, golden, rules):
    for name, value in model.items():
        if name in golden and name in rules:
            rule = rules[name]
            g = golden[name].astype(np.float64)
            m = np.asarray(value, np.float64).reshape(g.shape)
            allowed = 0 if rule['rule'] == 'exact' else rule['atol'] + rule['rtol'] * np.abs(g)
            if np.any(np.abs(m - g) > allowed):
                return True
    return False


# ---------------------------------------------------------------- per-file diagnoses

def _hints_activation(ctx):
    hints = []
    for comparison in ctx.failed_in('activation.forward'):
        case = comparison.name.split('/')[0]
        p = ctx.cases[case]
        x = ctx.golden[case + '/x'].astype(np.float64)
        port = np.asarray(ctx.port[comparison.name], np.float64).reshape(x.shape)
        golden = ctx.golden[comparison.name].astype(np.float64)
        off = port != golden
        d = 1.0 / 2 ** (p['N'] - 1)
        thresholds = np.array([p['r'] + j * d for j in range(2 ** (p['N'] - 1))])
        on_threshold = np.any(np.abs(x)[:, None] == thresholds[None, :], axis=1)
        if np.all(on_threshold[off]) and np.all(np.abs(port[off]) < np.abs(golden[off])):
            hints.append(('activation.forward',
                          'at |x| = t_j exactly the port gives the inner level: round half to '
                         'even (np.round, torch.round, jnp.round, tf.round) or a strict '
                         '|x| > t_j. phi takes the OUTER level there (the released round '
                         'goes half away from zero): use floor((|x| - r)/d) + 1 or '
                         '|x| >= t_j'))
            break
    for comparison in ctx.failed_in('activation.derivative'):
        case = comparison.name.split('/')[0]
        p = ctx.cases[case]
        x = ctx.golden[case + '/x'].astype(np.float64)
        port = np.asarray(ctx.port[comparison.name], np.float64).reshape(x.shape)
        golden = ctx.golden[comparison.name].astype(np.float64)
        rule = ctx.rules[comparison.name]
        tol = 0 if rule['rule'] == 'exact' else rule['atol'] + rule['rtol'] * np.abs(golden)
        off = np.abs(port - golden) > tol
        d = 1.0 / 2 ** (p['N'] - 1)
        offsets = np.abs(x)[:, None] - np.array(
            [p['r'] + j * d for j in range(2 ** (p['N'] - 1))])[None, :]
        on_edge = np.any(np.abs(np.abs(offsets) - p['a']) == 0, axis=1)
        if p['shape'] == 'rectangular' and np.all(on_edge[off]) and np.all(port[off] < golden[off]):
            hints.append(('activation.derivative',
                          'zero derivative exactly at the window edges |x| - t_j = +-a: the '
                          'released rectangular window is CLOSED (|u| <= a; Theano\'s clip '
                          'gradient counts its bounds)'))
            break
        nonzero = golden != 0
        if nonzero.any():
            ratios = port[nonzero] / golden[nonzero]
            if np.allclose(ratios, ratios[0], rtol=1e-4) and not np.isclose(ratios[0], 1):
                k = ratios[0]
                if np.isclose(k, 2 * p['a']) and p['shape'] == 'rectangular':
                    text = ('rectangular pulse of height 1 instead of 1/(2a) (the released '
                            'a = 0.5 hides the difference)')
                elif np.isclose(k, 1 / d):
                    text = ('the pulses lack the factor d = 1/2^(N-1): each pulse carries the '
                            'area d of the jump it replaces')
                else:
                    text = 'the derivative is the golden one times %.6g' % k
                hints.append(('activation.derivative', text))
                break
    if ctx.failed_in('activation.float32_edges'):
        hints.append(('activation.float32_edges',
                      'at these points |x| - t_j rounds in float32; the golden computes it in '
                      'float32 (the port probably in float64). Advisory: only values within an '
                      'ulp of a window edge are affected'))
    return hints


def _hints_snap(ctx):
    hints = []
    for comparison in ctx.failed_in('snap'):
        case = comparison.name.split('/')[0]
        p = ctx.cases[case]
        W = ctx.golden[case + '/W']
        port = np.asarray(ctx.port[comparison.name], np.float64).reshape(W.shape)
        golden = ctx.golden[comparison.name].astype(np.float64)
        off = port != golden
        half_even = _snap(W, p['H'], p['N'], half_even=True).astype(np.float64)
        if np.array_equal(port[off], half_even[off]) and np.any(half_even != golden):
            hints.append(('snap',
                          'round half to even at the midpoints between states (np.round, '
                          'torch.round, jnp.round, tf.round): the released round goes half '
                          'away from zero, so a midpoint goes to the state nearer +H'))
            break
    if ctx.failed_in('snap.float32_edges'):
        hints.append(('snap.float32_edges',
                      'the released formula adds W + H in float32: a port computing the exact '
                      'nearest state (float64, or round(W/L) L) differs within an ulp of a '
                      'midpoint; so does a floor(x + 0.5) round. Advisory: only off-grid '
                      'weights within an ulp of a midpoint are affected'))
    return hints


def _hints_dst(ctx):
    failing = set(c.name.split('/')[0] for c in ctx.failed_in('dst'))
    if not failing:
        return []
    for mistake, text in DST_MISTAKES.items():
        explained = 0
        for case in failing:
            p = ctx.cases[case]
            W, dW, u = [ctx.golden[case + '/' + k] for k in ('W', 'dW', 'u')]
            model, probability = dst_model(W, dW, u, p['H'], p['N'], p['m'], mistake)
            # judge by W' when the port gives it (p alone otherwise)
            values = {case + '/W_new': model} if case + '/W_new' in ctx.port else \
                {case + '/p': probability}
            if _explains(values, _subset(ctx.port, values), ctx.rules) and \
                    _differs(values, ctx.golden, ctx.rules):
                explained += 1
        if explained == len(failing):
            return [('dst', text)]
    return []


def _subset(arrays, keys):
    return OrderedDict((k, arrays[k]) for k in keys if k in arrays)


def _hints_batchnorm(ctx):
    failing = set(c.name.split('/')[0] for c in ctx.failed_in('batchnorm'))
    if not failing:
        return []
    for mistake, text in BATCHNORM_MISTAKES.items():
        if all(_explains_case(batchnorm_model(ctx.golden, case, ctx.cases[case], mistake), ctx)
               for case in failing):
            return [('batchnorm', text)]
    return []


def _explains_case(model, ctx):
    return _explains(model, _subset(ctx.port, model), ctx.rules) and \
        _differs(model, ctx.golden, ctx.rules)


def _hints_adam(ctx):
    failing = set(c.name.split('/')[0] for c in ctx.failed_in('adam'))
    if not failing:
        return []
    for mistake, text in ADAM_MISTAKES.items():
        if all(_explains_case(adam_model(ctx.golden, case, ctx.cases[case], mistake), ctx)
               for case in failing):
            return [('adam', text)]
    return []


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


def step_groups(entry):
    """The training steps of a train_step file: a list of (check, prefix, start) with
    prefix the arrays' common start ('step1/' in v1, 'pool_one/step1/' in v2) and start
    the prefix of the state the step begins from ('init/' or the previous step's state)."""
    groups = OrderedDict()
    for name, array in entry['arrays'].items():
        if array['role'] != 'output':
            continue
        parts = name.split('/')
        index = [i for i, part in enumerate(parts) if part.startswith('step') and
                 part[4:].isdigit()]
        if not index:
            continue
        head = '/'.join(parts[:index[0]])
        step = int(parts[index[0]][4:])
        prefix = (head + '/' if head else '') + 'step%d/' % step
        if prefix not in groups:
            start = 'init/' if step == 1 else \
                (head + '/' if head else '') + 'step%d/state/' % (step - 1)
            groups[prefix] = (array['check'], prefix, start)
    return list(groups.values())


def step_order(step_case, prefix):
    """Arrays of one training step in the documented debugging order: the forward pass
    layer by layer, loss and predictions, gradients from the last layer back, the new
    state (Adam counters; per parameter in forward order its moments m, v, then the
    parameter; the batch-norm running statistics), the deterministic pass."""
    names = [prefix + 'layer/' + name for name in step_case['layers']]
    names += [prefix + 'loss', prefix + 'predictions']
    names += [prefix + 'grad/' + name for name in reversed(step_case['trainable'])]
    state = step_case['state']
    names += [prefix + 'state/' + name for name in state if name.endswith('.t')]
    for param in step_case['trainable']:
        names += [prefix + 'state/' + param + suffix for suffix in ('.adam_m', '.adam_v', '')]
    names += [prefix + 'state/' + name for name in state
              if prefix + 'state/' + name not in names]
    names += [prefix + 'eval/output', prefix + 'eval/predictions']
    return names


def _hints_train_step(ctx):
    hints = []
    for check, prefix, before in step_groups(ctx.entry):
        failures = ctx.failed_in(check)
        failed = set(c.name for c in failures if c.name.startswith(prefix))
        if not failed:
            continue
        new_W = [n for n in failed if n.startswith(prefix + 'state/') and n.endswith('.W')]
        grads = [n for n in failed if n.startswith(prefix + 'grad/')]
        first_step = before == 'init/'
        conv = prefix + 'layer/conv1'
        if conv in failed and before + 'conv1.W' in ctx.golden:
            model = {conv: correlate_valid(ctx.golden['x'], ctx.golden[before + 'conv1.W'])
                     + ctx.golden[before + 'conv1.b'].reshape(1, -1, 1, 1)}
            if _explains(model, _subset(ctx.port, model), ctx.rules):
                hints.append((check, TRAIN_STEP_HINTS['conv_flip']))
        forward_ok = not any(n.startswith(prefix + 'layer/') or n == prefix + 'loss'
                             for n in failed)
        if forward_ok and grads and _has_pool_ties(ctx, prefix):
            hints.append((check, TRAIN_STEP_HINTS['pool_ties']))
        if first_step and any(n.endswith('.t') for n in failed):
            hints.append((check, TRAIN_STEP_HINTS['adam_lr0']))
        if first_step and new_W:
            hints.append((check, TRAIN_STEP_HINTS['snap_lr0']))
        if any('/state/' in n and (n.endswith('.inv_std') or n.endswith('.mean'))
               for n in failed):
            hints.append((check, TRAIN_STEP_HINTS['bn_stats']))
        if not first_step and new_W and not grads:
            hints.append((check, TRAIN_STEP_HINTS['dst']))
        biases = sorted(n for n in failed if n.startswith(prefix + 'state/') and
                        n.endswith('.b'))
        frozen = [n for n in biases if _unchanged(ctx, n, before + n[len(prefix + 'state/'):])]
        if frozen:
            hints.append((check, TRAIN_STEP_HINTS['frozen_bias'] % ', '.join(
                n[len(prefix + 'state/'):] for n in frozen)))
        moved = [n for n in biases if n not in frozen and
                 prefix + 'grad/' + n[len(prefix + 'state/'):] not in failed]
        if moved:
            hints.append((check, TRAIN_STEP_HINTS['bias_update'] % ', '.join(
                n[len(prefix + 'state/'):] for n in moved)))
    return hints


def _unchanged(ctx, name, before):
    """The port's array ``name`` equals the golden start value ``before`` (which the golden
    result does not)."""
    if name not in ctx.port or before not in ctx.golden:
        return False
    start, port, problem = _aligned(ctx.golden[before], ctx.port[name])
    return problem is None and np.array_equal(start, port) and \
        not np.array_equal(start, np.asarray(ctx.golden[name], np.float64).reshape(start.shape))


def _has_pool_ties(ctx, prefix):
    layers = ctx.cases['step']['layers']
    for index, name in enumerate(layers):
        if name.startswith('pool') and index > 0:
            key = prefix + 'layer/' + layers[index - 1]
            if key not in ctx.golden:
                continue
            a = ctx.golden[key]
            b, c, h, w = a.shape
            windows = a[:, :, :h // 2 * 2, :w // 2 * 2].reshape(b, c, h // 2, 2, w // 2, 2)
            windows = np.sort(windows.transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4), axis=1)
            if np.any(windows[:, 3] == windows[:, 2]):
                return True
    return False


HINTS = OrderedDict([('activation.npz', _hints_activation), ('snap.npz', _hints_snap),
                     ('dst.npz', _hints_dst), ('batchnorm.npz', _hints_batchnorm),
                     ('adam.npz', _hints_adam), ('train_step.npz', _hints_train_step)])


class _Context(object):
    """What a diagnosis sees: golden and port arrays of one file, rules, cases, results."""

    def __init__(self, golden, port, entry, results):
        self.golden = golden
        self.port = port
        self.entry = entry
        self.cases = entry['cases']
        self.rules = OrderedDict((name, a['compare']) for name, a in entry['arrays'].items()
                                 if a['role'] == 'output')
        self.results = results

    def failed_in(self, check):
        result = self.results.get(check)
        return result.failures if result else []


# ============================================================ the whole check

def check_port(port_dir, golden_dir=DEFAULT_GOLDEN):
    """OrderedDict check -> CheckResult (in the schema's order), and notes (list)."""
    schema = load_schema(golden_dir)
    if not os.path.isdir(port_dir):
        raise IOError('%s is not a folder' % port_dir)
    checks = schema['checks']
    order = sorted(checks, key=lambda name: checks[name]['order'])
    results = OrderedDict((name, CheckResult(name, checks[name]['advisory'])) for name in order)
    notes = []
    for filename in schema['files']:
        entry = schema['files'][filename]
        path = os.path.join(port_dir, filename)
        port = _read_port(path, notes)
        golden = read_golden(golden_dir, filename, entry) if port else None
        for name, array in entry['arrays'].items():
            if array['role'] != 'output':
                continue
            result = results.setdefault(array['check'], CheckResult(array['check']))
            if port is not None and name in port:
                result.comparisons.append(
                    compare_arrays(name, golden[name], port[name], array['compare']))
            else:
                result.missing.append(name)
        if 'step' in entry['cases']:
            for check, prefix, _ in step_groups(entry):
                results[check].order = (results[check].order or []) + \
                    step_order(entry['cases']['step'], prefix)
        if port:
            unknown = [n for n in port if n not in entry['arrays']]
            if unknown:
                notes.append('%s: %d arrays not in the schema, ignored (e.g. %s)'
                             % (filename, len(unknown), ', '.join(sorted(unknown)[:3])))
            if any(results[a['check']].failures for a in entry['arrays'].values()
                   if a['role'] == 'output'):
                context = _Context(golden, port, entry, results)
                for check, hint in HINTS.get(filename, lambda ctx: [])(context):
                    results[check].hints.append(hint)
    results['curves'] = check_curves(port_dir, golden_dir, schema)
    return results, notes


def _read_port(path, notes):
    if not os.path.exists(path):
        return None
    try:
        return read_npz(path)
    except Exception as error:    # a broken file is the port's problem: report it
        notes.append('%s: cannot read (%s)' % (path, error))
        return None


def check_curves(port_dir, golden_dir, schema):
    """The curves check: every epochs*.jsonl of the port against the envelope."""
    result = CheckResult('curves')
    logs = sorted(glob.glob(os.path.join(port_dir, 'epochs*.jsonl')))
    curves = schema.get('curves', {})
    if not logs:
        result.missing.append('epochs*.jsonl')
        return result
    if not curves.get('generated'):
        result.note = 'port has %d log(s) but the goldens have no curves (%s)' % (
            len(logs), curves.get('note', 'not generated'))
        return result
    envelope = read_npz(os.path.join(golden_dir, CURVES_FILE))
    epochs = [int(e) for e in envelope['epochs']]
    for log in logs:
        name = os.path.basename(log)
        try:
            errors = _read_log(log)
        except ValueError as error:
            result.comparisons.append(Comparison(name, False, problem=str(error)))
            continue
        shared = [e for e in epochs if e in errors]
        if not shared:
            result.comparisons.append(Comparison(
                name, False, problem='no epoch in common with the envelope (epochs %d..%d)'
                % (epochs[0], epochs[-1])))
            continue
        rows = []
        for epoch in shared:
            i = epochs.index(epoch)
            low, high = float(envelope['band_low'][i]), float(envelope['band_high'][i])
            value = errors[epoch]
            rows.append((max(low - value, value - high, 0.0), epoch, value, low, high, i))
        bad = sum(1 for row in rows if row[0] > 0)
        excess, epoch, value, low, high, i = max(rows, key=lambda row: row[0])
        comparison = Comparison('%s epoch %d' % (name, epoch), bad == 0, bad, len(shared),
                                None, envelope['test_error_median'][i], value, excess,
                                0.0, 0.0)
        if bad:
            comparison.problem = ('test error %.2f%% outside [%.2f, %.2f] (our seeds: median '
                                  '%.2f%%); %d of %d epochs outside'
                                  % (value, low, high, envelope['test_error_median'][i], bad,
                                     len(shared)))
        result.comparisons.append(comparison)
    return result


def _read_log(path):
    errors = OrderedDict()
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
                errors[int(record['epoch'])] = float(record['test_error'])
            except (ValueError, KeyError, TypeError):
                raise ValueError('line %d is not a JSON object with epoch and test_error'
                                 % number)
    return errors


# ============================================================ report

STATUS_WIDTH, CHECK_WIDTH = 14, 27


def _line(status, check, text):
    return '%-*s %-*s %s' % (STATUS_WIDTH, status, CHECK_WIDTH, check, text)


def format_report(results, notes, port_dir, golden_dir):
    lines = ['conformance of %s against %s' % (port_dir, golden_dir)]
    for name, result in results.items():
        status = result.status
        lines.append(_line(status, name, result.summary()))
        if status in ('FAIL', 'WARN'):
            lead = result.lead()
            others = [c for c in result.failures if c is not lead]
            if result.first() is not None:      # the next divergences, in order
                position = dict((n, i) for i, n in enumerate(result.order))
                others.sort(key=lambda c: position.get(c.name, len(position)))
            else:
                others.sort(key=lambda c: -c.ratio)
            for comparison in others[:3]:
                lines.append(_line('', '', '  also %s' % comparison.where()))
            if len(others) > 3:
                lines.append(_line('', '', '  ... and %d more arrays' % (len(others) - 3)))
            for hint in result.hints:
                lines.append(_line('', '', '  hint: %s' % hint))
            if status == 'FAIL' and not result.hints:
                lines.append(_line('', '', '  hint: no known mistake fits; see docs/porting.md'))
    for note in notes:
        lines.append('note: ' + note)
    lines.append('RESULT: ' + overall(results)[1])
    return '\n'.join(lines)


def overall(results):
    """(word, text): FAIL when a check failed, PASS when every check was provided in full
    and matched (advisory warnings allowed), PARTIAL otherwise."""
    failed = [name for name, r in results.items() if r.failed]
    if failed:
        return 'FAIL', 'FAIL (%s)' % ', '.join(failed)
    compared = sum(len(r.comparisons) for r in results.values())
    incomplete = [name for name, r in results.items()
                  if not r.comparisons or (r.missing and not r.failures)]
    if incomplete:
        return 'PARTIAL', ('PARTIAL (%d arrays compared, no failure; incomplete or not '
                           'provided: %s)' % (compared, ', '.join(incomplete)))
    return 'PASS', 'PASS (%d arrays compared: every check provided in full)' % compared


EXIT_PASS, EXIT_FAIL, EXIT_UNUSABLE = 0, 1, 2


def run(port_dir, golden_dir=DEFAULT_GOLDEN, stream=None, require_complete=False):
    """Check, print the report, and return the exit status: 0 when nothing failed
    (PASS or PARTIAL), 1 when a check failed (or, with ``require_complete``, when the
    result is not a complete PASS); IOError when the folders cannot be used."""
    stream = stream or sys.stdout
    results, notes = check_port(port_dir, golden_dir)
    if not any(r.comparisons or r.note for r in results.values()):
        raise IOError('%s holds none of the golden files (%s) nor an epochs*.jsonl log'
                      % (port_dir, ', '.join(load_schema(golden_dir)['files'])))
    stream.write(format_report(results, notes, port_dir, golden_dir) + '\n')
    word = overall(results)[0]
    if word == 'FAIL' or (require_complete and word != 'PASS'):
        return EXIT_FAIL
    return EXIT_PASS


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m gxnor.conformance',
        description='Compare a port\'s outputs with the goldens. Exit status: 0 nothing '
                    'failed (RESULT: PASS or PARTIAL), 1 a check failed, 2 the folders '
                    'cannot be used (or bad arguments).')
    parser.add_argument('port', help='folder with the port\'s .npz files and/or epochs*.jsonl')
    parser.add_argument('--golden', default=DEFAULT_GOLDEN,
                        help='golden folder (default %s)' % DEFAULT_GOLDEN)
    parser.add_argument('--require-complete', action='store_true',
                        help='exit 1 unless every check was provided in full and passed')
    args = parser.parse_args(argv)
    try:
        return run(args.port, args.golden, require_complete=args.require_complete)
    except (IOError, OSError) as error:
        sys.stderr.write('error: %s\n' % error)
        return EXIT_UNUSABLE


if __name__ == '__main__':
    sys.exit(main())
