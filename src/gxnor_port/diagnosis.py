"""Which catalogued mistake explains a failing check: each candidate mistake is re-enacted
on the golden inputs by its NumPy model (mistakes) and compared with what the port wrote;
a mistake whose model matches the port within MODEL_SLACK times the golden tolerance (and
differs from the goldens) is named in the report.

``hints(filename, golden, port, entry, results)`` gives the (check, hint) pairs of one file.
"""
from __future__ import absolute_import, division, print_function

from collections import OrderedDict

import numpy as np

from .compare import aligned
from .mistakes import (ACTIVATION_HINTS, ADAM_MISTAKES, BATCHNORM_MISTAKES, DST_MISTAKES,
                       SNAP_HINTS, TRAIN_STEP_HINTS, adam_model, batchnorm_model,
                       correlate_valid, dst_model, snap_model)
from .schema import step_groups

__all__ = ['MODEL_SLACK', 'hints']

MODEL_SLACK = 10.0     # a mistake model "explains" a port within 10x the golden tolerance


def _explains(model, port, rules):
    """True when every provided array ``name`` is within MODEL_SLACK x tolerance of model."""
    checked = 0
    for name, value in port.items():
        if name not in model or name not in rules:
            continue
        golden_rule = rules[name]
        golden, port_value, problem = aligned(model[name], value)
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
            hints.append(('activation.forward', ACTIVATION_HINTS['inner_level']))
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
            hints.append(('activation.derivative', ACTIVATION_HINTS['open_window']))
            break
        nonzero = golden != 0
        if nonzero.any():
            ratios = port[nonzero] / golden[nonzero]
            if np.allclose(ratios, ratios[0], rtol=1e-4) and not np.isclose(ratios[0], 1):
                k = ratios[0]
                if np.isclose(k, 2 * p['a']) and p['shape'] == 'rectangular':
                    text = ACTIVATION_HINTS['pulse_height']
                elif np.isclose(k, 1 / d):
                    text = ACTIVATION_HINTS['no_factor_d']
                else:
                    text = ACTIVATION_HINTS['scaled'] % k
                hints.append(('activation.derivative', text))
                break
    if ctx.failed_in('activation.float32_edges'):
        hints.append(('activation.float32_edges', ACTIVATION_HINTS['float32_edges']))
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
        half_even = snap_model(W, p['H'], p['N'], half_even=True).astype(np.float64)
        if np.array_equal(port[off], half_even[off]) and np.any(half_even != golden):
            hints.append(('snap', SNAP_HINTS['half_even']))
            break
    if ctx.failed_in('snap.float32_edges'):
        hints.append(('snap.float32_edges', SNAP_HINTS['float32_edges']))
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
    start, port, problem = aligned(ctx.golden[before], ctx.port[name])
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


def hints(filename, golden, port, entry, results):
    """(check, hint) pairs for the failing checks of one golden file: ``golden`` and
    ``port`` its arrays, ``entry`` its schema entry, ``results`` check -> CheckResult."""
    diagnose = HINTS.get(filename)
    if diagnose is None:
        return []
    return diagnose(_Context(golden, port, entry, results))
