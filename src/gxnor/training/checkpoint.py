"""Checkpoints: every shared variable of a run and the loop's own state, written atomically.

One ``.npz`` per run, replaced after every epoch: the values of all shared variables
(network parameters, batch-norm statistics, both Adams' moments and step counters,
random-search snapshots, the MRG random streams' states), the NumPy RandomState that
shuffles and augments, and a JSON blob with the loop state (epoch records, best epochs,
the current order of the training set). It is written to a temporary file in the same
folder and renamed over the old one, so a run killed at any moment leaves either the
previous checkpoint or the new one, never half of one.
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import sys

import numpy as np

from .files import atomic_write

__all__ = ['save_checkpoint', 'load_checkpoint', 'compress_checkpoint', 'CheckpointError']


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used for this run; the message says why."""


def _variable_key(index):
    return 'var%04d' % index


def save_checkpoint(path, variables, rng, loop_state, extra_arrays=None):
    """Save shared ``variables`` (in a fixed order), ``rng``, a JSON-able ``loop_state``
    and named ``extra_arrays`` (e.g. the order of the training set)."""
    arrays = dict(('extra_' + name, value) for name, value in (extra_arrays or {}).items())
    for index, variable in enumerate(variables):
        arrays[_variable_key(index)] = variable.get_value(borrow=True)
    kind, keys, position, has_gauss, cached = rng.get_state()
    arrays['rng_keys'] = keys
    arrays['rng_scalars'] = np.array([position, has_gauss, cached], dtype=np.float64)
    signature = [[variable.name or '', list(variable.get_value(borrow=True).shape)]
                 for variable in variables]
    meta = dict(loop_state=loop_state, signature=signature, rng_kind=kind)
    arrays['meta'] = np.frombuffer(json.dumps(meta).encode('utf-8'), dtype=np.uint8)
    atomic_write(path, lambda handle: np.savez(handle, **arrays))


def load_checkpoint(path, variables, rng):
    """Restore ``variables`` and ``rng`` in place; returns ``(loop_state, extra_arrays)``."""
    try:
        with np.load(path) as archive:
            meta = json.loads(archive['meta'].tobytes().decode('utf-8'))
            signature = [[variable.name or '', list(variable.get_value(borrow=True).shape)]
                         for variable in variables]
            if meta['signature'] != signature:
                raise CheckpointError(
                    "checkpoint %s was written by a different network or setting (its "
                    "variables do not match this run's); start a new run instead" % path)
            values = [archive[_variable_key(i)] for i in range(len(variables))]
            keys = archive['rng_keys']
            position, has_gauss, cached = archive['rng_scalars']
            extra = dict((key[len('extra_'):], archive[key]) for key in archive.files
                         if key.startswith('extra_'))
    except (IOError, OSError, KeyError, ValueError) as error:
        raise CheckpointError("cannot read checkpoint %s (%s); the run cannot be resumed from it"
                              % (path, error))
    for variable, value in zip(variables, values):
        variable.set_value(value)
    rng.set_state((meta['rng_kind'], keys, int(position), int(has_gauss), float(cached)))
    return meta['loop_state'], extra


def compress_checkpoint(path):
    """Rewrite the checkpoint ``path`` zip-compressed, the same arrays bit for bit (for
    committing a run's checkpoint: the ternary weights shrink; ``np.load`` reads either
    form, so a resumed run is the same). Returns (before, after)
    sizes in bytes."""
    before = os.path.getsize(path)
    with np.load(path) as archive:
        arrays = dict((key, archive[key]) for key in archive.files)
    atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))
    with np.load(path) as archive:
        for key, value in arrays.items():
            stored = archive[key]
            if stored.dtype != value.dtype or stored.tobytes() != value.tobytes():
                raise CheckpointError("compressing %s changed %s" % (path, key))
    return before, os.path.getsize(path)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m gxnor checkpoint',
        description='Rewrite run checkpoints zip-compressed (same arrays; resume reads both).')
    parser.add_argument('command', choices=['compress'])
    parser.add_argument('paths', nargs='+', help='checkpoint.npz files')
    args = parser.parse_args(argv)
    for path in args.paths:
        try:
            before, after = compress_checkpoint(path)
        except (IOError, OSError, ValueError, CheckpointError) as error:
            sys.stderr.write('error: cannot compress %s (%s)\n' % (path, error))
            return 2
        print('%s: %.1f MB -> %.1f MB' % (path, before / 1e6, after / 1e6))
    return 0
