"""The GPU image's gate (docker/gpu_check.py) through its CUDA driver API path: a stand-in
libcuda.so.1, built here, reports made-up devices (compute capability, name), so the
decisions the image takes on a real driver without nvidia-smi's compute_cap field are
checked without a GPU. (The nvidia-smi paths: tests/test_pins.py.)"""
from __future__ import absolute_import, division, print_function

import distutils.spawn
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GPU_CHECK = os.path.join(ROOT, 'docker', 'gpu_check.py')

# FAKE_CUDA: "major.minor:name;major.minor:name;..." (empty: no device); FAKE_CUDA_INIT:
# the status cuInit returns (0 = CUDA_SUCCESS, 100 = CUDA_ERROR_NO_DEVICE).
FAKE_LIBCUDA = r'''
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int device(int i, int *major, int *minor, char *name, int len) {
    const char *spec = getenv("FAKE_CUDA");
    while (spec && *spec && i > 0) {
        spec = strchr(spec, ';');
        if (spec) spec++;
        i--;
    }
    if (!spec || !*spec) return 1;
    if (sscanf(spec, "%d.%d:", major, minor) != 2) return 1;
    if (name) {
        const char *start = strchr(spec, ':') + 1, *end = strchr(start, ';');
        int n = end ? (int)(end - start) : (int)strlen(start);
        if (n >= len) n = len - 1;
        memcpy(name, start, n);
        name[n] = 0;
    }
    return 0;
}

extern "C" {
int cuInit(unsigned flags) {
    const char *status = getenv("FAKE_CUDA_INIT");
    return status ? atoi(status) : 0;
}
int cuDeviceGetCount(int *count) {
    int major, minor;
    *count = 0;
    while (device(*count, &major, &minor, 0, 0) == 0) (*count)++;
    return 0;
}
int cuDeviceGet(int *dev, int ordinal) { *dev = ordinal; return 0; }
int cuDeviceGetAttribute(int *value, int attribute, int dev) {
    int major, minor;
    if (device(dev, &major, &minor, 0, 0)) return 101;           /* invalid device */
    if (attribute == 75) { *value = major; return 0; }
    if (attribute == 76) { *value = minor; return 0; }
    return 1;                                                   /* invalid value */
}
int cuDeviceGetName(char *name, int len, int dev) {
    int major, minor;
    return device(dev, &major, &minor, name, len) ? 101 : 0;
}
}
'''


@pytest.fixture(scope='module')
def libcuda(tmpdir_factory):
    compiler = distutils.spawn.find_executable('g++')
    if not compiler:
        pytest.skip('no g++ to build the stand-in libcuda.so.1')
    folder = tmpdir_factory.mktemp('fake-cuda')
    source = folder.join('libcuda.cc')
    source.write(FAKE_LIBCUDA)
    library = str(folder.join('libcuda.so.1'))
    subprocess.check_call([compiler, '-shared', '-fPIC', '-o', library, str(source)])
    return library


def gate(libcuda, tmpdir, devices, init='0'):
    """(exit status, output) of gpu_check.py seeing `devices` through the CUDA driver API
    only (no nvidia-smi on the PATH)."""
    env = dict(os.environ, PATH=str(tmpdir.mkdir('bin')), GXNOR_LIBCUDA=libcuda,
               FAKE_CUDA=devices, FAKE_CUDA_INIT=init, GXNOR_SKIP_GPU_CHECK='')
    proc = subprocess.Popen([sys.executable, GPU_CHECK], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = proc.communicate()[0].decode('utf-8')
    return proc.returncode, out


@pytest.mark.parametrize('cap,name', [('3.7', 'Tesla K80'), ('5.2', 'Tesla M40'),
                                      ('6.0', 'Tesla P100-PCIE-16GB'), ('6.1', 'TITAN Xp')])
def test_pre_volta_capabilities_are_accepted(libcuda, tmpdir, cap, name):
    status, out = gate(libcuda, tmpdir, '%s:%s' % (cap, name))
    assert status == 0, out
    assert 'ok: CUDA device 0 "%s" (compute capability %s, from CUDA driver API)' % (
        name, cap) in out, out


@pytest.mark.parametrize('cap', ['7.0', '7.5', '8.0', '9.0', '12.0'])
def test_volta_and_newer_capabilities_are_refused(libcuda, tmpdir, cap):
    # named like an old part: the capability decides, not the name
    status, out = gate(libcuda, tmpdir, '%s:Tesla K80' % cap)
    assert status == 3, out
    assert 'REFUSING to run Theano 0.8.2 on a Volta-or-newer GPU' in out, out
    assert '(compute capability %s, from CUDA driver API)' % cap in out, out


def test_one_new_gpu_among_old_ones_is_refused(libcuda, tmpdir):
    status, out = gate(libcuda, tmpdir, '3.7:Tesla K80;3.7:Tesla K80;8.0:NVIDIA A100')
    assert status == 3, out
    assert 'ok: CUDA device 0 "Tesla K80"' in out and 'ok: CUDA device 1 "Tesla K80"' in out
    assert 'CUDA device 2 "NVIDIA A100" (compute capability 8.0' in out, out
    assert 'DOCKER_GPUS=\'"device=N"\'' in out, out


def test_a_driver_that_fails_to_start_is_no_gpu(libcuda, tmpdir):
    status, out = gate(libcuda, tmpdir, '3.7:Tesla K80', init='100')
    assert status == 3, out
    assert 'no NVIDIA GPU is visible' in out, out


def test_a_driver_without_devices_is_no_gpu(libcuda, tmpdir):
    status, out = gate(libcuda, tmpdir, '')
    assert status == 3, out
    assert 'no NVIDIA GPU is visible' in out, out
