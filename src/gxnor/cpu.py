"""The CPU settings that decide the last bits of a run, pinned so that any machine agrees.

Two things make float32 results depend on the processor a run happens to get:

* Theano compiles its C code with ``-march=<this CPU>`` (it asks g++ what
  ``-march=native`` means) -- other instructions, other contractions into FMA;
* OpenBLAS picks its gemm kernel per CPU at load time (Haswell, SkylakeX, Zen, ...),
  and the kernels sum in different orders;
* OpenBLAS splits a gemm among as many threads as the machine has cores, and the split
  changes the last bits too (measured: sgemm with 1 and with 2 threads differ).

DST turns a last-bit difference into a different gate and the runs separate. So every
entry point (``make``, ``python -m gxnor``, the containers, sweeps, tests) pins both by
default, before Theano or OpenBLAS is loaded:

* Theano: ``gcc.cxxflags=-march=haswell -mtune=generic -g0`` (the last one only saves
  compile time);
* OpenBLAS: ``OPENBLAS_CORETYPE=Haswell`` (AVX2 + FMA: every x86-64 server since 2013,
  every AMD Zen) and ``OPENBLAS_NUM_THREADS=2`` for Theano's own gemms (the dense
  layers; gxnor's convolution kernels always call BLAS with one thread and run their own
  OpenMP threads, ``OMP_NUM_THREADS``, whose number changes no result).

The released script is machine-dependent in the same way; the trace of it that the replay
is compared with was measured under these pins.

``GXNOR_CPU_PINS=0`` unpins (Theano and OpenBLAS then choose for the CPU at hand). A
``gcc.cxxflags`` in the user's ``THEANO_FLAGS`` is respected, and a CPU without the
Haswell instructions is left unpinned (the pinned code would not run on it). What was
used goes into every run's config.json (:func:`describe`).
"""
from __future__ import absolute_import, division, print_function

import logging
import os

__all__ = ['PINNED_CXXFLAGS', 'PINNED_CORETYPE', 'PINNED_BLAS_THREADS', 'SWITCH', 'pin', 'describe',
           'cpu_supports_pins']

# -g0 after them cancels the -g that Theano puts on every g++ command: no debug info for
# the Python and NumPy headers, a third less compile time per module. GCC generates the
# same code with and without debug info (its -fcompare-debug guarantee): no number moves.
PINNED_CXXFLAGS = '-march=haswell -mtune=generic -g0'
PINNED_CORETYPE = 'Haswell'
PINNED_BLAS_THREADS = '2'
SWITCH = 'GXNOR_CPU_PINS'
# What -march=haswell lets the compiler use, as /proc/cpuinfo names it.
HASWELL_FLAGS = ('avx', 'avx2', 'fma', 'bmi1', 'bmi2', 'f16c', 'movbe', 'popcnt')
_OFF = ('0', 'no', 'off', 'false')

# Set by pin(): what it found and did, for describe().
_STATE = {}


def cpu_supports_pins(cpuinfo='/proc/cpuinfo'):
    """True when the CPU has every instruction set the pinned code uses (or when the
    flags cannot be read: not Linux, assume a current x86-64)."""
    try:
        with open(cpuinfo) as handle:
            for line in handle:
                if line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                    return all(flag in flags for flag in HASWELL_FLAGS)
    except (IOError, OSError):
        return True
    return True


def theano_flag_set(flags, name):
    """True when the THEANO_FLAGS string ``flags`` sets ``name``."""
    return any(item.split('=', 1)[0].strip() == name for item in flags.split(',') if item)


def pin(environ=None, cpuinfo='/proc/cpuinfo'):
    """Add the pins to ``environ`` (default ``os.environ``); returns what was decided.

    Call before Theano is imported (``gxnor/__init__`` does). Idempotent.
    """
    environ = os.environ if environ is None else environ
    decision = dict(requested=environ.get(SWITCH, '1').strip().lower() not in _OFF,
                    coretype_before=environ.get('OPENBLAS_CORETYPE'),
                    blas_threads_before=environ.get('OPENBLAS_NUM_THREADS'))
    decision['supported'] = cpu_supports_pins(cpuinfo)
    decision['pinned'] = decision['requested'] and decision['supported']
    if decision['pinned']:
        environ['OPENBLAS_CORETYPE'] = PINNED_CORETYPE
        environ['OPENBLAS_NUM_THREADS'] = PINNED_BLAS_THREADS
        flags = environ.get('THEANO_FLAGS', '')
        if not theano_flag_set(flags, 'gcc.cxxflags'):
            # ours first: a later gcc.cxxflags of the caller's would win anyway
            environ['THEANO_FLAGS'] = ('gcc.cxxflags=%s' % PINNED_CXXFLAGS
                                       + (',' + flags if flags else ''))
        # Theano warns that a user-given -march is "better" left to it; here it is the point.
        logging.getLogger('theano.gof.cmodule').addFilter(_DropMarchWarning())
    _STATE.clear()
    _STATE.update(decision)
    return decision


class _DropMarchWarning(logging.Filter):
    def filter(self, record):
        return 'specify an `-march=X` flags' not in record.getMessage()


def describe():
    """What the run used: the pins' state, Theano's cxxflags and OpenBLAS's core type."""
    try:
        import theano
        cxxflags = theano.config.gcc.cxxflags
    except ImportError:   # pragma: no cover - Theano is always there in this project
        cxxflags = None
    facts = dict(pinned=bool(_STATE.get('pinned')), theano_gcc_cxxflags=cxxflags,
                 openblas_coretype=os.environ.get('OPENBLAS_CORETYPE'),
                 openblas_num_threads=os.environ.get('OPENBLAS_NUM_THREADS'))
    if _STATE and not _STATE.get('supported'):
        facts['note'] = ('CPU lacks one of %s: left unpinned, numbers may differ from '
                         'other machines' % ', '.join(HASWELL_FLAGS))
    elif _STATE and not _STATE.get('requested'):
        facts['note'] = '%s=0: unpinned by the user' % SWITCH
    if _STATE.get('pinned'):
        for key, pinned in (('coretype_before', PINNED_CORETYPE),
                            ('blas_threads_before', PINNED_BLAS_THREADS)):
            if _STATE.get(key) not in (None, pinned):
                facts['openblas_%s' % key] = _STATE[key]
    return facts
