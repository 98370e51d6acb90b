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
default, before Theano or OpenBLAS is loaded (through ``gxnor.process.prepare()``):

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
Haswell instructions (or whose /proc/cpuinfo has no ``flags`` line: ARM, some emulators)
is left unpinned (the pinned code would not run on it). What was used goes into every
run's config.json (:func:`describe`), with what the loaded OpenBLAS libraries report of
themselves (core, threads, build).

The pins are verified, not assumed: where they cannot hold -- no AVX2/FMA; fewer CPUs
visible to the process (cpuset, affinity) than the pinned BLAS threads; an OpenBLAS that
ignores ``OPENBLAS_CORETYPE`` (built without DYNAMIC_ARCH, or loaded before the pin) --
one ``gxnor: warning:`` line says so on stderr and config.json records it. Theano
imported before the pins has read its flags already: the compiler pin then goes straight
into ``theano.config`` (and ``gxnor.process.prepare()`` warns).
"""
from __future__ import absolute_import, division, print_function

import ctypes
import ctypes.util
import logging
import os
import sys

__all__ = ['PINNED_CXXFLAGS', 'PINNED_CORETYPE', 'PINNED_BLAS_THREADS', 'SWITCH', 'pin', 'describe',
           'pin_requested', 'cpu_supports_pins', 'visible_cpus', 'openblas_facts', 'blas_problems']

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
WARNING = 'gxnor: warning: the CPU pins do not hold here, numbers may differ from the reference: '


def cpu_flags(cpuinfo='/proc/cpuinfo'):
    """The CPU's flags from ``cpuinfo``; None when the file has no ``flags`` line (ARM,
    some emulators); 'unreadable' when there is no such file (not Linux)."""
    try:
        with open(cpuinfo) as handle:
            for line in handle:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except (IOError, OSError):
        return 'unreadable'
    return None


def cpu_supports_pins(cpuinfo='/proc/cpuinfo'):
    """True when the CPU has every instruction set the pinned code uses (or when
    /proc/cpuinfo cannot be read: not Linux, assume a current x86-64). False when it
    has no ``flags`` line."""
    flags = cpu_flags(cpuinfo)
    if flags == 'unreadable':
        return True
    return flags is not None and all(flag in flags for flag in HASWELL_FLAGS)


def visible_cpus(status='/proc/self/status'):
    """How many CPUs this process may run on (its affinity: a cpuset-limited container
    sees its share), from ``Cpus_allowed_list`` (Python 2.7 has no
    os.sched_getaffinity); None when unknown."""
    try:
        with open(status) as handle:
            for line in handle:
                if line.startswith('Cpus_allowed_list:'):
                    count = 0
                    for part in line.split(':', 1)[1].strip().split(','):
                        low, _, high = part.partition('-')
                        count += int(high or low) - int(low) + 1
                    return count
    except (IOError, OSError, ValueError):
        pass
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return None


def _problems(decision, cpuinfo, status):
    """What keeps the pins from holding, found before Theano or OpenBLAS is loaded."""
    problems = []
    if decision['requested'] and not decision['supported']:
        if cpu_flags(cpuinfo) is None:
            problems.append('%s has no flags line (not x86-64, or emulated): left unpinned'
                            % cpuinfo)
        else:
            problems.append('the CPU lacks one of %s: left unpinned' % ', '.join(HASWELL_FLAGS))
    visible = visible_cpus(status)
    if decision['pinned'] and visible is not None and visible < int(PINNED_BLAS_THREADS):
        problems.append('%d CPU(s) visible to this process (cpuset/affinity), fewer than the '
                        '%s pinned OpenBLAS threads: OpenBLAS runs %d' % (
                            visible, PINNED_BLAS_THREADS, visible))
    return problems


def _warn(problems):
    """One line on stderr for the problems not reported yet."""
    new = [p for p in problems if p not in _STATE.setdefault('warned', [])]
    if new:
        _STATE['warned'].extend(new)
        sys.stderr.write(WARNING + '; '.join(new) + '\n')


def pin_requested(environ=None, cpuinfo='/proc/cpuinfo'):
    """True when :func:`pin` would pin: not switched off, and a CPU that runs the pinned code."""
    environ = os.environ if environ is None else environ
    return (environ.get(SWITCH, '1').strip().lower() not in _OFF
            and cpu_supports_pins(cpuinfo))


def theano_flag_set(flags, name):
    """True when the THEANO_FLAGS string ``flags`` sets ``name``."""
    return any(item.split('=', 1)[0].strip() == name for item in flags.split(',') if item)


def pin(environ=None, cpuinfo='/proc/cpuinfo', status='/proc/self/status', warn=None):
    """Add the pins to ``environ`` (default ``os.environ``); returns what was decided,
    with ``problems``: what keeps them from holding, said in one warning line on stderr
    (``warn``: default only when pinning this process).

    Call before Theano is imported (``gxnor.process.prepare`` does); if it was imported
    already, the compiler pin goes into ``theano.config`` directly. Idempotent.
    """
    this_process = environ is None
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
            if this_process and 'theano' in sys.modules:
                decision['theano_imported_first'] = _pin_imported_theano()
        # Theano warns that a user-given -march is "better" left to it; here it is the point.
        logging.getLogger('theano.gof.cmodule').addFilter(_DropMarchWarning())
    decision['problems'] = _problems(decision, cpuinfo, status)
    warned = _STATE.get('warned', [])
    _STATE.clear()
    _STATE.update(decision, warned=warned)
    if this_process if warn is None else warn:
        _warn(decision['problems'])
    return decision


def _pin_imported_theano():
    """Theano, imported before the pins, has read THEANO_FLAGS already: set its cxxflags
    (functions compiled before this keep theirs)."""
    import theano
    theano.config.gcc.cxxflags = PINNED_CXXFLAGS
    return ('theano was imported before gxnor.process.prepare(): gcc.cxxflags set in '
            'theano.config (functions compiled before that are not pinned)')


def _openblas_libraries():
    """Paths of the OpenBLAS libraries loaded in this process (numpy's and scipy's wheels
    bring their own; Theano links the system's), plus the system's one."""
    paths = []
    try:
        with open('/proc/self/maps') as handle:
            for line in handle:
                path = line.split()[-1] if len(line.split()) >= 6 else ''
                if 'openblas' in os.path.basename(path) and path not in paths:
                    paths.append(path)
    except (IOError, OSError):
        pass
    system = ctypes.util.find_library('openblas')
    if system and not any(os.path.basename(p).startswith('libopenblas') and
                          os.path.dirname(p).startswith('/usr') for p in paths):
        paths.append(system)
    return paths


def openblas_facts():
    """[{library, corename, num_threads, config}] of each OpenBLAS: what it reports of
    itself through its own functions (openblas_get_corename & co)."""
    facts = []
    for path in _openblas_libraries():
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            facts.append(dict(
                library=path,
                corename=lib.openblas_get_corename().decode('ascii', 'replace'),
                num_threads=int(lib.openblas_get_num_threads()),
                config=lib.openblas_get_config().decode('ascii', 'replace').strip()))
        except (OSError, AttributeError) as error:
            facts.append(dict(library=path, error=str(error)))
    return facts


def blas_problems(facts):
    """What the OpenBLAS libraries' own reports say against the pins."""
    problems = []
    for fact in facts:
        if 'corename' not in fact:
            continue
        if fact['corename'].lower() != PINNED_CORETYPE.lower():
            build = ('built without DYNAMIC_ARCH, it ignores OPENBLAS_CORETYPE'
                     if 'DYNAMIC_ARCH' not in fact['config'] else
                     'loaded before gxnor set OPENBLAS_CORETYPE')
            problems.append('OpenBLAS %s runs its %s kernels, not %s (%s)' % (
                fact['library'], fact['corename'], PINNED_CORETYPE, build))
        if fact['num_threads'] != int(PINNED_BLAS_THREADS):
            problems.append('OpenBLAS %s runs %d thread(s), not %s' % (
                fact['library'], fact['num_threads'], PINNED_BLAS_THREADS))
    return problems


class _DropMarchWarning(logging.Filter):
    def filter(self, record):
        return 'specify an `-march=X` flags' not in record.getMessage()


def describe():
    """What the run used: the pins' state, Theano's cxxflags, OpenBLAS's settings and what
    each loaded OpenBLAS reports; ``problems`` lists what keeps the pins from holding
    (new ones are also said in one warning line)."""
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
        if _STATE.get('theano_imported_first'):
            facts['theano_imported_first'] = _STATE['theano_imported_first']
    facts['visible_cpus'] = visible_cpus()
    facts['openblas'] = openblas_facts()
    problems = list(_STATE.get('problems', []))
    if _STATE.get('pinned'):
        problems += blas_problems(facts['openblas'])
    facts['problems'] = problems
    _warn(problems)
    return facts
