"""What every golden file's generator shares: the rule texts and tolerances of element-
wise float32 math, Theano's float type and the float32 cast of outputs, float32 neighbours,
the default Adam constants, and writing a golden file atomically (its bytes are
gxnor_port.npzfile's deterministic ones)."""
from __future__ import absolute_import, division, print_function

import math
from collections import OrderedDict

import numpy as np

from gxnor_port.npzfile import json_bytes, npz_bytes

from ..training.files import atomic_write

__all__ = ['F32', 'EXACT_DISCRETE', 'RTOL', 'ATOL', 'V1_SEMANTICS', 'scaled', 'floatx',
           'as_floatx', 'cast32', 'neighbours', 'fmt', 'default_adam_constants',
           'write_npz', 'write_json', 'write_text']

F32 = 'float32 arithmetic: rounding of a few ulps between implementations'
EXACT_DISCRETE = 'discrete value (a level, a grid state, a count or an index)'
# Elementwise float32 math (activation derivatives, batch norm, Adam).
RTOL, ATOL = 1e-5, 1e-6


def scaled(array, factor, floor=0.0):
    """``factor * max|array|`` (at least ``floor``), rounded up to 2 significant digits."""
    scale = float(np.max(np.abs(array))) if np.size(array) else 0.0
    value = max(factor * scale, floor)
    if value == 0:
        return 0.0
    digits = 10 ** (math.floor(math.log10(value)) - 1)
    return float('%.3g' % (math.ceil(value / digits) * digits))

# What the v1 goldens were computed with (the defaults before the fidelity work):
# Theano-CPU max-pool ties and Lasagne 0.1's Adam constants. A train_step file without
# rule cases (v1) is replayed with these.
V1_SEMANTICS = OrderedDict([('pool_grad', 'all'), ('adam_constants', 'python')])


def floatx():
    import theano
    return theano.config.floatX


def as_floatx(value):
    return np.asarray(value, dtype=floatx())


def cast32(value):
    """Outputs are stored in float32 (golden) whatever floatX computed them."""
    value = np.asarray(value)
    return value.astype(np.float32) if value.dtype.kind == 'f' else value


def neighbours(values):
    """Each float32 value with its two float32 neighbours."""
    out = []
    for value in values:
        v = np.float32(value)
        out.extend([v, np.nextafter(v, np.float32(np.inf)), np.nextafter(v, np.float32(-np.inf))])
    return np.array(out, dtype=np.float32)


def fmt(value):
    return 'none' if value is None else '%g' % value


def default_adam_constants():
    """The Adam constants of the current default configuration."""
    from ..experiments import configure
    return configure('mnist')['adam_constants']


def write_npz(path, arrays):
    """The deterministic .npz of ``arrays``, written all at once (atomic_write)."""
    data = npz_bytes(arrays)
    return atomic_write(path, lambda handle: handle.write(data))


def write_json(path, value):
    data = json_bytes(value)
    return atomic_write(path, lambda handle: handle.write(data))


def write_text(path, text):
    data = text.encode('utf-8')
    return atomic_write(path, lambda handle: handle.write(data))
