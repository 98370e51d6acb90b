"""The CPU pins (same last bits on any x86-64 machine) and the speed settings, decided on
given environments and /proc/cpuinfo files (the process's own are left alone)."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import pytest

from gxnor import process
from gxnor.process import cpu, tuning

HASWELL = ('flags\t\t: fpu sse sse2 avx avx2 fma bmi1 bmi2 f16c movbe popcnt avx512f\n')
NEHALEM = 'flags\t\t: fpu sse sse2 sse4_2 popcnt\n'


def _cpuinfo(tmpdir, text):
    path = tmpdir.join('cpuinfo')
    path.write('processor\t: 0\n' + text)
    return str(path)


def test_pins_set_theano_and_openblas(tmpdir):
    env = {'THEANO_FLAGS': 'floatX=float32'}
    decision = cpu.pin(env, _cpuinfo(tmpdir, HASWELL))
    assert decision['pinned']
    assert env['THEANO_FLAGS'] == 'gcc.cxxflags=-march=haswell -mtune=generic -g0,floatX=float32'
    assert env['OPENBLAS_CORETYPE'] == 'Haswell'
    assert env['OPENBLAS_NUM_THREADS'] == '2'
    cpu.pin(env, _cpuinfo(tmpdir, HASWELL))              # idempotent
    assert env['THEANO_FLAGS'].count('gcc.cxxflags') == 1


def test_pins_override_other_openblas_settings_and_say_so(tmpdir):
    env = {'OPENBLAS_CORETYPE': 'SkylakeX', 'OPENBLAS_NUM_THREADS': '32'}
    cpu.pin(env, _cpuinfo(tmpdir, HASWELL))
    assert (env['OPENBLAS_CORETYPE'], env['OPENBLAS_NUM_THREADS']) == ('Haswell', '2')
    facts = cpu.describe()
    assert facts['openblas_coretype_before'] == 'SkylakeX'
    assert facts['openblas_blas_threads_before'] == '32'
    cpu.pin()                                            # back to this process's decision


def test_a_users_cxxflags_win(tmpdir):
    env = {'THEANO_FLAGS': 'gcc.cxxflags=-O2,floatX=float32'}
    cpu.pin(env, _cpuinfo(tmpdir, HASWELL))
    assert env['THEANO_FLAGS'] == 'gcc.cxxflags=-O2,floatX=float32'
    cpu.pin()


@pytest.mark.parametrize('switch', ['0', 'off', 'false'])
def test_unpinned_on_request(tmpdir, switch):
    env = {'GXNOR_CPU_PINS': switch, 'THEANO_FLAGS': 'floatX=float32'}
    assert not cpu.pin(env, _cpuinfo(tmpdir, HASWELL))['pinned']
    assert env == {'GXNOR_CPU_PINS': switch, 'THEANO_FLAGS': 'floatX=float32'}
    assert 'unpinned by the user' in cpu.describe()['note']
    cpu.pin()


def test_a_cpu_without_avx2_is_left_unpinned(tmpdir):
    env = {}
    decision = cpu.pin(env, _cpuinfo(tmpdir, NEHALEM))
    assert not decision['supported'] and not decision['pinned'] and env == {}
    assert 'left unpinned' in cpu.describe()['note']
    cpu.pin()


def test_this_process_runs_pinned():
    import theano
    if not cpu.cpu_supports_pins():
        pytest.skip('this CPU lacks the Haswell instructions: nothing is pinned here')
    assert '-march=haswell' in theano.config.gcc.cxxflags
    assert os.environ['OPENBLAS_CORETYPE'] == 'Haswell'
    assert cpu.describe()['pinned'] is True


def test_tuning_turns_on_openmp_unless_the_user_chose():
    env = {'THEANO_FLAGS': 'floatX=float32'}
    tuning.apply(env)
    assert env['THEANO_FLAGS'] == 'openmp=True,openmp_elemwise_minsize=1000,floatX=float32'
    assert env['OMP_WAIT_POLICY'] == 'PASSIVE'
    env = {'THEANO_FLAGS': 'openmp=False,openmp_elemwise_minsize=5', 'OMP_WAIT_POLICY': 'ACTIVE'}
    tuning.apply(env)
    assert env == {'THEANO_FLAGS': 'openmp=False,openmp_elemwise_minsize=5',
                   'OMP_WAIT_POLICY': 'ACTIVE'}
    # this process (conftest imports gxnor first): the loop over a batch of 1000 is threaded
    import theano
    assert theano.config.openmp_elemwise_minsize == 1000
    env = {'GXNOR_TUNING': '0'}
    assert tuning.apply(env)['applied'] is False and env == {'GXNOR_TUNING': '0'}
    tuning.apply()


# A block of 2.5 GB allocated, touched and freed at the heap's top: with the tuning, its
# pages stay with the process (the next step reuses them without faults); glibc's
# trimming would give them back (as it did with the threshold 2 GB - 1 before).
_FREED_BLOCK_STAYS = r"""
import ctypes, sys
from gxnor.process import tuning
assert tuning.apply()['heap_reuse'] is True
libc = ctypes.CDLL('libc.so.6')
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def resident_mb():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) // 1024
size = 2500 << 20
block = libc.malloc(size)
ctypes.memset(block, 1, size)
before = resident_mb()
libc.free(block)
print('%d %d' % (before, resident_mb()))
"""


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc and /proc: Linux only')
def test_the_heap_keeps_a_freed_block_larger_than_2_gb():
    env = dict(os.environ)
    env.pop('GXNOR_TUNING', None)
    for name in [name for name in env if name.startswith('MALLOC_')]:
        del env[name]
    out = subprocess.check_output([sys.executable, '-c', _FREED_BLOCK_STAYS], env=env)
    before, after = [int(v) for v in out.split()]
    assert before >= 2500 and after >= before - 50


# --- the pins verified, not assumed ---------------------------------------------------

ARM = 'processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2\n'


def _status(tmpdir, cpus):
    path = tmpdir.join('status')
    path.write('Name:\tpython\nCpus_allowed:\tff\nCpus_allowed_list:\t%s\nMems_allowed:\t1\n' % cpus)
    return str(path)


def test_a_cpuinfo_without_flags_is_left_unpinned_and_said(tmpdir, capsys):
    env = {'THEANO_FLAGS': 'floatX=float32'}
    path = tmpdir.join('cpuinfo')
    path.write(ARM)
    decision = cpu.pin(env, str(path), _status(tmpdir, '0-3'), warn=True)
    assert not decision['pinned'] and env == {'THEANO_FLAGS': 'floatX=float32'}
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith(cpu.WARNING)
    assert 'has no flags line' in err and str(path) in err
    cpu.pin()


@pytest.mark.parametrize('allowed,count', [('0', 1), ('0-3,5,7-8', 7), ('2,4', 2), ('0-63', 64)])
def test_visible_cpus_reads_the_affinity_list(tmpdir, allowed, count):
    assert cpu.visible_cpus(_status(tmpdir, allowed)) == count


def test_fewer_cpus_than_blas_threads_is_said_in_one_line(tmpdir, capsys):
    env = {}
    decision = cpu.pin(env, _cpuinfo(tmpdir, HASWELL), _status(tmpdir, '3'), warn=True)
    assert decision['pinned'] and env['OPENBLAS_NUM_THREADS'] == '2'
    assert decision['problems'] == [
        '1 CPU(s) visible to this process (cpuset/affinity), fewer than the 2 pinned '
        'OpenBLAS threads: OpenBLAS runs 1']
    err = capsys.readouterr().err
    assert err == cpu.WARNING + decision['problems'][0] + '\n'
    cpu.pin(env, _cpuinfo(tmpdir, HASWELL), _status(tmpdir, '3'), warn=True)
    assert capsys.readouterr().err == ''                 # said once per process
    assert 'OpenBLAS runs 1' in cpu.describe()['problems'][0]   # and recorded
    assert not cpu.pin({}, _cpuinfo(tmpdir, HASWELL), _status(tmpdir, '0-1'))['problems']
    cpu.pin()


def test_openblas_reports_against_the_pins():
    ok = dict(library='libopenblas.so.0', corename='Haswell', num_threads=2,
              config='OpenBLAS 0.3.13 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64')
    assert cpu.blas_problems([ok]) == []
    static = dict(ok, corename='Sandybridge', config='OpenBLAS 0.3.13 NO_AFFINITY Sandybridge')
    late = dict(ok, corename='SkylakeX', num_threads=1)
    problems = cpu.blas_problems([static, late])
    assert len(problems) == 3
    assert 'Sandybridge kernels, not Haswell (built without DYNAMIC_ARCH' in problems[0]
    assert 'SkylakeX kernels, not Haswell (loaded before gxnor' in problems[1]
    assert 'runs 1 thread(s), not 2' in problems[2]
    assert cpu.blas_problems([dict(library='x', error='no such symbol')]) == []


def test_the_run_records_the_openblas_in_use():
    import numpy
    import theano
    import theano.tensor as T
    if not cpu.cpu_supports_pins():
        pytest.skip('this CPU lacks the Haswell instructions: nothing is pinned here')
    x = T.matrix()
    theano.function([x], T.dot(x, x))(numpy.ones((4, 4), 'float32'))   # Theano's BLAS loaded
    facts = cpu.describe()
    libraries = [f for f in facts['openblas'] if 'corename' in f]
    assert libraries, facts['openblas']
    assert any(os.path.dirname(f['library']).startswith('/usr') or
               f['library'].startswith('libopenblas') for f in libraries)
    for fact in libraries:
        assert fact['corename'] == 'Haswell' and fact['num_threads'] == 2, fact
    assert facts['visible_cpus'] == cpu.visible_cpus() >= 1
    assert isinstance(facts['problems'], list)


def _python(code, **env):
    full = dict(os.environ, **env)
    proc = subprocess.Popen([sys.executable, '-c', code], env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    return out.decode('utf-8'), err.decode('utf-8')


def test_theano_imported_before_gxnor_still_gets_the_compiler_pin():
    if not cpu.cpu_supports_pins():
        pytest.skip('this CPU lacks the Haswell instructions: nothing is pinned here')
    flags = ','.join(f for f in os.environ.get('THEANO_FLAGS', '').split(',')
                     if f and not f.startswith('gcc.cxxflags'))
    out, err = _python('import theano\nbefore = theano.config.gcc.cxxflags\n'
                       'from gxnor import process\nprocess.prepare()\n'
                       'print(repr(before)); print(theano.config.gcc.cxxflags)\n'
                       'print(process.cpu.describe()["theano_imported_first"])',
                       THEANO_FLAGS=flags, GXNOR_CPU_PINS='1')
    before, after, note = out.splitlines()
    assert 'haswell' not in before
    assert after == cpu.PINNED_CXXFLAGS
    assert note.startswith('theano was imported before gxnor.process.prepare()')
    late = [line for line in err.splitlines() if line.startswith('gxnor: warning:')]
    assert late == [process.LATE_WARNING % (
        'theano', "Theano's compiler pin set in theano.config now (functions compiled before "
                  'it are not pinned); OpenBLAS may run other kernels or threads than the '
                  'pins. Call it before importing Theano')], err


def test_importing_gxnor_changes_nothing_in_the_process():
    """Only an entry point's process.prepare() pins and tunes; import alone leaves the
    environment as it was, loads neither NumPy nor Theano, and a late prepare() after NumPy
    says so."""
    env = dict((name, value) for name, value in os.environ.items()
               if not name.startswith(('OPENBLAS_', 'OMP_')))
    env['THEANO_FLAGS'] = 'floatX=float32'
    code = ('import os, sys\nbefore = dict(os.environ)\n'
            'import gxnor, gxnor.process, gxnor.golden, gxnor.training, gxnor.studies\n'
            'print(dict(os.environ) == before)\n'
            'print(sorted(m for m in ("numpy", "theano", "lasagne") if m in sys.modules))\n'
            'import numpy\nfrom gxnor import process\nprocess.prepare()\nprocess.prepare()\n'
            'print(os.environ["THEANO_FLAGS"])')
    proc = subprocess.Popen([sys.executable, '-c', code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = [text.decode('utf-8') for text in proc.communicate()]
    assert proc.returncode == 0, err
    unchanged, loaded, flags = out.splitlines()
    assert unchanged == 'True' and loaded == '[]', out
    assert 'openmp=True' in flags, flags
    if cpu.pin_requested():
        assert 'gcc.cxxflags=%s' % cpu.PINNED_CXXFLAGS in flags, flags
        assert err.count('gxnor: warning:') == 1, err       # the second call says nothing
        assert process.LATE_WARNING % ('numpy', '') in err, err


def test_a_process_limited_to_one_cpu_says_so_when_prepared():
    import distutils.spawn
    if not distutils.spawn.find_executable('taskset'):
        pytest.skip('no taskset here')
    if not cpu.cpu_supports_pins():
        pytest.skip('this CPU lacks the Haswell instructions: nothing is pinned here')
    proc = subprocess.Popen(['taskset', '-c', '0', sys.executable, '-c',
                             'from gxnor import process; process.prepare()'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, GXNOR_CPU_PINS='1'))
    _, err = proc.communicate()
    lines = [line for line in err.decode('utf-8').splitlines() if 'gxnor: warning' in line]
    assert lines == [cpu.WARNING + '1 CPU(s) visible to this process (cpuset/affinity), '
                     'fewer than the 2 pinned OpenBLAS threads: OpenBLAS runs 1']
