"""The CPU pins (same last bits on any x86-64 machine) and the speed settings, decided on
given environments and /proc/cpuinfo files (the process's own are left alone)."""
from __future__ import absolute_import, division, print_function

import os

import pytest

from gxnor import cpu, tuning

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
