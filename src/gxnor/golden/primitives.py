"""The golden files of the primitives, each computed by the project's own function on
inputs chosen to hit every break point: activation.npz (phi_r and its pulse derivative,
gxnor.discretization), snap.npz (weight-space snapping), dst.npz (the discrete state
transition with its draws given, gxnor.dst), batchnorm.npz (gxnor.layers.BatchNormLayer),
adam.npz (Lasagne's Adam, gxnor.updates). ``build_<name>()`` makes the file (a GoldenFile);
``compute_<name>(cases, inputs)`` recomputes its outputs from given inputs (replay)."""
from __future__ import absolute_import, division, print_function

import math
from collections import OrderedDict

import numpy as np

from gxnor_port.schema import GoldenFile, close, exact

from .base import (ATOL, EXACT_DISCRETE, F32, RTOL, V1_SEMANTICS, as_floatx, cast32,
                   default_adam_constants, floatx, fmt, neighbours)

__all__ = ['build_activation', 'build_snap', 'build_dst', 'build_batchnorm', 'build_adam',
           'compute_activation', 'compute_snap', 'compute_dst', 'compute_batchnorm',
           'compute_adam', 'split_float32_edges_activation', 'split_float32_edges_snap']


# ============================================================ activation

ACTIVATION_PARAMS = ((1.0, 0.5, 1), (0.5, 0.25, 2), (0.25, 0.125, 3), (1.0, 1.0, 2))


def activation_cases():
    from ..settings import PULSE_SHAPES
    cases = OrderedDict()
    for shape in PULSE_SHAPES:
        for r, a, N in ACTIVATION_PARAMS:
            cases['%s_r%g_a%g_N%d' % (shape, r, a, N)] = OrderedDict(
                [('shape', shape), ('r', r), ('a', a), ('N', N)])
    return cases


def activation_grid(r, a, N):
    """A float32 grid on [-4, 4] plus every break point, its negative and neighbours."""
    from ..discretization import activation_thresholds
    breaks = [0.0]
    for t in activation_thresholds(r, N):
        breaks.extend([t, t - a, t + a])
    breaks = [b for b in breaks if b >= 0]
    points = np.concatenate([np.linspace(-4, 4, 801).astype(np.float32),
                             neighbours(breaks), -neighbours(breaks),
                             np.array([-100, -10, 10, 100], np.float32)])
    return np.unique(points.astype(np.float32))


def _activation_variants(x, r, a, N, shape):
    """(forward, derivative) of phi_r at x by formulas that are equal in exact arithmetic,
    each evaluated as a port plausibly would: ours in float32 (|x| - t_j), exact (float64),
    and for N = 1 the released expression round(hs(2(x - r)) + hs(2(x + r)) - 1),
    hs(z) = clip((z + 1)/2, 0, 1), in float32 left to right and in the order Theano 0.8.2
    compiles it, round((-1 + hs1) + hs2) (its derivative: the clip windows, closed)."""
    from ..discretization import activation_thresholds
    F = np.float32
    d = 1.0 / 2 ** (N - 1)
    thresholds = activation_thresholds(r, N)

    def ours(x, cast):
        above = np.abs(x) - cast(r)
        level = np.minimum(cast(1), cast(d) * (np.floor(above / cast(d)) + cast(1)))
        forward = np.where(above >= 0, np.sign(x) * level, cast(0))
        derivative = np.zeros_like(x)
        for t in thresholds:
            u = np.abs(x) - cast(t)
            if shape == 'rectangular':
                derivative = derivative + (np.abs(u) <= cast(a)) * cast(1 / (2 * a))
            elif shape == 'triangular':
                derivative = derivative + np.maximum(0, 1 - np.abs(u) / cast(a)) * cast(1 / a)
            elif shape == 'gaussian':
                derivative = derivative + np.exp(-u * u / cast(2 * a * a)) * cast(
                    1 / (a * math.sqrt(2 * math.pi)))
            else:
                derivative = derivative + np.exp(-np.abs(u) / cast(a)) * cast(1 / (2 * a))
        return forward.astype(np.float64), (derivative * cast(d)).astype(np.float64)

    x32 = x.astype(F)
    variants = [ours(x32, F), ours(x32.astype(np.float64), np.float64)]
    if N == 1:
        def hs(z):
            return np.clip((z + F(1)) / F(2), F(0), F(1))

        def inside(z):
            return ((z + F(1)) / F(2) >= 0) & ((z + F(1)) / F(2) <= 1)

        low, high = F(2) * (x32 - F(r)), F(2) * (x32 + F(r))
        for inner in ((hs(low) + hs(high)) - F(1), (F(-1) + hs(low)) + hs(high)):
            forward = np.sign(inner) * np.floor(np.abs(inner) + F(0.5))
            if shape == 'rectangular' and a == 0.5:
                derivative = inside(low).astype(F) + inside(high).astype(F)
            else:
                derivative = variants[0][1]
            variants.append((forward.astype(np.float64), derivative.astype(np.float64)))
    return variants


def split_float32_edges_activation(x, r, a, N, shape='rectangular'):
    """(main, edge): edge points are those where formulas equal in exact arithmetic give
    different values in float32 (evaluation order, float32 vs exact): |x| - t_j rounding
    onto a window edge, or the released sum hs1 + hs2 rounding onto the 0.5 of a tie
    (x = nextafter(1, 0): 1 left to right, 0 in Theano's order). A port matches the main
    points with any of those formulas; the edge points are advisory."""
    variants = _activation_variants(x, r, a, N, shape)
    forward, derivative = variants[0]
    edge = np.zeros(x.shape, bool)
    for other_forward, other_derivative in variants[1:]:
        edge |= other_forward != forward
        if shape == 'rectangular':
            edge |= other_derivative != derivative
        else:
            edge |= np.abs(other_derivative - derivative) > ATOL + RTOL * np.abs(derivative)
    return x[~edge], x[edge]


def compute_activation(cases, inputs):
    import theano
    import theano.tensor as T
    from ..discretization import discretize_activation
    xs, outputs, keys = [], [], []
    for case, p in cases.items():
        for suffix in ('', '_f32edge'):
            if case + '/x' + suffix not in inputs:
                continue
            x = T.vector(case + suffix)
            y = discretize_activation(x, p['r'], p['a'], p['N'], p['shape'])
            xs.append(inputs[case + '/x' + suffix])
            outputs.extend([y, T.grad(y.sum(), x)])
            keys.append((x, case, suffix))
    function = theano.function([k[0] for k in keys], outputs)
    values = function(*[as_floatx(v) for v in xs])
    result = OrderedDict()
    for index, (_, case, suffix) in enumerate(keys):
        result[case + '/forward' + suffix] = cast32(values[2 * index])
        result[case + '/derivative' + suffix] = cast32(values[2 * index + 1])
    return result


def build_activation():
    gf = GoldenFile('activation.npz', 'activation',
                    'Multi-step activation phi_r (forward) and its pulse derivative '
                    '(what back-propagation uses), per pulse shape and (r, a, N). Computed '
                    'with gxnor.discretization.discretize_activation and theano.grad, in float32.')
    cases = activation_cases()
    gf.cases = cases
    inputs = OrderedDict()
    for case, p in cases.items():
        main, edge = split_float32_edges_activation(
            activation_grid(p['r'], p['a'], p['N']), p['r'], p['a'], p['N'], p['shape'])
        inputs[case + '/x'] = main
        if edge.size:
            inputs[case + '/x_f32edge'] = edge
    outputs = compute_activation(cases, inputs)
    for case, p in cases.items():
        if case + '/x_f32edge' in inputs:
            gf.input(case + '/x_f32edge', inputs[case + '/x_f32edge'],
                     'float32 points where formulas equal in exact arithmetic disagree in '
                     'float32: |x| - t_j rounding onto a window edge (x = nextafter(0.5, 0) '
                     'for t = 1, a = 0.5), the released hs1 + hs2 rounding onto a tie '
                     '(x = nextafter(1, 0))', 'activation.float32_edges', '<case>/x_f32edge')
            gf.output(case + '/forward_f32edge', outputs[case + '/forward_f32edge'],
                      'phi_r at those points as our float32 |x| - r computes it (the '
                      'released expression compiled by Theano 0.8.2 gives the same)',
                      'activation.float32_edges',
                      exact(EXACT_DISCRETE), '<case>/forward_f32edge')
            gf.output(case + '/derivative_f32edge', outputs[case + '/derivative_f32edge'],
                      'derivative at those points: inside the window when |x| - t_j is '
                      'computed in float32', 'activation.float32_edges',
                      close(RTOL, ATOL, F32), '<case>/derivative_f32edge')
        gf.input(case + '/x', inputs[case + '/x'],
                 'float32 grid: [-4, 4] step 0.01, +-100, +-10, and every break point '
                 '(0, thresholds t_j = r + j d, window edges t_j +- a) with both float32 '
                 'neighbours, both signs (but the float32-edge points, in x_f32edge)',
                 'activation.forward', '<case>/x')
        gf.output(case + '/forward', outputs[case + '/forward'],
                  'phi_r(x): a level of Z_N^a; at |x| = t_j exactly the OUTER level',
                  'activation.forward', exact(EXACT_DISCRETE), '<case>/forward')
        if p['shape'] == 'rectangular':
            rule = exact('sum of closed-window indicators times the dyadic d/(2a): exact in '
                         'float32; a tolerance would hide an open window')
        else:
            rule = close(RTOL, ATOL, F32 + ' (exp, division)')
        gf.output(case + '/derivative', outputs[case + '/derivative'],
                  'd phi / dx as back-propagated: sum_j d * pulse_a(|x| - t_j), '
                  '|x| - t_j evaluated in float32', 'activation.derivative', rule,
                  '<case>/derivative')
    gf.notes.append('r, a are dyadic so every break point is a float32 number: the forward '
                    'values test tie semantics, not the choice among equivalent float '
                    'formulas.')
    gf.notes.append('x_f32edge (advisory check activation.float32_edges): the few float32 '
                    'points where formulas that are equal in exact arithmetic give different '
                    'values in float32, so the value depends on the evaluation order a port '
                    'happens to use: at x = nextafter(0.5, 0), |x| - 1 is -0.5 in float32 '
                    '(inside the closed window, outside in exact arithmetic); at x = '
                    'nextafter(1, 0) = 0.99999994 the released round(hs(2(x-1)) + hs(2(x+1)) '
                    '- 1) evaluated left to right in float32 gives 1 (the sum rounds to 1.5) '
                    'while Theano 0.8.2 compiles it as round((-1 + hs1) + hs2) and gets 0, as '
                    'does |x| - 1 < 0. Only values within an ulp of a break point are '
                    'affected; every other grid point is decided the same way by all those '
                    'formulas, in float32 or float64.')
    return gf


# ============================================================ snapping

def snap_cases():
    cases = OrderedDict()
    for H in (1.0, 0.5):
        for N in range(5):
            cases['H%g_N%d' % (H, N)] = OrderedDict([('H', H), ('N', N)])
    return cases


def snap_inputs(H, N, rng):
    from ..discretization import weight_states
    states = weight_states(H, N).astype(np.float64)
    midpoints = (states[1:] + states[:-1]) / 2
    special = np.concatenate([neighbours(states), neighbours(midpoints)])
    special = special[(special >= -H) & (special <= H)]
    uniform = rng.uniform(-H, H, 256).astype(np.float32)
    return np.concatenate([special, uniform]).astype(np.float32)


def split_float32_edges_snap(W, H, N):
    """(main, edge): edge values are those whose grid position (W + H)/(2H) 2^N rounds,
    in float32, onto or off a midpoint, so float32 and exact evaluation snap differently."""
    levels = 2 ** N
    in32 = ((W + np.float32(H)) / np.float32(2 * H) * np.float32(levels)).astype(np.float64)
    exact_value = (W.astype(np.float64) + H) / (2 * H) * levels
    edge = np.floor(in32 + 0.5) != np.floor(exact_value + 0.5)
    return W[~edge], W[edge]


def compute_snap(cases, inputs):
    import theano
    import theano.tensor as T
    from ..discretization import snap_to_grid
    ws, outs, keys = [], [], []
    for case, p in cases.items():
        for suffix in ('', '_f32edge'):
            if case + '/W' + suffix not in inputs:
                continue
            W = T.vector(case + suffix)
            ws.append(W)
            outs.append(snap_to_grid(W, p['H'], p['N']))
            keys.append(case + '/%s' + suffix)
    values = theano.function(ws, outs)(*[as_floatx(inputs[k % 'W']) for k in keys])
    return OrderedDict((k % 'snapped', cast32(v)) for k, v in zip(keys, values))


def build_snap():
    gf = GoldenFile('snap.npz', 'snap',
                    'Weight-space snapping round((W + H)/(2H) 2^N)/2^N 2H - H (round half away '
                    'from zero) with gxnor.discretization.snap_to_grid, for W in [-H, H].')
    gf.cases = snap_cases()
    rng = np.random.RandomState(11)
    inputs = OrderedDict()
    for case, p in gf.cases.items():
        main, edge = split_float32_edges_snap(snap_inputs(p['H'], p['N'], rng), p['H'], p['N'])
        inputs[case + '/W'] = main
        if edge.size:
            inputs[case + '/W_f32edge'] = edge
    outputs = compute_snap(gf.cases, inputs)
    gf.notes.append('W_f32edge (advisory check snap.float32_edges): float32 neighbours of a '
                    'midpoint where W + H rounds in float32 onto (or off) the midpoint, so the '
                    'released formula in float32 snaps them differently from the exact nearest '
                    'state. Only an off-grid weight within an ulp of a midpoint can meet this '
                    '(initial weights before the first update).')
    for case in gf.cases:
        if case + '/W_f32edge' in inputs:
            gf.input(case + '/W_f32edge', inputs[case + '/W_f32edge'],
                     'float32 neighbours of midpoints where float32 rounding of W + H decides',
                     'snap.float32_edges', '<case>/W_f32edge')
            gf.output(case + '/snapped_f32edge', outputs[case + '/snapped_f32edge'],
                      'what the released formula gives in float32', 'snap.float32_edges',
                      exact(EXACT_DISCRETE), '<case>/snapped_f32edge')
        gf.input(case + '/W', inputs[case + '/W'],
                 'float32 weights in [-H, H]: the states, the midpoints between neighbouring '
                 'states (ties), both float32 neighbours of each, 256 uniform values',
                 'snap', '<case>/W')
        gf.output(case + '/snapped', outputs[case + '/snapped'],
                  'nearest state of Z_N^w; a midpoint goes to the state nearer +H',
                  'snap', exact(EXACT_DISCRETE), '<case>/snapped')
    return gf


# ============================================================ DST

DST_SIZE = 1024
DST_DELTA = 1e-4     # every gate is decided by a margin |u - p| > DST_DELTA


def dst_cases():
    cases = OrderedDict()
    for H in (1.0, 0.5):
        for N in range(4):
            for m in (3.0, None):
                cases['H%g_N%d_m%s' % (H, N, fmt(m))] = OrderedDict(
                    [('H', H), ('N', N), ('m', m)])
    cases['H1_N1_m1'] = OrderedDict([('H', 1.0), ('N', 1), ('m', 1.0)])
    return cases


def dst_draw_inputs(H, N, rng, size=DST_SIZE):
    """W (on and off the grid), dW (every regime of kappa and nu), u uniform in [0, 1)."""
    from ..discretization import weight_states, weight_step
    L = weight_step(H, N)
    states = weight_states(H, N)
    W = rng.choice(states, size).astype(np.float32)
    off = rng.rand(size) < 0.2
    W[off] = rng.uniform(-H, H, off.sum())
    kind = rng.randint(0, 6, size)
    dW = np.zeros(size)
    dW[kind == 0] = rng.uniform(-L, L, (kind == 0).sum())                   # kappa = 0
    dW[kind == 1] = rng.uniform(-3.5 * L, 3.5 * L, (kind == 1).sum())       # whole steps, clip
    multiples = rng.randint(-3, 4, (kind == 2).sum()) * L                   # nu = 0, p = 0
    dW[kind == 2] = multiples
    near = rng.randint(-3, 4, (kind == 3).sum()) * L                         # nu ~ 0 or ~ L
    dW[kind == 3] = near
    dW[kind == 4] = rng.choice([-1, 1], (kind == 4).sum()) * L * 10 ** rng.uniform(
        -4, -1, (kind == 4).sum())                                           # Adam-sized steps
    dW = dW.astype(np.float32)
    neighbours = kind == 3
    up = rng.rand(size) < 0.5
    dW[neighbours & up] = np.nextafter(dW[neighbours & up], np.float32(np.inf))
    dW[neighbours & ~up] = np.nextafter(dW[neighbours & ~up], np.float32(-np.inf))
    # kind 5 stays 0: no move
    u = rng.rand(size).astype(np.float32)
    u[(kind == 2) & (rng.rand(size) < 0.5)] = 0.0     # u = 0 with p = 0: no gate (u < p)
    return W, dW, u


def compute_dst(cases, inputs):
    import theano
    import theano.tensor as T
    from ..discretization import weight_step
    from ..dst import decompose, discrete_state_transition, transition_probability
    symbols, outs = [], []
    for case, p in cases.items():
        W, dW, u = T.vector(), T.vector(), T.vector()
        L = weight_step(p['H'], p['N'])
        _, kappa, nu = decompose(dW, L)
        symbols.extend([W, dW, u])
        outs.extend([discrete_state_transition(W, dW, u, p['H'], p['N'], p['m']), kappa, nu,
                     transition_probability(nu, L, p['m'])])
    args = []
    for case in cases:
        args.extend(as_floatx(inputs[case + '/' + k]) for k in ('W', 'dW', 'u'))
    values = theano.function(symbols, outs)(*args)
    result = OrderedDict()
    for index, case in enumerate(cases):
        for offset, key in enumerate(('W_new', 'kappa', 'nu', 'p')):
            result[case + '/' + key] = cast32(values[4 * index + offset])
    return result


def _stable_dst_inputs(cases, rng):
    """Draw inputs, then redraw each u whose gate a shift of +-DST_DELTA would change."""
    inputs = OrderedDict()
    for case, p in cases.items():
        W, dW, u = dst_draw_inputs(p['H'], p['N'], rng)
        inputs.update([(case + '/W', W), (case + '/dW', dW), (case + '/u', u)])
    top = np.float32(1 - 2 ** -24)
    for attempt in range(50):
        outputs = [compute_dst(cases, inputs)]
        for shift in (-DST_DELTA, DST_DELTA):
            shifted = OrderedDict(inputs)
            for case in cases:
                shifted[case + '/u'] = np.clip(inputs[case + '/u'] + shift, 0, top).astype(
                    np.float32)
            outputs.append(compute_dst(cases, shifted))
        unstable = 0
        for case in cases:
            key = case + '/W_new'
            bad = (outputs[0][key] != outputs[1][key]) | (outputs[0][key] != outputs[2][key])
            unstable += bad.sum()
            inputs[case + '/u'][bad] = rng.rand(bad.sum()).astype(np.float32)
        if not unstable:
            return inputs
    raise RuntimeError('DST goldens: could not draw u away from the gate thresholds')


def build_dst():
    gf = GoldenFile('dst.npz', 'dst',
                    'Discrete state transition with explicit draws '
                    '(gxnor.dst.discrete_state_transition(W, dW, u, H, N, m)): '
                    'kappa = sign(dW) floor(|dW|/L), nu = dW - kappa L, p = tanh(m |nu|/L) '
                    '(m = none: p = |nu|/L), gate = u < p, '
                    'W\' = snap(clip(W + (kappa + sign(dW) gate) L, -H, H)).')
    gf.cases = dst_cases()
    rng = np.random.RandomState(12)
    inputs = _stable_dst_inputs(gf.cases, rng)
    outputs = compute_dst(gf.cases, inputs)
    gf.notes.append('u was redrawn wherever shifting it by +-%g would change the gate, so no '
                    'gate is decided by float rounding; where nu = 0 (p = 0) some u are 0 '
                    'exactly: u < p is false there (strict).' % DST_DELTA)
    for case in gf.cases:
        gf.input(case + '/W', inputs[case + '/W'],
                 'weights: 80% on the grid, 20% uniform in [-H, H] (as before the first '
                 'update)', 'dst', '<case>/W')
        gf.input(case + '/dW', inputs[case + '/dW'],
                 'proposed change: |dW| < L, up to 3.5 L (clipped), exact multiples of L '
                 '(nu = 0) and their float32 neighbours, Adam-sized steps, zeros',
                 'dst', '<case>/dW')
        gf.input(case + '/u', inputs[case + '/u'], 'uniform draws in [0, 1), one per weight',
                 'dst', '<case>/u')
        gf.output(case + '/W_new', outputs[case + '/W_new'], 'W\' after the transition',
                  'dst', exact(EXACT_DISCRETE), '<case>/W_new')
        gf.output(case + '/kappa', outputs[case + '/kappa'], 'kappa (signed whole steps)',
                  'dst', exact(EXACT_DISCRETE), '<case>/kappa')
        gf.output(case + '/nu', outputs[case + '/nu'], 'nu = dW - kappa L (float32)', 'dst',
                  close(RTOL, ATOL, F32), '<case>/nu')
        gf.output(case + '/p', outputs[case + '/p'], 'transition probability p', 'dst',
                  close(RTOL, ATOL, F32 + ' (tanh)'), '<case>/p')
    return gf


# ============================================================ batch norm

BN_SHAPES = OrderedDict([('2d', (16, 5)), ('4d', (8, 3, 4, 5))])
BN_STEPS = 4
BN_EPSILON, BN_ALPHA = 1e-4, 0.1


def compute_batchnorm(cases, inputs):
    import lasagne
    import theano
    import theano.tensor as T
    from ..layers import BatchNormLayer
    result = OrderedDict()
    for case, p in cases.items():
        shape = tuple(p['shape'])
        x = T.TensorType(floatx(), (False,) * len(shape))('x')
        layer = BatchNormLayer(lasagne.layers.InputLayer((None,) + shape[1:], input_var=x),
                               epsilon=p['epsilon'], alpha=p['alpha'])
        layer.gamma.set_value(as_floatx(inputs[case + '/gamma']))
        layer.beta.set_value(as_floatx(inputs[case + '/beta']))
        train = theano.function([x], lasagne.layers.get_output(layer, deterministic=False))
        test = theano.function([x], lasagne.layers.get_output(layer, deterministic=True))
        for step in range(1, p['steps'] + 1):
            prefix = '%s/step%d/' % (case, step)
            result[prefix + 'output'] = cast32(train(as_floatx(inputs[prefix + 'x'])))
            result[prefix + 'mean'] = cast32(layer.mean.get_value())
            result[prefix + 'inv_std'] = cast32(layer.inv_std.get_value())
        result[case + '/test/output'] = cast32(test(as_floatx(inputs[case + '/test/x'])))
    return result


def build_batchnorm():
    gf = GoldenFile('batchnorm.npz', 'batchnorm',
                    'gxnor.layers.BatchNormLayer (Lasagne 0.2.dev1 semantics, epsilon 1e-4, '
                    'alpha 0.1): normalise over every axis but 1 with the batch mean and '
                    'inv_std = 1/sqrt(biased var + epsilon); running mean and running '
                    'inv_std move by r = (1 - alpha) r + alpha r_batch (from 0 and 1); the test '
                    'pass uses the running values.')
    rng = np.random.RandomState(13)
    inputs = OrderedDict()
    for case, shape in BN_SHAPES.items():
        gf.cases[case] = OrderedDict([('shape', list(shape)), ('epsilon', BN_EPSILON),
                                      ('alpha', BN_ALPHA), ('steps', BN_STEPS)])
        channels = shape[1]
        inputs[case + '/gamma'] = rng.uniform(0.5, 2, channels).astype(np.float32)
        inputs[case + '/beta'] = rng.uniform(-1, 1, channels).astype(np.float32)
        offsets = rng.uniform(-3, 3, channels).reshape([1, -1] + [1] * (len(shape) - 2))
        for step in range(1, BN_STEPS + 1):
            inputs['%s/step%d/x' % (case, step)] = (
                rng.standard_normal(shape) * (0.5 * step) + offsets).astype(np.float32)
        inputs[case + '/test/x'] = (rng.standard_normal(shape) + offsets).astype(np.float32)
    outputs = compute_batchnorm(gf.cases, inputs)
    for name, value in inputs.items():
        case, rest = name.split('/', 1)
        meaning = {'gamma': 'scale gamma (trainable), per channel',
                   'beta': 'shift beta (trainable), per channel',
                   'test/x': 'input of the deterministic (test) pass after the last step'}.get(
            rest, 'input of training step %s (scale grows with the step)' % rest.split('/')[0][4:])
        gf.input(name, value, meaning, 'batchnorm',
                 '<case>/' + ('step<k>/x' if rest.startswith('step') else rest))
    for name, value in outputs.items():
        case, rest = name.split('/', 1)
        field = rest.split('/')[-1]
        meaning = {'output': 'training-mode output (batch statistics)',
                   'mean': 'running mean after the step',
                   'inv_std': 'running inverse std after the step (inv_std itself is averaged)'
                   }[field]
        if rest == 'test/output':
            meaning = 'deterministic output with the running statistics after the last step'
        gf.output(name, value, meaning, 'batchnorm',
                  close(1e-5, 1e-5, F32 + ' in means and variances over the batch'),
                  '<case>/' + ('step<k>/' + field if rest.startswith('step') else rest))
    return gf


# ============================================================ Adam

ADAM_SIZE = 256
ADAM_STEPS = 3


def compute_adam(cases, inputs):
    import theano
    import theano.tensor as T
    from ..updates import adam
    result = OrderedDict()
    for case, p in cases.items():
        theta = theano.shared(as_floatx(inputs[case + '/theta0']), name='theta')
        g = T.vector('g')
        lr = T.scalar('lr')
        updates = adam([g], [theta], lr,
                       constants=p.get('constants', V1_SEMANTICS['adam_constants']))
        keys = list(updates.keys())
        if len(keys) != 4 or keys[2] is not theta or keys[3].ndim != 0:
            raise RuntimeError('unexpected Lasagne adam update layout: %r' % (keys,))
        m, v, t = keys[0], keys[1], keys[3]
        step = theano.function([g, lr], [], updates=updates)
        for k in range(1, p['steps'] + 1):
            prefix = '%s/step%d/' % (case, k)
            step(as_floatx(inputs[prefix + 'grad']), as_floatx(inputs[case + '/lr']))
            result[prefix + 'theta'] = cast32(theta.get_value())
            result[prefix + 'm'] = cast32(m.get_value())
            result[prefix + 'v'] = cast32(v.get_value())
            result[prefix + 't'] = cast32(t.get_value())
    return result


def build_adam():
    gf = GoldenFile('adam.npz', 'adam',
                    'Lasagne adam (gxnor.updates.adam): t += 1; a_t = lr sqrt(1 - b2^t)/(1 - '
                    'b1^t); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; '
                    'theta -= a_t m/(sqrt(v) + 1e-8); b1 = 0.9, b2 = 0.999; m = v = t = 0 at '
                    'the start. Everything in float32 (1 - b2^t too). Case field constants: '
                    'float32 = 1 - b1 and 1 - b2 computed in float32 (0.100000024, '
                    '0.0009999871: Lasagne 0.2.dev1 of 2016-06), python = the float32 '
                    'constants 0.1 and 0.001 (Lasagne 0.1); the tolerances pass both.')
    rng = np.random.RandomState(14)
    inputs = OrderedDict()
    theta0 = rng.standard_normal(ADAM_SIZE).astype(np.float32)
    grads = []
    for step in range(ADAM_STEPS):
        magnitude = 10 ** rng.uniform(-12, 1, ADAM_SIZE)
        g = rng.choice([-1.0, 1.0], ADAM_SIZE) * magnitude
        g[:8] = 0.0
        grads.append(g.astype(np.float32))
    grads[1][8:40] = -grads[0][8:40]            # a sign change between steps
    for lr in (0.01, 0.0):
        case = 'lr%g' % lr
        gf.cases[case] = OrderedDict([('lr', lr), ('steps', ADAM_STEPS), ('beta1', 0.9),
                                      ('beta2', 0.999), ('epsilon', 1e-8),
                                      ('constants', default_adam_constants())])
        inputs[case + '/theta0'] = theta0
        inputs[case + '/lr'] = np.float32(lr)
        for step, g in enumerate(grads, 1):
            inputs['%s/step%d/grad' % (case, step)] = g
    outputs = compute_adam(gf.cases, inputs)
    meanings = {'theta0': 'parameter before the first step (standard normal)',
                'lr': 'learning rate (float32 scalar)',
                'grad': 'gradient of the step: magnitudes 1e-12 .. 10 (so epsilon matters), '
                        'random signs, 8 zeros'}
    for name, value in inputs.items():
        field = name.split('/')[-1]
        gf.input(name, value, meanings[field], 'adam',
                 '<case>/step<k>/grad' if field == 'grad' else '<case>/' + field)
    for name, value in outputs.items():
        field = name.split('/')[-1]
        if field == 't':
            rule, meaning = exact('step counter'), 'step counter t after the step'
        elif field == 'theta':
            rule = close(1e-5, 1e-5, F32 + '; 1 - b2^t in float32 or float64 moves steps '
                                           'of 0.01 by 2e-7')
            meaning = 'parameter after the step'
        else:
            rule = close(1e-4, 0.0, F32 + '; relative only, values span 1e-27 .. 10')
            meaning = {'m': 'first moment after the step', 'v': 'second moment after the step'}[
                field]
        gf.output(name, value, meaning, 'adam', rule, '<case>/step<k>/' + field)
    return gf
