"""Process settings for speed that change no number: the allocator and OpenMP threads.

Applied by every entry point through ``gxnor.process.prepare()`` -- ``make`` targets,
``python -m gxnor``, the containers, sweeps, tests -- before NumPy or Theano loads:

* **Allocator.** A training step allocates buffers of hundreds of MB and frees them
  again. glibc serves such blocks with ``mmap`` and returns them with ``munmap``, so each
  step page-faults its buffers in anew: a third of the CPU time went to the kernel.
  ``mallopt`` keeps them in the heap instead (no mmap for large blocks, no trimming of
  the heap top), so a freed buffer is reused by the next step without a page fault.
  Memory in use stays at the peak of one step, as before. "No trimming" is the threshold
  -1 (mallopt(3): trimming off): the largest int, 2 GB, which this used before, let
  glibc give back the heap's top whenever more than 2 GB lay free there, which a CIFAR10
  step at batch 1000 (7 GB in use) came to after about 20 steps: from then on every step
  page-faulted 6.4 GB in anew (1.6 million faults, 6 s of system time per 20 s step).
* **OpenMP.** gxnor's kernels (gxnor.kernels) run their chunks on ``OMP_NUM_THREADS``
  threads when Theano's ``openmp`` flag is on, calling BLAS single-threaded inside; the
  results do not depend on the number of threads (tested). ``OMP_WAIT_POLICY=PASSIVE``
  keeps idle threads from spinning on a busy machine.
* **Elementwise loops on threads.** Theano 0.8.2 puts ``omp parallel for
  if(n >= openmp_elemwise_minsize)`` on EACH loop level of an elementwise op, with n that
  level's length, not the tensor's size: at the default 200000 no loop of a
  (10000, 32, 12, 12) batch-norm or activation ever ran on a second core (measured: the
  same time with 1 and 2 threads). ``openmp_elemwise_minsize=1000`` lets the loop over a
  batch of 1000 or more images run on every core (2.4x faster on 2 cores for the
  activation of MNIST's first layer). Each element is computed by the same code, so no
  number changes. Theano's module cache does not key on this flag: modules compiled
  before it keep their old threshold (``rm -rf build/theano`` recompiles them).

``GXNOR_TUNING=0`` leaves the process as it was (for comparisons); a user's own
``openmp`` Theano flag, ``OMP_WAIT_POLICY`` or ``MALLOC_*`` variables are respected.
"""
from __future__ import absolute_import, division, print_function

import ctypes
import ctypes.util
import os

from .cpu import theano_flag_set

__all__ = ['SWITCH', 'apply', 'describe']

SWITCH = 'GXNOR_TUNING'

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4
_NEVER = -1       # as M_TRIM_THRESHOLD: glibc's size_t maximum, trimming off

_STATE = {}

# Elementwise loops at least this long run on OpenMP threads (see the docstring).
ELEMWISE_MINSIZE = '1000'


def _keep_freed_memory():
    """mallopt: no mmap for large blocks, keep the heap top (glibc only); True if done."""
    if any(name.startswith('MALLOC_') for name in os.environ):
        return False          # the user tunes malloc through its environment variables
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    done = mallopt(_M_MMAP_MAX, 0) == 1
    done = mallopt(_M_TRIM_THRESHOLD, _NEVER) == 1 and done
    done = mallopt(_M_TOP_PAD, 64 << 20) == 1 and done
    return done


def apply(environ=None):
    """Apply the settings to this process (and ``environ``); returns what was done."""
    environ = os.environ if environ is None else environ
    if environ.get(SWITCH, '1').strip().lower() in ('0', 'no', 'off', 'false'):
        _STATE.update(applied=False)
        return dict(_STATE)
    flags = environ.get('THEANO_FLAGS', '')
    ours = [(name, value) for name, value in (('openmp', 'True'),
                                               ('openmp_elemwise_minsize', ELEMWISE_MINSIZE))
            if not theano_flag_set(flags, name)]
    if ours:
        environ['THEANO_FLAGS'] = ','.join(['%s=%s' % item for item in ours]
                                           + ([flags] if flags else []))
    environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    _STATE.update(applied=True, heap_reuse=_keep_freed_memory())
    return dict(_STATE)


def describe():
    """What this process runs with, for config.json and the bench."""
    facts = dict(_STATE)
    facts.update(omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
                 omp_wait_policy=os.environ.get('OMP_WAIT_POLICY'))
    try:
        import theano
        facts['theano_openmp'] = bool(theano.config.openmp)
    except ImportError:   # pragma: no cover
        pass
    return facts
