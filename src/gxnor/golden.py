"""Golden vectors: inputs, and the outputs THIS code computes from them, for ports to match.

``python -m gxnor.golden --out results/golden/v2`` writes one ``.npz`` per primitive,
``schema.json`` (every array: file, name, shape, dtype, role, meaning, comparison rule)
and ``SCHEMA.md`` (the same, for people). Every output is computed by calling the
project's own functions (discretization, dst, layers, updates, models, graphs): the
goldens describe the code under test, not a second implementation of it.

* ``activation.npz``  phi_r forward and pulse derivative, 4 shapes x 4 (r, a, N), on float32
  grids holding every break point and its float32 neighbours;
* ``snap.npz``        weight-space snapping, N = 0..4, H in {1, 0.5};
* ``dst.npz``         discrete state transition with its uniform draws ``u`` given;
* ``batchnorm.npz``   Lasagne-0.2 batch norm, 2D and 4D, four training steps and a test pass;
* ``adam.npz``        Lasagne's Adam, three steps (LR 0.01 and LR 0);
* ``train_step.npz``  two updates of the MNIST net on a fixed mini-batch with fixed DST draws,
  once per max-pool gradient rule (cases pool_one, pool_all): step 1 at LR = 0 (snap only,
  as the released epoch 0), step 2 at LR = 0.01 from the state step 1 left; loss, every
  layer's output, every gradient, every updated parameter, batch-norm statistic and Adam
  state, and the deterministic pass after each step;
* ``curves.npz``      (with ``--curves-data-dir``) test error per epoch of the first K MNIST
  epochs for several seeds, and their envelope.

Writing is deterministic: arrays in sorted order inside zip files with fixed timestamps,
JSON with sorted keys; the same code regenerates byte-identical files.

Versions: VERSION is what this code writes (2); a folder holding another version is never
rewritten. v1 (results/golden/v1) was made with pool_grad all and Lasagne 0.1's Adam
constants (V1_SEMANTICS) and is replayed with them.

``python -m gxnor.golden --replay results/golden/v2 --out DIR`` runs this code as if it were
a port: it reads the golden INPUTS and writes the outputs it computes in the port layout
(``python -m gxnor.conformance DIR`` then compares them). Under ``THEANO_FLAGS=floatX=float64``
that is a float64 port, which is how the tolerances in ``docs/porting.md`` were measured;
``--kernels theano`` computes the training step with Theano's own ops.
"""
from __future__ import absolute_import, division, print_function

import argparse
import io
import json
import math
import os
import shutil
import sys
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

__all__ = ['FORMAT', 'VERSION', 'PRIMITIVE_FILES', 'CURVES_FILE', 'SCHEMA_FILE',
           'write_npz', 'read_npz', 'read_golden', 'write_json', 'generate', 'replay',
           'generate_curves', 'curve_envelope', 'curves_schema', 'render_schema_markdown',
           'main']

FORMAT = 'gxnor-golden'
VERSION = 2
SCHEMA_FILE = 'schema.json'
SCHEMA_MD = 'SCHEMA.md'
CURVES_FILE = 'curves.npz'
PRIMITIVE_FILES = ('activation.npz', 'snap.npz', 'dst.npz', 'batchnorm.npz', 'adam.npz',
                   'train_step.npz')

# Curves: a port's test error may leave the seeds' [min, max] by this much (percentage
# points) or by the envelope's own width, whichever is larger (see docs/porting.md).
CURVE_MIN_MARGIN = 1.0

ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# One case per max-pool gradient rule (case name -> pool_grad), the default first.
TRAIN_RULES = OrderedDict([('pool_one', 'one'), ('pool_all', 'all')])
# The checks, in the order a port should pass them: (advisory, what it covers).
# An advisory check is reported (WARN) but does not fail a port.
CHECKS = OrderedDict([
    ('activation.forward', (False, 'phi_r forward values, ties at the thresholds')),
    ('activation.derivative', (False, 'pulse derivative approximation')),
    ('activation.float32_edges', (True, 'points where equivalent formulas differ in float32 '
                                        '(evaluation order)')),
    ('snap', (False, 'weight-space snapping, ties at the midpoints')),
    ('snap.float32_edges', (True, 'snapping where W + H rounds in float32')),
    ('dst', (False, 'discrete state transition with given draws')),
    ('batchnorm', (False, 'Lasagne-0.2 batch norm: outputs and running statistics')),
    ('adam', (False, 'Lasagne Adam, three steps')),
])
for _case, _pool in TRAIN_RULES.items():
    CHECKS['train_step.step1.' + _case] = (
        False, 'MNIST net, pool_grad %s: one update at LR = 0 (snap only)' % _pool)
    CHECKS['train_step.step2.' + _case] = (
        False, 'MNIST net, pool_grad %s: one update at LR = 0.01 from the step-1 state' % _pool)
CHECKS['curves'] = (False, 'test error per epoch inside the envelope of our seeds')


# ============================================================ deterministic files

def write_npz(path, arrays):
    """Write ``arrays`` (name -> array) as an .npz that ``np.load`` reads.

    Unlike ``np.savez`` the bytes depend only on the arrays: members in sorted name order,
    fixed timestamps and attributes, deflate compression.
    """
    from .files import atomic_write

    def write(handle):
        archive = zipfile.ZipFile(handle, 'w', zipfile.ZIP_DEFLATED)
        try:
            for name in sorted(arrays):
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asarray(arrays[name], order='C'),
                                          allow_pickle=False)
                info = zipfile.ZipInfo(name + '.npy', date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = 0o644 << 16
                archive.writestr(info, buffer.getvalue())
        finally:
            archive.close()
    return atomic_write(path, write)


def read_npz(path):
    """All arrays of an .npz as an OrderedDict (sorted by name)."""
    with np.load(path, allow_pickle=False) as data:
        return OrderedDict((name, data[name]) for name in sorted(data.files))


def read_golden(golden_dir, filename, entry=None):
    """The arrays of a golden file, each schema name resolved: an array whose schema entry
    says ``same_as`` is stored once, under that other name of the same file (v2 stores
    arrays that two cases share only once)."""
    if entry is None:
        entry = load_schema(golden_dir)['files'][filename]
    arrays = read_npz(os.path.join(golden_dir, filename))
    for name, array in entry['arrays'].items():
        if name not in arrays and array.get('same_as'):
            if array['same_as'] not in arrays:
                raise IOError('%s: %s refers to %s, which is not in the file'
                              % (filename, name, array['same_as']))
            arrays[name] = arrays[array['same_as']]
    return arrays


def write_json(path, value):
    from .files import atomic_write
    text = json.dumps(value, sort_keys=True, indent=1, separators=(',', ': ')) + '\n'
    return atomic_write(path, lambda handle: handle.write(text.encode('utf-8')))


# ============================================================ comparison rules

def exact(why):
    return OrderedDict([('rule', 'exact'), ('why', why)])


def close(rtol, atol, why):
    """``|port - golden| <= atol + rtol |golden|`` elementwise."""
    return OrderedDict([('rule', 'close'), ('rtol', float(rtol)), ('atol', float(atol)),
                        ('why', why)])


F32 = 'float32 arithmetic: rounding of a few ulps between implementations'
EXACT_DISCRETE = 'discrete value (a level, a grid state, a count or an index)'
# Elementwise float32 math (activation derivatives, batch norm, Adam).
RTOL, ATOL = 1e-5, 1e-6


def _scaled(array, factor, floor=0.0):
    """``factor * max|array|`` (at least ``floor``), rounded up to 2 significant digits."""
    scale = float(np.max(np.abs(array))) if np.size(array) else 0.0
    value = max(factor * scale, floor)
    if value == 0:
        return 0.0
    digits = 10 ** (math.floor(math.log10(value)) - 1)
    return float('%.3g' % (math.ceil(value / digits) * digits))


class GoldenFile(object):
    """The arrays of one .npz and their schema entries."""

    def __init__(self, filename, primitive, description):
        self.filename = filename
        self.primitive = primitive
        self.description = description
        self.arrays = OrderedDict()
        self.entries = OrderedDict()
        self.cases = OrderedDict()
        self.notes = []

    def add(self, name, value, role, meaning, check, compare=None, pattern=None):
        value = np.asarray(value)
        entry = OrderedDict([('role', role), ('shape', list(value.shape)),
                             ('dtype', str(value.dtype)), ('meaning', meaning),
                             ('check', check), ('pattern', pattern or name)])
        if role == 'output':
            entry['compare'] = compare
        self.arrays[name] = value
        self.entries[name] = entry

    def input(self, name, value, meaning, check, pattern=None):
        self.add(name, value, 'input', meaning, check, pattern=pattern)

    def output(self, name, value, meaning, check, compare, pattern=None):
        self.add(name, value, 'output', meaning, check, compare, pattern)

    def alias(self, name, same_as, value, meaning, check, compare, pattern=None):
        """An output equal to the stored output ``same_as``: described, not stored again."""
        self.add(name, value, 'output', meaning, check, compare, pattern)
        del self.arrays[name]
        self.entries[name]['same_as'] = same_as

    def schema(self):
        return OrderedDict([('primitive', self.primitive), ('description', self.description),
                            ('cases', self.cases), ('notes', self.notes),
                            ('arrays', self.entries)])


def _floatx():
    import theano
    return theano.config.floatX


def _as_floatx(value):
    return np.asarray(value, dtype=_floatx())


def _cast32(value):
    """Outputs are stored in float32 (golden) whatever floatX computed them."""
    value = np.asarray(value)
    return value.astype(np.float32) if value.dtype.kind == 'f' else value


def _neighbours(values):
    """Each float32 value with its two float32 neighbours."""
    out = []
    for value in values:
        v = np.float32(value)
        out.extend([v, np.nextafter(v, np.float32(np.inf)), np.nextafter(v, np.float32(-np.inf))])
    return np.array(out, dtype=np.float32)


def _fmt(value):
    return 'none' if value is None else '%g' % value


# ============================================================ activation

ACTIVATION_PARAMS = ((1.0, 0.5, 1), (0.5, 0.25, 2), (0.25, 0.125, 3), (1.0, 1.0, 2))


def activation_cases():
    from .discretization import PULSE_SHAPES
    cases = OrderedDict()
    for shape in PULSE_SHAPES:
        for r, a, N in ACTIVATION_PARAMS:
            cases['%s_r%g_a%g_N%d' % (shape, r, a, N)] = OrderedDict(
                [('shape', shape), ('r', r), ('a', a), ('N', N)])
    return cases


def activation_grid(r, a, N):
    """A float32 grid on [-4, 4] plus every break point, its negative and neighbours."""
    from .discretization import activation_thresholds
    breaks = [0.0]
    for t in activation_thresholds(r, N):
        breaks.extend([t, t - a, t + a])
    breaks = [b for b in breaks if b >= 0]
    points = np.concatenate([np.linspace(-4, 4, 801).astype(np.float32),
                             _neighbours(breaks), -_neighbours(breaks),
                             np.array([-100, -10, 10, 100], np.float32)])
    return np.unique(points.astype(np.float32))


def _activation_variants(x, r, a, N, shape):
    """(forward, derivative) of phi_r at x by formulas that are equal in exact arithmetic,
    each evaluated as a port plausibly would: ours in float32 (|x| - t_j), exact (float64),
    and for N = 1 the released expression round(hs(2(x - r)) + hs(2(x + r)) - 1),
    hs(z) = clip((z + 1)/2, 0, 1), in float32 left to right and in the order Theano 0.8.2
    compiles it, round((-1 + hs1) + hs2) (its derivative: the clip windows, closed)."""
    from .discretization import activation_thresholds
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
    from .discretization import discretize_activation
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
    values = function(*[_as_floatx(v) for v in xs])
    result = OrderedDict()
    for index, (_, case, suffix) in enumerate(keys):
        result[case + '/forward' + suffix] = _cast32(values[2 * index])
        result[case + '/derivative' + suffix] = _cast32(values[2 * index + 1])
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
    from .discretization import weight_states
    states = weight_states(H, N).astype(np.float64)
    midpoints = (states[1:] + states[:-1]) / 2
    special = np.concatenate([_neighbours(states), _neighbours(midpoints)])
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
    from .discretization import snap_to_grid
    ws, outs, keys = [], [], []
    for case, p in cases.items():
        for suffix in ('', '_f32edge'):
            if case + '/W' + suffix not in inputs:
                continue
            W = T.vector(case + suffix)
            ws.append(W)
            outs.append(snap_to_grid(W, p['H'], p['N']))
            keys.append(case + '/%s' + suffix)
    values = theano.function(ws, outs)(*[_as_floatx(inputs[k % 'W']) for k in keys])
    return OrderedDict((k % 'snapped', _cast32(v)) for k, v in zip(keys, values))


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
                cases['H%g_N%d_m%s' % (H, N, _fmt(m))] = OrderedDict(
                    [('H', H), ('N', N), ('m', m)])
    cases['H1_N1_m1'] = OrderedDict([('H', 1.0), ('N', 1), ('m', 1.0)])
    return cases


def dst_draw_inputs(H, N, rng, size=DST_SIZE):
    """W (on and off the grid), dW (every regime of kappa and nu), u uniform in [0, 1)."""
    from .discretization import weight_states, weight_step
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
    from .discretization import weight_step
    from .dst import decompose, discrete_state_transition, transition_probability
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
        args.extend(_as_floatx(inputs[case + '/' + k]) for k in ('W', 'dW', 'u'))
    values = theano.function(symbols, outs)(*args)
    result = OrderedDict()
    for index, case in enumerate(cases):
        for offset, key in enumerate(('W_new', 'kappa', 'nu', 'p')):
            result[case + '/' + key] = _cast32(values[4 * index + offset])
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
    from .layers import BatchNormLayer
    result = OrderedDict()
    for case, p in cases.items():
        shape = tuple(p['shape'])
        x = T.TensorType(_floatx(), (False,) * len(shape))('x')
        layer = BatchNormLayer(lasagne.layers.InputLayer((None,) + shape[1:], input_var=x),
                               epsilon=p['epsilon'], alpha=p['alpha'])
        layer.gamma.set_value(_as_floatx(inputs[case + '/gamma']))
        layer.beta.set_value(_as_floatx(inputs[case + '/beta']))
        train = theano.function([x], lasagne.layers.get_output(layer, deterministic=False))
        test = theano.function([x], lasagne.layers.get_output(layer, deterministic=True))
        for step in range(1, p['steps'] + 1):
            prefix = '%s/step%d/' % (case, step)
            result[prefix + 'output'] = _cast32(train(_as_floatx(inputs[prefix + 'x'])))
            result[prefix + 'mean'] = _cast32(layer.mean.get_value())
            result[prefix + 'inv_std'] = _cast32(layer.inv_std.get_value())
        result[case + '/test/output'] = _cast32(test(_as_floatx(inputs[case + '/test/x'])))
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
    from .updates import adam
    result = OrderedDict()
    for case, p in cases.items():
        theta = theano.shared(_as_floatx(inputs[case + '/theta0']), name='theta')
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
            step(_as_floatx(inputs[prefix + 'grad']), _as_floatx(inputs[case + '/lr']))
            result[prefix + 'theta'] = _cast32(theta.get_value())
            result[prefix + 'm'] = _cast32(m.get_value())
            result[prefix + 'v'] = _cast32(v.get_value())
            result[prefix + 't'] = _cast32(t.get_value())
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
                                      ('constants', _default_adam_constants())])
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


# ============================================================ one training step of the MNIST net

# What the v1 goldens were computed with (the defaults before the fidelity work):
# Theano-CPU max-pool ties and Lasagne 0.1's Adam constants. A train_step file without
# rule cases (v1) is replayed with these.
V1_SEMANTICS = OrderedDict([('pool_grad', 'all'), ('adam_constants', 'python')])

STEP_BATCH = 16
POOL_RULE_TEXT = {
    'one': 'a 2x2 max-pool window\'s gradient goes to its first maximum in row-major order '
           '(cuDNN, PyTorch, Caffe)',
    'all': 'a 2x2 max-pool window\'s gradient goes to every element equal to its maximum '
           '(Theano 0.8.2 CPU)'}
# Initial Adam moments of the biases: |m| log-uniform in [1e-3, 1e-2], m/sqrt(v) in
# [0.5, 1]: the step-2 change of b is then about 1e-3 to 2e-3, whatever the float noise of
# the bias gradients (see build_train_step's notes).
BIAS_MOMENTS = (1e-3, 1e-2, 0.5, 1.0)
# b after step 2: the largest deviation from the goldens measured for correct
# implementations (the NumPy example port with a float64 or float32 backward pass and
# either Adam constants, this code in float64; docs/porting.md "The bias tolerance") was
# 3.2e-8; the tolerance is never below 10x that, and is otherwise what the gradient
# tolerance lets through (_bias_tolerance).
BIAS_SPREAD = 3.2e-8
STEP_LRS = (0.0, 0.01)
STEP_SEED = 1001          # first seed tried for the batch; see _search_train_step
STEP_SEARCH = 400
ACT_MARGIN = 1e-5         # every pre-activation is this far from every break point
POOL_MARGIN = 1e-5        # every pool window's top-2 gap is 0 or larger than this (relative)
PRED_MARGIN = 1e-4        # every output row's top-2 gap is larger than this
U_DELTA = 1e-4            # shifting any u by this much changes no gate
SIGN_MARGIN = 1e-4        # |Adam m| below this x max|m| of its tensor: u set to U_SAFE
U_SAFE = np.float32(0.999)  # above tanh(3) = 0.995: such a gate never fires


class _GivenUniforms(object):
    """Stands in for MRG_RandomStreams: ``uniform`` returns the given draws of each weight.

    gxnor.dst.dst_update calls ``srng.uniform(size=W.shape, dtype=W.dtype)`` once per discrete
    W; the W is recognised through ``size`` (the Shape of W), else by call order.
    """

    def __init__(self, draws):
        self.draws = draws          # OrderedDict W -> shared u
        self.calls = []
        self.state_updates = []

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None):
        if low != 0.0 or high != 1.0:
            raise RuntimeError('expected uniform draws in [0, 1)')
        owner = getattr(size, 'owner', None)
        weight = owner.inputs[0] if owner is not None and owner.inputs else None
        if weight not in self.draws:
            weight = list(self.draws)[len(self.calls)]
        self.calls.append(weight)
        return self.draws[weight]


def _layer_kind(layer):
    """conv, dense, pool, bn, act, or the class name (lower case)."""
    import lasagne
    from .layers import BatchNormLayer, DiscreteActivationLayer
    if isinstance(layer, lasagne.layers.Conv2DLayer):
        return 'conv'
    if isinstance(layer, lasagne.layers.DenseLayer):
        return 'dense'
    if isinstance(layer, BatchNormLayer):
        return 'bn'
    if isinstance(layer, DiscreteActivationLayer):
        return 'act'
    if 'maxpool' in type(layer).__name__.lower():
        return 'pool'
    return type(layer).__name__.lower()


def _layer_names(network):
    """OrderedDict layer -> conv1, pool1, bn1, act1, conv2, ..., dense3, ..., bn4."""
    import lasagne
    names = OrderedDict()
    block = 0
    for layer in lasagne.layers.get_all_layers(network):
        if isinstance(layer, lasagne.layers.InputLayer):
            continue
        kind = _layer_kind(layer)
        if kind in ('conv', 'dense'):
            block += 1
        name = '%s%d' % (kind, block)
        while name in names.values():
            name += '_'
        names[layer] = name
    return names


class MnistStep(object):
    """The MNIST net of models.build_network with TrainingGraph, its DST draws given.

    ``run(state, u, x, targets, lr)`` sets every shared variable, then evaluates the loss,
    every layer's training-mode output and every gradient (without touching the state),
    applies ONE call of the production training function ``TrainingGraph.train``, and
    evaluates the deterministic pass with the new state.
    """

    def __init__(self, config=None, pool_grad=None, adam_constants=None, kernels=None):
        import lasagne
        import theano
        import theano.tensor as T
        from .experiments import configure
        from .graphs import TrainingGraph, squared_hinge
        from .layers import discrete_weight_spaces
        from .models import build_network
        self.config = OrderedDict(config or configure('mnist'))
        c = self.config
        if pool_grad is not None:
            c['pool_grad'] = pool_grad
        if adam_constants is not None:
            c['adam_constants'] = adam_constants
        if kernels is not None:
            c['kernels'] = kernels
        self.rule = OrderedDict((k, c[k]) for k in V1_SEMANTICS)
        x = T.tensor4('x')
        targets = T.matrix('targets')
        self.network = build_network(
            c['architecture'], x, discrete=c['discrete'], H=c['H'], N=c['N'],
            act_r=c['act_r'], act_a=c['act_a'], act_N=c['act_N'], pulse_shape=c['pulse'],
            bn_epsilon=c['bn_epsilon'], bn_alpha=c['bn_alpha'], pool_grad=c['pool_grad'],
            kernels=c['kernels'], act_grad=c['act_grad'])
        self.layer_names = _layer_names(self.network)
        self.param_names = OrderedDict()
        for layer, name in self.layer_names.items():
            for param in layer.get_params():
                self.param_names[param] = '%s.%s' % (name, param.name)
        self.discrete = OrderedDict(
            (W, self.param_names[W]) for W, _ in discrete_weight_spaces(self.network))
        self.draws = OrderedDict(
            (W, theano.shared(np.zeros(W.get_value().shape, dtype=W.dtype),
                              name=name + '.u'))
            for W, name in self.discrete.items())
        srng = _GivenUniforms(self.draws)
        self.graph = TrainingGraph(self.network, x, m=c['m'], random_search=c['random_search'],
                                   c_prob=c['c_prob'], srng=srng,
                                   adam_constants=c['adam_constants'], kernels=c['kernels'])
        if len(srng.calls) != len(self.discrete) or set(srng.calls) != set(self.discrete):
            raise RuntimeError('the updates drew uniforms %d times for %d discrete weights'
                               % (len(srng.calls), len(self.discrete)))
        self.state = self._state_variables()

        layers = list(self.layer_names)
        self.trainable = lasagne.layers.get_all_params(self.network, trainable=True)
        outs = lasagne.layers.get_output(layers, deterministic=False)
        loss = squared_hinge(outs[-1], targets)
        grads = T.grad(loss, self.trainable)
        self.probe = theano.function([x, targets], [loss] + grads + outs
                                     + [T.argmax(outs[-1], axis=1)], no_default_updates=True)
        evals = lasagne.layers.get_output(layers, deterministic=True)
        self.evaluate = theano.function([x], evals + [T.argmax(evals[-1], axis=1)])
        # what the margin checks look at: inputs of the activations and of the pools
        self.pre_activation = [layers.index(l.input_layer) for l in layers
                               if _layer_kind(l) == 'act']
        self.pool_input = [layers.index(l.input_layer) for l in layers
                           if _layer_kind(l) == 'pool']

    def _state_variables(self):
        """name -> shared variable: parameters, BN statistics, both Adams' m, v and t."""
        state = OrderedDict((name, param) for param, name in self.param_names.items())
        pending = []
        last = None
        for variable in self.graph.updates.updates:
            if variable in self.param_names:
                if len(pending) != 2:
                    raise RuntimeError('unexpected Adam update layout before %s'
                                       % self.param_names[variable])
                name = self.param_names[variable]
                state[name + '.adam_m'], state[name + '.adam_v'] = pending
                pending = []
                last = variable
            elif variable.ndim == 0:
                which = 'discrete' if last in self.discrete else 'others'
                state['adam_%s.t' % which] = variable
            else:
                pending.append(variable)
        if pending:
            raise RuntimeError('unexpected Adam update layout at the end')
        return state

    def set_state(self, values):
        for name, variable in self.state.items():
            variable.set_value(np.asarray(values[name], dtype=variable.dtype))

    def get_state(self):
        return OrderedDict((name, v.get_value()) for name, v in self.state.items())

    def initial_state(self, rng, bias_moments=False):
        """Lasagne's initial values, except the weights: Uniform(-H, H) on a 1/16 grid; with
        ``bias_moments`` the biases' Adam moments start from a history (see BIAS_MOMENTS)."""
        H = self.config['H']
        values = OrderedDict()
        for name, variable in self.state.items():
            value = variable.get_value()
            if variable in self.discrete:
                value = rng.randint(-16, 17, value.shape) / 16.0 * H
            elif name.endswith('.gamma') or name.endswith('.inv_std'):
                value = np.ones_like(value)
            else:
                value = np.zeros_like(value)
            values[name] = np.asarray(value, dtype=np.float32)
        if bias_moments:
            low, high, ratio_low, ratio_high = BIAS_MOMENTS
            for name in values:
                if name.endswith('.b'):
                    size = values[name].shape
                    m = rng.choice([-1.0, 1.0], size) * 10 ** rng.uniform(
                        math.log10(low), math.log10(high), size)
                    ratio = rng.uniform(ratio_low, ratio_high, size)
                    values[name + '.adam_m'] = m.astype(np.float32)
                    values[name + '.adam_v'] = np.square(m / ratio).astype(np.float32)
        return values

    def run(self, state, u, x, targets, lr):
        self.set_state(state)
        for W, name in self.discrete.items():
            self.draws[W].set_value(np.asarray(u[name], dtype=W.dtype))
        x = _as_floatx(x)
        targets = _as_floatx(targets)
        probed = self.probe(x, targets)
        loss = self.graph.train(x, targets, _as_floatx(lr))
        if abs(float(loss) - float(probed[0])) > 1e-6 * abs(float(loss)):
            raise RuntimeError('probe loss %r != training loss %r' % (probed[0], loss))
        k = len(self.trainable)
        out = OrderedDict(loss=loss)
        out['grads'] = OrderedDict((self.param_names[p], g)
                                   for p, g in zip(self.trainable, probed[1:1 + k]))
        out['layers'] = OrderedDict(zip(self.layer_names.values(), probed[1 + k:-1]))
        out['predictions'] = probed[-1]
        out['state'] = self.get_state()
        evaluated = self.evaluate(x)
        out['eval_layers'] = OrderedDict(zip(self.layer_names.values(), evaluated[:-1]))
        out['eval_predictions'] = evaluated[-1]
        return out

    # ---------------------------------------------------------------- margins
    def break_points(self):
        from .discretization import activation_thresholds
        c = self.config
        points = []
        for t in activation_thresholds(c['act_r'], c['act_N']):
            points.append(t)
            if c['pulse'] == 'rectangular':
                points.extend([t - c['act_a'], t + c['act_a']])
        return np.array(points)

    def fragile(self, layers):
        """Counts of values too close to a break point / near-tied pool windows / outputs."""
        arrays = list(layers.values())
        points = self.break_points()
        act = 0
        for i in self.pre_activation:
            magnitude = np.abs(arrays[i].astype(np.float64)).ravel()
            act += int(np.sum(np.min(np.abs(magnitude[:, None] - points[None, :]), axis=1)
                              < ACT_MARGIN))
        pool = 0
        for i in self.pool_input:
            a = arrays[i].astype(np.float64)
            b, c, h, w = a.shape
            windows = a[:, :, :h // 2 * 2, :w // 2 * 2].reshape(b, c, h // 2, 2, w // 2, 2)
            windows = np.sort(windows.transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4), axis=1)
            gap = windows[:, 3] - windows[:, 2]
            pool += int(np.sum((gap > 0) & (gap < POOL_MARGIN * np.maximum(1, np.abs(
                windows[:, 3])))))
        out = np.sort(arrays[-1].astype(np.float64), axis=1)
        pred = int(np.sum(out[:, -1] - out[:, -2] < PRED_MARGIN))
        return act, pool, pred


_MACHINES = {}


def mnist_step(pool_grad, adam_constants, kernels=None):
    """The MnistStep of a rule, compiled once per process (``run`` sets the whole state, so
    generating, regenerating and replaying can share it)."""
    key = (pool_grad, adam_constants, kernels, _floatx())
    if key not in _MACHINES:
        _MACHINES[key] = MnistStep(pool_grad=pool_grad, adam_constants=adam_constants,
                                   kernels=kernels)
    return _MACHINES[key]


def _train_batch(seed, size=STEP_BATCH):
    """MNIST-like synthetic images: background -1, 35% of pixels in {-0.5, 0, 0.5, 1}."""
    rng = np.random.RandomState(seed)
    x = -np.ones((size, 1, 28, 28))
    ink = rng.rand(*x.shape) < 0.35
    x[ink] = rng.choice([-0.5, 0.0, 0.5, 1.0], ink.sum())
    labels = rng.randint(0, 10, size).astype(np.int64)
    return x.astype(np.float32), labels, rng


def _targets(labels):
    from .datasets import hinge_targets
    return hinge_targets(labels)


def _draw_u(machine, rng):
    return OrderedDict((name, rng.rand(*W.get_value().shape).astype(np.float32))
                       for W, name in machine.discrete.items())


def _stabilise_u(machines, states, u, x, targets, lr):
    """Set u to U_SAFE where, for any of the machines (each from its own state), the gate
    is within U_DELTA of p or the direction is fragile."""
    top = np.float32(1 - 2 ** -24)
    changed = OrderedDict((name, np.zeros(v.shape, bool)) for name, v in u.items())
    for machine, state in zip(machines, states):
        reference = machine.run(state, u, x, targets, lr)
        for shift in (-U_DELTA, U_DELTA):
            shifted = OrderedDict((name, np.clip(v + shift, 0, top).astype(np.float32))
                                  for name, v in u.items())
            moved = machine.run(state, shifted, x, targets, lr)['state']
            for name in u:
                changed[name] |= moved[name] != reference['state'][name]
        for name in u:
            m = reference['state'][name + '.adam_m']
            changed[name] |= np.abs(m) <= SIGN_MARGIN * np.max(np.abs(m))
    stable = OrderedDict()
    for name, value in u.items():
        value = value.copy()
        value[changed[name]] = U_SAFE
        stable[name] = value
    return stable


def _search_train_step(machines, first_seed=STEP_SEED, attempts=STEP_SEARCH,
                       bias_moments=False):
    """The first seed whose batch and initial weights leave every decision a clear margin
    for every machine (one per rule; the forward passes are the same for all)."""
    if not isinstance(machines, (list, tuple)):
        machines = [machines]
    for seed in range(first_seed, first_seed + attempts):
        x, labels, rng = _train_batch(seed)
        targets = _targets(labels)
        init = machines[0].initial_state(rng, bias_moments)
        u1 = OrderedDict((name, np.full(v.shape, 0.5, np.float32))
                         for name, v in _draw_u(machines[0], rng).items())
        u2 = _draw_u(machines[0], rng)
        step1 = [machine.run(init, u1, x, targets, STEP_LRS[0]) for machine in machines]
        if any(sum(machine.fragile(out['layers'])) or sum(machine.fragile(out['eval_layers']))
               for machine, out in zip(machines, step1)):
            continue
        u2 = _stabilise_u(machines, [out['state'] for out in step1], u2, x, targets,
                          STEP_LRS[1])
        fragile = False
        for machine, out in zip(machines, step1):
            step2 = machine.run(out['state'], u2, x, targets, STEP_LRS[1])
            fragile = fragile or sum(machine.fragile(step2['layers'])) or \
                sum(machine.fragile(step2['eval_layers'])) or \
                _fragile_adam(step2, list(machine.discrete.values()))
        if fragile:
            continue
        return seed, x, labels, init, u1, u2
    raise RuntimeError('no batch with clear margins in seeds %d..%d'
                       % (first_seed, first_seed + attempts - 1))


def _fragile_adam(step, discrete):
    """Non-discrete parameters whose Adam direction hangs on a near-zero gradient."""
    for name in step['grads']:
        if name in discrete or name.endswith('.b'):
            continue    # discrete: u set to U_SAFE; b: see BIAS_MOMENTS
        m = step['state'][name + '.adam_m']
        if np.any((np.abs(m) > 0) & (np.abs(m) <= SIGN_MARGIN * np.max(np.abs(m)))):
            return True
    return False


def _step_config(machine, seed):
    c = machine.config
    keys = ('architecture', 'discrete', 'H', 'N', 'm', 'act_r', 'act_a', 'act_N', 'pulse',
            'bn_epsilon', 'bn_alpha', 'random_search')
    config = OrderedDict((k, c[k]) for k in keys)
    return OrderedDict([('config', config), ('batch_size', STEP_BATCH),
                        ('lr', list(STEP_LRS)), ('batch_seed', seed),
                        ('layers', list(machine.layer_names.values())),
                        ('state', list(machine.state)),
                        ('trainable', [machine.param_names[p] for p in machine.trainable]),
                        ('discrete', list(machine.discrete.values())),
                        ('margins', OrderedDict([
                            ('pre_activation', ACT_MARGIN), ('pool_top2_relative', POOL_MARGIN),
                            ('prediction_top2', PRED_MARGIN), ('u_shift', U_DELTA),
                            ('adam_m_relative', SIGN_MARGIN)]))])


def rule_cases(cases):
    """[(prefix, rule)] of a train_step file: v2 names one case per rule ('pool_one/',
    {'pool_grad': 'one', 'adam_constants': ...}); v1 has one unnamed case, computed before
    the rules were settings (pool_grad 'all', Adam constants 'python')."""
    named = [(name + '/', OrderedDict((k, p[k]) for k in V1_SEMANTICS))
             for name, p in cases.items() if name != 'step']
    return named or [('', OrderedDict(V1_SEMANTICS))]


def compute_train_step(cases, inputs, machines=None, kernels=None):
    """Both steps of every rule case from the golden inputs; step 2 starts from the GOLDEN
    state after step 1 when ``inputs`` holds it (replay), else from the state this code
    computed. ``machines``: prefix -> MnistStep (made from the cases when not given)."""
    x, targets = inputs['x'], inputs['targets']
    result = OrderedDict()
    for prefix, rule in rule_cases(cases):
        machine = (machines or {}).get(prefix) or mnist_step(kernels=kernels, **rule)
        state = OrderedDict((name, inputs['init/' + name]) for name in machine.state)
        for k, lr in enumerate(cases['step']['lr'], 1):
            u = OrderedDict((name, inputs['u/step%d/%s' % (k, name)])
                            for name in machine.discrete.values())
            out = machine.run(state, u, x, targets, lr)
            head = '%sstep%d/' % (prefix, k)
            result[head + 'loss'] = _cast32(out['loss'])
            for name, value in out['layers'].items():
                result[head + 'layer/' + name] = _cast32(value)
            result[head + 'predictions'] = np.asarray(out['predictions'], np.int64)
            for name, value in out['grads'].items():
                result[head + 'grad/' + name] = _cast32(value)
            for name, value in out['state'].items():
                if k > 1 and not prefix and (name.endswith('.adam_m') or
                                             name.endswith('.adam_v')):
                    continue    # v1 left the step-2 moments out
                result[head + 'state/' + name] = _cast32(value)
            result[head + 'eval/output'] = _cast32(list(out['eval_layers'].values())[-1])
            result[head + 'eval/predictions'] = np.asarray(out['eval_predictions'], np.int64)
            golden_next = OrderedDict((name, inputs.get(head + 'state/' + name))
                                      for name in machine.state)
            if all(v is not None for v in golden_next.values()):
                state = golden_next
            else:
                state = out['state']
    return result


def _block(name):
    """'conv1.W' -> 'conv1' block number '1'; 'adam_discrete.t' -> None."""
    head = name.split('.')[0]
    digits = ''.join(ch for ch in head if ch.isdigit())
    return digits or None


def _bias_steps(outputs):
    """(smallest, largest) |b after step 2 - b after step 1| over every bias and case."""
    steps = [np.abs(value.astype(np.float64) - outputs[name.replace('step2/', 'step1/')])
             for name, value in outputs.items()
             if '/step2/state/' in '/' + name and name.endswith('.b')]
    steps = np.concatenate([s.ravel() for s in steps])
    return float(steps.min()), float(steps.max())


def _default_adam_constants():
    """The Adam constants of the current default configuration."""
    from .experiments import configure
    return configure('mnist')['adam_constants']


def _first_check(step=1):
    return 'train_step.step%d.%s' % (step, list(TRAIN_RULES)[0])


def _same_bytes(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def build_train_step():
    gf = GoldenFile('train_step.npz', 'train_step',
                    'Two updates of the MNIST net (models.build_network(\'mnist\'), released '
                    'hyperparameters) by the production training function '
                    'graphs.TrainingGraph.train, with the DST draws given (an object standing '
                    'in for the MRG stream returns u/stepK/<W> for each discrete W), once per '
                    'rule case (%s): the case names its max-pool gradient rule (pool_grad) '
                    'and Adam constants. Step 1: LR = 0 from the initial state (snaps W onto '
                    'the grid, advances both Adams and the batch-norm statistics). Step 2: '
                    'LR = 0.01 from the golden state after step 1 of the same case '
                    '(<case>/step1/state/*): start a port\'s step 2 from those arrays, not '
                    'from its own step 1. Loss, layer outputs and gradients are those of the '
                    'state before the step; state/* is after it; eval/* is the deterministic '
                    'pass after it. Inputs (x, targets, init/*, u/*, lr/*) are shared by the '
                    'cases.' % ', '.join(TRAIN_RULES))
    adam_constants = _default_adam_constants()
    machines = OrderedDict((case + '/', mnist_step(pool, adam_constants))
                           for case, pool in TRAIN_RULES.items())
    first = list(machines.values())[0]
    seed, x, labels, init, u1, u2 = _search_train_step(list(machines.values()),
                                                       bias_moments=True)
    gf.cases['step'] = _step_config(first, seed)
    for case, pool in TRAIN_RULES.items():
        gf.cases[case] = OrderedDict([
            ('pool_grad', pool), ('adam_constants', adam_constants),
            ('checks', ['train_step.step%d.%s' % (k, case) for k in (1, 2)]),
            ('rule', POOL_RULE_TEXT[pool])])
    inputs = OrderedDict([('x', x), ('labels', labels), ('targets', _targets(labels))])
    for name, value in init.items():
        inputs['init/' + name] = value
    for k, u in ((1, u1), (2, u2)):
        for name, value in u.items():
            inputs['u/step%d/%s' % (k, name)] = value
    for k, lr in enumerate(STEP_LRS, 1):
        inputs['lr/step%d' % k] = np.float32(lr)
    outputs = compute_train_step(gf.cases, inputs, machines)

    gf.input('x', x, 'input images (B, 1, 28, 28) in [-1, 1]: background -1, 35% of pixels in '
             '{-0.5, 0, 0.5, 1}', _first_check())
    gf.input('labels', labels, 'class labels', _first_check())
    gf.input('targets', inputs['targets'], 'hinge targets: +1 at the label, -1 elsewhere',
             _first_check())
    for name, value in init.items():
        meaning = ('state before step 1, one array per name of <case>/step1/state/<state> '
                   '(cases.step.state): Lasagne\'s initial values (b = beta = mean = 0, '
                   'gamma = inv_std = 1, Adam m = v = t = 0) but W: Uniform(-1, 1) on a 1/16 '
                   'grid, and the biases\' Adam moments (see the notes)')
        gf.input('init/' + name, value, meaning, _first_check(), 'init/<state>')
    for k in (1, 2):
        gf.input('lr/step%d' % k, inputs['lr/step%d' % k], 'learning rate of the step (step 1: '
                 '0, step 2: 0.01)', _first_check(k), 'lr/step<k>')
        for name in first.discrete.values():
            meaning = ('uniform draws of the DST gate of each discrete W (gate = u < p)'
                       if k > 1 else '0.5 everywhere: at LR = 0, dW = 0 exactly, so p = 0 and '
                                     'no gate fires whatever u is')
            gf.input('u/step%d/%s' % (k, name), inputs['u/step%d/%s' % (k, name)], meaning,
                     _first_check(k), 'u/step%d/<W>' % k)

    stored = OrderedDict()
    for prefix, _ in rule_cases(gf.cases):
        case = prefix[:-1]
        relative = OrderedDict((n[len(prefix):], v) for n, v in outputs.items()
                               if n.startswith(prefix))
        for rest, value in relative.items():
            step, tail = rest.split('/', 1)
            check = 'train_step.%s.%s' % (step, case)
            rule, meaning, _ = _train_rule(tail, value, relative, step, gf.cases['step'])
            name = prefix + rest
            twin = [other for other in stored.get(rest, []) if _same_bytes(outputs[other], value)]
            if twin:
                gf.alias(name, twin[0], value, meaning, check, rule, '<case>/step<k>/' + tail)
            else:
                gf.output(name, value, meaning, check, rule, '<case>/step<k>/' + tail)
                stored.setdefault(rest, []).append(name)
    gf.notes.extend([
        'Batch and weights were chosen (seed search from %d) so that no decision hangs on '
        'float rounding, for every rule case: every batch-norm output feeding an activation '
        'is >= %g from every break point (|y| = 0.5, 1, 1.5), every max-pool window\'s two '
        'largest values are equal or differ by > %g relative, every output row\'s top two '
        'differ by > %g, and every step-2 DST gate keeps its value when u moves by +-%g '
        '(gates whose Adam direction rests on |m| <= %g max|m| have u = %g: never fire).'
        % (STEP_SEED, ACT_MARGIN, POOL_MARGIN, PRED_MARGIN, U_DELTA, SIGN_MARGIN, U_SAFE),
        'Initial weights are Uniform(-1, 1) on a 1/16 grid and pixels are multiples of 1/2, '
        'so convolutions are exact in float32; some initial weights sit exactly on the '
        'snapping ties +-0.5.',
        'Max-pool windows with tied maxima occur in both steps (conv outputs are multiples '
        'of 1/32, integers in step 2), so the two rules give different gradients upstream of '
        'the pools (conv1, bn1, conv2) and the same elsewhere. pool_grad one: a 2x2 '
        'window\'s gradient goes to its FIRST maximum in row-major order (cuDNN, PyTorch, '
        'Caffe); all: to EVERY element equal to the maximum (Theano 0.8.2\'s CPU op).',
        'Biases: every b is followed by batch norm (after the pool for conv1/conv2). Its '
        'gradient is float noise where the gradient reaches b through exactly one element '
        'per pool window or directly (pool_grad one; the dense layers), and systematic '
        'where a tied window passes it on twice (conv1.b, conv2.b under pool_grad all). So '
        'that a port that does not update b (or updates it wrongly) fails, init/*.b.adam_m '
        'and adam_v are not zero: |m| log-uniform in [%g, %g], m/sqrt(v) in [%g, %g] (as if '
        'carried over). The step-2 change of b is then decided by those moments (%.2g to '
        '%.2g here), not by noise, and is compared with an absolute tolerance: what a '
        'port whose gradients sit at the edge of their tolerance can change (schema, '
        'compare; docs/porting.md says how the spread of correct ports was measured).'
        % (BIAS_MOMENTS + _bias_steps(outputs)),
        'Arrays whose schema entry has same_as are identical in two cases and stored once, '
        'under the same_as name (gxnor.golden.read_golden resolves them).'])
    return gf


def _state_meaning(name, initial=False):
    when = 'before step 1' if initial else 'after the step'
    if name.endswith('.adam_m'):
        return 'Adam first moment of %s %s' % (name[:-7], when)
    if name.endswith('.adam_v'):
        return 'Adam second moment of %s %s' % (name[:-7], when)
    if name.endswith('.t'):
        return 'step counter of the Adam over the %s parameters %s' % (
            name.split('.')[0][5:], when)
    field = name.split('.')[-1]
    what = {'W': 'weights', 'b': 'bias', 'beta': 'batch-norm shift', 'gamma': 'batch-norm scale',
            'mean': 'batch-norm running mean', 'inv_std': 'batch-norm running inverse std'}
    text = '%s of %s %s' % (what.get(field, field), name.split('.')[0], when)
    if initial and field == 'W':
        text += ' (Uniform(-H, H) on a 1/16 grid; on the grid after step 1)'
    return text


def _grad_tolerance(outputs, step, param):
    """(block scale S, atol) of a gradient: S = largest |gradient| of the param's block."""
    block = _block(param)
    scale = max(float(np.max(np.abs(v))) for k, v in outputs.items()
                if k.startswith(step + '/grad/') and _block(k.split('/')[-1]) == block)
    return scale, _scaled(np.array([scale]), 1e-4)


def _bias_tolerance(outputs, step, name, lr, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """atol on a bias after an Adam step: a port whose gradient g of b is off by the
    gradient tolerance dg moves m by 0.1 dg and v by 0.001 (2|g| dg + dg^2); through
    step = a_t m/(sqrt(v) + eps) that changes b by at most
    a_t (0.1 dg/(sqrt(v) + eps) + |m| dsqrt(v)/(sqrt(v) + eps)^2), dsqrt(v) = dv/(2 sqrt(v)).
    Twice the largest such change over the array, rounded up; never below 10x BIAS_SPREAD."""
    g = outputs['%s/grad/%s' % (step, name)].astype(np.float64)
    m = outputs['%s/state/%s.adam_m' % (step, name)].astype(np.float64)
    v = outputs['%s/state/%s.adam_v' % (step, name)].astype(np.float64)
    t = float(outputs['%s/state/adam_others.t' % step])
    _, dg = _grad_tolerance(outputs, step, name)
    a_t = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    root = np.sqrt(v)
    d_root = 0.001 * (2 * np.abs(g) * dg + dg * dg) / (2 * np.maximum(root, 1e-30))
    change = a_t * ((1 - beta1) * dg / (root + epsilon) + np.abs(m) * d_root
                    / np.square(root + epsilon))
    return max(_scaled(2 * change, 1.0), 10 * BIAS_SPREAD)


def _train_rule(rest, value, outputs, step, step_case):
    """(comparison rule, meaning, pattern) of one train_step output."""
    lr = step_case['lr'][int(step[-1]) - 1]
    parts = rest.split('/')
    if rest == 'loss':
        return close(1e-5, 1e-6, F32), 'squared hinge loss of the batch (training mode)', 'loss'
    if rest in ('predictions', 'eval/predictions'):
        mode = 'training-mode' if rest == 'predictions' else 'deterministic'
        return exact(EXACT_DISCRETE), 'argmax of the %s output' % mode, rest
    if rest == 'eval/output':
        return (close(1e-4, _scaled(value, 1e-5), 'float32 forward through 4 layers with '
                      'running statistics; atol 1e-5 x max|golden|'),
                'deterministic output (running BN statistics) after the step', rest)
    if parts[0] == 'layer':
        name = parts[1]
        meaning = 'training-mode output of layer %s' % name
        if name.startswith('act'):
            return exact(EXACT_DISCRETE), meaning + ' (levels)', 'layer/<layer>'
        return (close(1e-4, _scaled(value, 1e-5), 'float32 sums and batch statistics; '
                      'atol 1e-5 x max|golden|'), meaning, 'layer/<layer>')
    if parts[0] == 'grad':
        name = parts[1]
        _, atol = _grad_tolerance(outputs, step, name)
        meaning = 'gradient of the loss with respect to %s' % name
        if name.endswith('.b'):
            return (close(0.0, atol, 'float noise (b is followed by batch norm): absolute, '
                                     '1e-4 x the largest gradient of its block'),
                    meaning + ' (float noise where its true value is 0; see the notes)',
                    'grad/<param>')
        return (close(1e-3, atol, 'float32 reductions over the batch and back through batch '
                                  'norm (cancellation); atol 1e-4 x the largest gradient of '
                                  'its block'), meaning, 'grad/<param>')
    name = parts[1]
    meaning = _state_meaning(name)
    if name.endswith('.t'):
        return exact('step counter'), meaning, 'state/<state>'
    if name in step_case['discrete']:
        return exact(EXACT_DISCRETE + ': grid states'), meaning, 'state/<state>'
    if name.endswith('.adam_m') or name.endswith('.adam_v'):
        scale, atol = _grad_tolerance(outputs, step, name[:-7])
        if name.endswith('.adam_m'):
            return (close(1e-3, 0.1 * atol, 'm = (1 - b1) g after one step: the gradient '
                                            'tolerance times 0.1'), meaning, 'state/<state>')
        return (close(2e-3, _scaled(np.array([1e-3 * atol * (2 * scale + atol)]), 1.0),
                      'v = (1 - b2) g^2 after one step: the gradient tolerance carried '
                      'through the square'), meaning, 'state/<state>')
    if name.endswith('.b'):
        if lr == 0:
            return (close(0.0, 1e-6, 'no step at LR = 0'), meaning, 'state/<state>')
        return (close(0.0, _bias_tolerance(outputs, step, name, lr),
                      'Adam step of a bias, decided by its initial moments: absolute, the '
                      'largest change of the step that gradients within their tolerance can '
                      'cause (at least 10x the measured spread of correct implementations, '
                      '%g; docs/porting.md)' % BIAS_SPREAD), meaning, 'state/<state>')
    return (close(1e-5, 1e-6, F32 + '; Adam steps of about LR'), meaning, 'state/<state>')


# ============================================================ learning curves

def generate_curves(data_dir, epochs, seeds, experiment='mnist', dataset=None,
                    architecture=None, overrides=None, stream=None):
    """Run the first ``epochs`` epochs of ``experiment`` for each seed (schedule unchanged,
    as STOP_AFTER) with the project's loop; returns OrderedDict seed -> epoch records."""
    from .cli import run_experiment
    from .datasets import load_dataset
    from .experiments import configure
    stream = stream or sys.stdout
    if dataset is None:
        dataset = load_dataset(configure(experiment)['dataset'], data_dir)
    workdir = tempfile.mkdtemp(prefix='gxnor-golden-curves-')
    records = OrderedDict()
    try:
        for seed in seeds:
            settings = OrderedDict(overrides or {})
            settings.update([('stop_after', int(epochs)), ('seed', int(seed))])
            stream.write('curves: %s seed %d, %d epochs\n' % (experiment, seed, epochs))
            stream.flush()
            trainer = run_experiment(experiment, settings, run='golden-seed%d' % seed,
                                     results_dir=workdir, architecture=architecture,
                                     dataset=dataset, stream=_Quiet())
            records[int(seed)] = list(trainer.records)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return records


class _Quiet(object):
    def write(self, text):
        pass

    def flush(self):
        pass


def curve_envelope(records):
    """Arrays of curves.npz from OrderedDict seed -> epoch records (dicts with epoch,
    test_error, valid_error, train_loss)."""
    seeds = sorted(records)
    epochs = min(len(records[s]) for s in seeds)
    def table(field):
        return np.array([[records[s][e][field] for e in range(epochs)] for s in seeds],
                        dtype=np.float64)
    test = table('test_error')
    low, high = test.min(axis=0), test.max(axis=0)
    margin = np.maximum(CURVE_MIN_MARGIN, high - low)
    return OrderedDict([
        ('seeds', np.array(seeds, np.int64)),
        ('epochs', np.array([records[seeds[0]][e]['epoch'] for e in range(epochs)], np.int64)),
        ('test_error', test), ('valid_error', table('valid_error')),
        ('train_loss', table('train_loss')),
        ('test_error_min', low), ('test_error_median', np.median(test, axis=0)),
        ('test_error_max', high),
        ('band_low', low - margin), ('band_high', high + margin)])


def curves_schema(arrays, experiment='mnist', source=None):
    seeds = [int(s) for s in arrays['seeds']]
    entries = OrderedDict()
    meanings = OrderedDict([
        ('seeds', 'seeds of the runs (config seed)'),
        ('epochs', 'epoch numbers (0-based; epoch 0 runs at LR = 0)'),
        ('test_error', 'test error in percent, per seed (rows) and epoch'),
        ('valid_error', 'validation error in percent, per seed and epoch'),
        ('train_loss', 'mean training loss, per seed and epoch'),
        ('test_error_min', 'lowest test error over the seeds, per epoch'),
        ('test_error_median', 'median test error over the seeds, per epoch'),
        ('test_error_max', 'highest test error over the seeds, per epoch'),
        ('band_low', 'a port\'s test error must be >= this (min - margin)'),
        ('band_high', 'a port\'s test error must be <= this (max + margin)')])
    for name, meaning in meanings.items():
        value = np.asarray(arrays[name])
        entries[name] = OrderedDict([('role', 'reference'), ('shape', list(value.shape)),
                                     ('dtype', str(value.dtype)), ('meaning', meaning),
                                     ('check', 'curves'), ('pattern', name)])
    return OrderedDict([
        ('generated', True), ('experiment', experiment), ('epochs', len(arrays['epochs'])),
        ('seeds', seeds), ('source', source),
        ('schedule', 'released schedule (num_epochs 4000), stopped after K epochs '
                     '(STOP_AFTER semantics)'),
        ('margin', 'margin(e) = max(%g, max(e) - min(e)) percentage points; a port\'s '
                   'epochs.jsonl passes when every epoch e it shares with the envelope has '
                   'band_low(e) <= test_error <= band_high(e)' % CURVE_MIN_MARGIN),
        ('port_file', 'epochs*.jsonl in the port folder: one JSON object per line with '
                      'fields epoch (0-based) and test_error (percent)'),
        ('arrays', entries)])


# ============================================================ schema and generation

BUILDERS = OrderedDict([('activation.npz', build_activation), ('snap.npz', build_snap),
                        ('dst.npz', build_dst), ('batchnorm.npz', build_batchnorm),
                        ('adam.npz', build_adam), ('train_step.npz', build_train_step)])


def _versions():
    import lasagne
    import theano
    return OrderedDict([('python', '%d.%d' % sys.version_info[:2]), ('numpy', np.__version__),
                        ('theano', theano.__version__), ('lasagne', lasagne.__version__),
                        ('floatX', theano.config.floatX)])


def _conventions():
    return OrderedDict([
        ('names', 'Array names are <case>/<field> (slashes are part of the name: '
                  'np.load(f)[\'rectangular_r1_a0.5_N1/x\']). A port writes its outputs under '
                  'the same file and array names into its own folder (any subset: a check '
                  'with arrays missing is PARTIAL, not PASS and not a failure); inputs it '
                  'copies are ignored.'),
        ('same_as', 'An array whose schema entry has same_as is identical to that other array '
                    'of the same file and stored only under its name (read it from there, '
                    'or use gxnor.golden.read_golden).'),
        ('writing', 'np.savez(os.path.join(port_dir, \'dst.npz\'), **outputs) with outputs a '
                    'dict name -> array; any float dtype is accepted and compared in float64.'),
        ('compare', 'exact: equal values (after casting to float64). close: '
                    '|port - golden| <= atol + rtol |golden| elementwise. Shapes must match '
                    '(up to length-1 axes).'),
        ('float32', 'Goldens are float32 computations. Float inputs are float32; compute in '
                    'float32 where the notes say the break points depend on it.')])


def generate(out_dir, curves_data_dir=None, curves_epochs=3, curves_seeds=(1, 2, 3),
             keep_curves=True, stream=None, only=None):
    """Write the golden folder. Returns the schema (a dict)."""
    import theano
    stream = stream or sys.stdout
    if theano.config.floatX != 'float32':
        raise RuntimeError('goldens are float32: run with THEANO_FLAGS=floatX=float32')
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    old_schema = _read_schema_if_any(out_dir)
    if old_schema and old_schema.get('version') != VERSION:
        raise ValueError('%s holds goldens v%s; this code writes v%d, and a golden version '
                         'is never rewritten: choose another folder (e.g. results/golden/v%d)'
                         % (out_dir, old_schema.get('version'), VERSION, VERSION))
    # The curves first: a data problem stops before any file is written.
    records = None
    if curves_data_dir:
        records = generate_curves(curves_data_dir, curves_epochs, curves_seeds, stream=stream)
    schema = OrderedDict([('format', FORMAT), ('version', VERSION), ('generator',
                          OrderedDict([('module', 'gxnor.golden'), ('versions', _versions())])),
                          ('conventions', _conventions()), ('files', OrderedDict()),
                          ('checks', OrderedDict(
                              (name, OrderedDict([('order', index), ('advisory', advisory),
                                                  ('covers', covers)]))
                              for index, (name, (advisory, covers)) in enumerate(
                                  CHECKS.items())))])
    for filename, build in BUILDERS.items():
        if only and filename.split('.')[0] not in only:
            kept = (old_schema or {}).get('files', {}).get(filename)
            if kept and os.path.exists(os.path.join(out_dir, filename)):
                schema['files'][filename] = kept      # not rebuilt this time
            continue
        stream.write('golden: %s\n' % filename)
        stream.flush()
        gf = build()
        write_npz(os.path.join(out_dir, filename), gf.arrays)
        schema['files'][filename] = gf.schema()
    curves_path = os.path.join(out_dir, CURVES_FILE)
    if records is not None:
        arrays = curve_envelope(records)
        write_npz(curves_path, arrays)
        schema['curves'] = curves_schema(arrays, source='MNIST (gxnor.datasets.load_mnist)')
    elif keep_curves and os.path.exists(curves_path) and old_schema and \
            old_schema.get('curves', {}).get('generated'):
        schema['curves'] = old_schema['curves']
        stream.write('golden: kept the existing %s (no --curves-data-dir)\n' % CURVES_FILE)
    else:
        if os.path.exists(curves_path):
            os.remove(curves_path)
        schema['curves'] = OrderedDict([
            ('generated', False),
            ('note', 'not generated: needs real MNIST (--curves-data-dir; `make golden` passes '
                     'it when the data is present) and about a minute per epoch and seed')])
    write_json(os.path.join(out_dir, SCHEMA_FILE), schema)
    from .files import atomic_write
    text = render_schema_markdown(json.loads(json.dumps(schema, sort_keys=True),
                                             object_pairs_hook=OrderedDict))
    atomic_write(os.path.join(out_dir, SCHEMA_MD), lambda h: h.write(text.encode('utf-8')))
    return schema


def _read_schema_if_any(folder):
    path = os.path.join(folder, SCHEMA_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as handle:
            return json.load(handle)
    except ValueError:
        return None


def load_schema(golden_dir):
    schema = _read_schema_if_any(golden_dir)
    if schema is None or schema.get('format') != FORMAT:
        raise IOError('%s: no golden schema (%s) there; generate it with `make golden`'
                      % (golden_dir, SCHEMA_FILE))
    return schema


COMPUTE = OrderedDict([('activation.npz', compute_activation), ('snap.npz', compute_snap),
                       ('dst.npz', compute_dst), ('batchnorm.npz', compute_batchnorm),
                       ('adam.npz', compute_adam), ('train_step.npz', compute_train_step)])


def replay(golden_dir, out_dir, only=None, stream=None, kernels=None):
    """Recompute every golden output from the golden inputs with this code (a 'port');
    ``kernels`` ('fast' or 'theano', default: the configuration's) for the training step."""
    stream = stream or sys.stdout
    schema = load_schema(golden_dir)
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    for filename, entry in schema['files'].items():
        if only and filename.split('.')[0] not in only:
            continue
        stream.write('replay: %s\n' % filename)
        stream.flush()
        arrays = read_golden(golden_dir, filename, entry)
        inputs = OrderedDict((n, a) for n, a in arrays.items()
                             if entry['arrays'].get(n, {}).get('role') == 'input')
        if filename == 'train_step.npz':
            # step 2 starts from the golden state after step 1, as a port should
            inputs.update((n, a) for n, a in arrays.items()
                          if n.startswith('step1/state/') or '/step1/state/' in n)
        if filename == 'train_step.npz':
            outputs = compute_train_step(entry['cases'], inputs, kernels=kernels)
        else:
            outputs = COMPUTE[filename](entry['cases'], inputs)
        write_npz(os.path.join(out_dir, filename), outputs)


# ============================================================ SCHEMA.md

def _rule_text(compare):
    if compare is None:
        return ''
    if compare['rule'] == 'exact':
        return 'exact'
    return 'rtol %g, atol %g' % (compare['rtol'], compare['atol'])


def render_schema_markdown(schema):
    """SCHEMA.md: the schema for people (patterns with <case>, <k>, <layer>, ...)."""
    lines = ['# Golden vectors v%d (generated; do not edit)' % schema['version'], '',
             'Made by `python -m gxnor.golden` (`make golden`) with %s. '
             'Check a port with `make check-port PORT=<folder>`; how to port: '
             '`docs/porting.md`.' % ', '.join('%s %s' % kv for kv in
                                              sorted(schema['generator']['versions'].items())),
             '']
    for key in sorted(schema['conventions']):
        lines.append('* **%s**: %s' % (key, schema['conventions'][key]))
    lines.append('')
    for filename in PRIMITIVE_FILES:
        entry = schema['files'].get(filename)
        if entry is None:
            continue
        lines.extend(['## `%s` (%s)' % (filename, entry['primitive']), '', entry['description'],
                      ''])
        for note in entry['notes']:
            lines.extend(['* ' + note])
        if entry['notes']:
            lines.append('')
        if entry['cases']:
            lines.append('Cases: ' + '; '.join(
                '`%s` (%s)' % (case, ', '.join('%s=%s' % (k, json.dumps(v, sort_keys=True))
                                               for k, v in sorted(params.items())
                                               if not isinstance(v, dict)
                                               and len(json.dumps(v)) <= 40))
                for case, params in entry['cases'].items()))
            lines.append('')
        lines.extend(['| array | role | shape | dtype | compare | meaning |',
                      '| --- | --- | --- | --- | --- | --- |'])
        seen = OrderedDict()
        for name, array in entry['arrays'].items():
            pattern = array['pattern']
            if pattern in seen:
                seen[pattern][1] += 1
                if seen[pattern][0]['shape'] != array['shape']:
                    seen[pattern][2] = True
                rules = seen[pattern][3]
                text = _rule_text(array.get('compare'))
                if text not in rules:
                    rules.append(text)
                continue
            seen[pattern] = [array, 1, False, [_rule_text(array.get('compare'))]]
        shared = OrderedDict()
        for name, array in entry['arrays'].items():
            if array.get('same_as'):
                shared[array['pattern']] = shared.get(array['pattern'], 0) + 1
        for pattern, (array, count, varies, rules) in seen.items():
            shape = 'varies' if varies else '(%s)' % ', '.join(str(s) for s in array['shape'])
            rule = ' / '.join(rules) if len(rules) <= 2 else \
                'per array (%d rules, see schema.json)' % len(rules)
            lines.append('| `%s`%s%s | %s | %s | %s | %s | %s |' % (
                pattern, ' x%d' % count if count > 1 else '',
                ' (%d same_as)' % shared[pattern] if pattern in shared else '', array['role'],
                shape,
                array['dtype'], rule, array['meaning'].replace('|', '\\|')))
        lines.append('')
    curves = schema.get('curves', {})
    lines.extend(['## `%s` (curves)' % CURVES_FILE, ''])
    if curves.get('generated'):
        lines.append('%s, %d epochs, seeds %s; %s. %s. Port file: %s.' % (
            curves['experiment'], curves['epochs'], ', '.join(str(s) for s in curves['seeds']),
            curves['schedule'], curves['margin'], curves['port_file']))
    else:
        lines.append(curves.get('note', 'not generated'))
    lines.append('')
    return '\n'.join(lines)


# ============================================================ command line

def _parser():
    parser = argparse.ArgumentParser(prog='python -m gxnor.golden',
                                     description='Write the golden vectors (or replay them).')
    parser.add_argument('--out', required=True, help='output folder, e.g. results/golden/v1')
    parser.add_argument('--replay', metavar='GOLDEN_DIR',
                        help='instead: recompute the outputs of GOLDEN_DIR\'s inputs with this '
                             'code and write them in the port layout to --out')
    parser.add_argument('--kernels', choices=('fast', 'theano'),
                        help='with --replay: the training step\'s kernels (gxnor.fastops or '
                             'Theano\'s own ops; default: the configuration\'s)')
    parser.add_argument('--curves-data-dir', help='MNIST folder: also run the curves')
    parser.add_argument('--curves-epochs', type=int, default=3)
    parser.add_argument('--curves-seeds', default='1,2,3', help='comma-separated seeds')
    parser.add_argument('--drop-curves', action='store_true',
                        help='without --curves-data-dir, delete existing curves instead of '
                             'keeping them')
    parser.add_argument('--only', help='comma-separated subset: activation,snap,dst,'
                                       'batchnorm,adam,train_step (for development)')
    return parser


def main(argv=None):
    from .datasets import DataError
    from .experiments import ConfigError
    args = _parser().parse_args(argv)
    only = [s.strip() for s in args.only.split(',')] if args.only else None
    try:
        if args.replay:
            replay(args.replay, args.out, only=only, kernels=args.kernels)
            return 0
        seeds = [int(s) for s in args.curves_seeds.split(',') if s.strip()]
        if args.curves_data_dir and (args.curves_epochs < 1 or not seeds):
            raise ValueError('--curves-epochs must be >= 1 and --curves-seeds non-empty')
        generate(args.out, args.curves_data_dir, args.curves_epochs, seeds,
                 keep_curves=not args.drop_curves, only=only)
        print('golden vectors written to %s' % args.out)
        return 0
    except (IOError, OSError, ValueError, DataError, ConfigError) as error:
        sys.stderr.write('error: %s\n' % error)
        return 2


if __name__ == '__main__':
    sys.exit(main())
