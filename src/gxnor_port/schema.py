"""The golden format: its files and checks, the comparison rules, the schema file
(``schema.json``), reading a golden file with its shared arrays resolved, and the order
in which a training step's arrays are compared.

A golden folder holds one ``.npz`` per primitive (``PRIMITIVE_FILES``), the reference
curves (``CURVES_FILE``), ``schema.json`` (every array: role, shape, dtype, meaning, check,
comparison rule) and ``SCHEMA.md`` (the same for people). ``GoldenFile`` collects the
arrays of one file and their schema entries while the generator computes them.
"""
from __future__ import absolute_import, division, print_function

import json
import os
from collections import OrderedDict

import numpy as np

from .npzfile import read_npz

__all__ = ['FORMAT', 'VERSION', 'SCHEMA_FILE', 'SCHEMA_MD', 'CURVES_FILE', 'PRIMITIVE_FILES',
           'TRAIN_RULES', 'CHECKS', 'exact', 'close', 'GoldenFile', 'read_schema_if_any',
           'load_schema', 'read_golden', 'step_groups', 'step_order']

FORMAT = 'gxnor-golden'
VERSION = 2
SCHEMA_FILE = 'schema.json'
SCHEMA_MD = 'SCHEMA.md'
CURVES_FILE = 'curves.npz'
PRIMITIVE_FILES = ('activation.npz', 'snap.npz', 'dst.npz', 'batchnorm.npz', 'adam.npz',
                   'train_step.npz')

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


# ============================================================ comparison rules

def exact(why):
    return OrderedDict([('rule', 'exact'), ('why', why)])


def close(rtol, atol, why):
    """``|port - golden| <= atol + rtol |golden|`` elementwise."""
    return OrderedDict([('rule', 'close'), ('rtol', float(rtol)), ('atol', float(atol)),
                        ('why', why)])


# ============================================================ one golden file, being made

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


# ============================================================ reading a golden folder

def read_schema_if_any(folder):
    """The folder's schema.json (key order kept), or None when it is missing or not JSON."""
    path = os.path.join(folder, SCHEMA_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as handle:
            return json.load(handle, object_pairs_hook=OrderedDict)
    except ValueError:
        return None


def load_schema(golden_dir):
    schema = read_schema_if_any(golden_dir)
    if schema is None or schema.get('format') != FORMAT:
        raise IOError('%s: no golden schema (%s) there; generate it with `make golden`'
                      % (golden_dir, SCHEMA_FILE))
    return schema


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


# ============================================================ the training steps' arrays

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
