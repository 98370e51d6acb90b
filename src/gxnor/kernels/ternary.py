"""The integer path of the forward products (C in ``ternary.c``), seen from Python.

The fast convolutions (:mod:`.convolution`) compute a forward product in 8-bit integers
whenever both operands hold only -1, 0 and +1 -- every conv layer after the first, whose
input is the ternary activation -- and in float32 (im2col + gemm) otherwise. Both give
the same bits (ternary products summed are exact integers in float32 too), so the choice
moves no number; it only changes the speed. The process chooses the kernel through the
environment, read at each call:

* ``GXNOR_INT_KERNEL``: ``auto`` (default: the best this CPU has), ``avx512vnni``,
  ``avx2``, ``portable`` (plain C) or ``off`` (always the float path). Naming a kernel
  the CPU lacks is an error at the op's first call.
* ``GXNOR_INT_STRICT=1``: where the filters are ternary, an input that is not is an error
  instead of a silent float product (tests use it to show the integer path is taken).
"""
from __future__ import absolute_import, division, print_function

import contextlib
import os

from ..process.cpu import cpu_flags

__all__ = ['INT_KERNELS', 'VARIABLE', 'STRICT_VARIABLE', 'available', 'resolve',
           'int_kernel']

VARIABLE = 'GXNOR_INT_KERNEL'
STRICT_VARIABLE = 'GXNOR_INT_STRICT'

# The values GXNOR_INT_KERNEL takes; the instruction-set ones best first.
INT_KERNELS = ('auto', 'avx512vnni', 'avx2', 'portable', 'off')

# The /proc/cpuinfo flags each instruction-set kernel needs (as the C side asks the CPU).
_NEEDS = (('avx512vnni', ('avx512f', 'avx512bw', 'avx512_vnni')), ('avx2', ('avx2',)))


def available(cpuinfo='/proc/cpuinfo'):
    """The integer kernels this machine runs, best first (``portable`` always)."""
    flags = cpu_flags(cpuinfo)
    if not isinstance(flags, set):     # no flags line or no /proc: say only what is sure
        flags = set()
    found = [name for name, needs in _NEEDS if all(flag in flags for flag in needs)]
    return found + ['portable']


def resolve(name=None, cpuinfo='/proc/cpuinfo'):
    """The kernel a value of GXNOR_INT_KERNEL selects here (``None``: the environment's);
    ValueError for an unknown name or a kernel this CPU lacks."""
    if name is None:
        name = os.environ.get(VARIABLE, '')
    name = name or 'auto'
    if name not in INT_KERNELS:
        raise ValueError('%s=%s: choose one of %s' % (VARIABLE, name, ', '.join(INT_KERNELS)))
    if name == 'off':
        return name
    have = available(cpuinfo)
    if name == 'auto':
        return have[0]
    if name not in have:
        raise ValueError('%s=%s: this CPU has only %s' % (VARIABLE, name, ', '.join(have)))
    return name


@contextlib.contextmanager
def int_kernel(name, strict=False):
    """Run the block with GXNOR_INT_KERNEL=name (and GXNOR_INT_STRICT=1 if ``strict``),
    restoring the environment after it."""
    saved = dict((var, os.environ.get(var)) for var in (VARIABLE, STRICT_VARIABLE))
    os.environ[VARIABLE] = name
    if strict:
        os.environ[STRICT_VARIABLE] = '1'
    else:
        os.environ.pop(STRICT_VARIABLE, None)
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
