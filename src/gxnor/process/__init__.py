"""The settings of a gxnor process, applied by its entry point in one call: ``prepare()``.

Importing gxnor (or any of its modules) changes nothing in the process. A program that
trains, evaluates or measures calls ``prepare()`` first, before NumPy or Theano is
imported, since both read these settings when they load:

* the CPU pins (``cpu``): Theano's ``-march`` and OpenBLAS's kernel and thread count, which
  decide the last bits of every number (``GXNOR_CPU_PINS=0`` unpins);
* the speed settings (``tuning``): heap reuse, OpenMP threads, elementwise loops on
  threads, none of which changes a number (``GXNOR_TUNING=0`` leaves them out);
* the one warning of Lasagne 0.1 that is noise for users (Theano's moved pooling module).

The entry points that call it: ``python -m gxnor`` (every program, so every make target:
``gxnor/__main__.py``), ``python -m gxnor.golden`` and the tests (``tests/conftest.py``).
Called when Theano or NumPy is loaded already, it still does what can be done (the
compiler pin goes into ``theano.config``; functions compiled before keep their flags) and
says in one ``gxnor: warning:`` line on stderr what came too late; config.json records
what each loaded OpenBLAS reports of itself. A second call changes nothing.
"""
from __future__ import absolute_import, division, print_function

import sys
import warnings

from . import cpu, tuning

__all__ = ['prepare', 'prepared', 'LATE_WARNING']

LATE_WARNING = 'gxnor: warning: gxnor.process.prepare() came after %s was imported: %s'

_DONE = {}


def _too_late(modules):
    """What a late call cannot pin any more, for the warning line (None: nothing)."""
    if not cpu.pin_requested():
        return None
    if 'theano' in modules:
        return ('theano', "Theano's compiler pin set in theano.config now (functions "
                          'compiled before it are not pinned); OpenBLAS may run other '
                          'kernels or threads than the pins. Call it before importing Theano')
    if 'numpy' in modules:
        return ('numpy', "NumPy's OpenBLAS may run other kernels or threads than the pins. "
                         'Call it before importing NumPy')
    return None


def prepare():
    """Pin the CPU settings and apply the speed settings to this process, once; returns
    ``{'cpu': pin decision, 'tuning': what was applied}``."""
    if _DONE:
        return dict(_DONE)
    late = _too_late(sys.modules)
    _DONE['cpu'] = cpu.pin()
    _DONE['tuning'] = tuning.apply()
    # Lasagne 0.1 imports Theano's moved pooling module; the warning is noise for users.
    warnings.filterwarnings('ignore', message='downsample module has been moved',
                            category=UserWarning)
    if late:
        sys.stderr.write(LATE_WARNING % late + '\n')
    return dict(_DONE)


def prepared():
    """True once ``prepare()`` ran in this process."""
    return bool(_DONE)
