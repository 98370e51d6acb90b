#!/usr/bin/env python
"""Refuse to start the GPU image on a GPU that Theano 0.8.2 gets wrong.

Theano 0.8.2's old CUDA backend (device=gpu) returns wrong reductions on
GPUs of compute capability 7.0 and newer (Volta, Turing, Ampere, Ada, Hopper,
Blackwell): measured on an H200, the sum of 32 float32 values came out 3.72
instead of 17.53, and Theano's own driver test fails on import. The GPU image
is therefore only for Kepler, Maxwell and Pascal GPUs (compute capability
below 7.0; the GXNOR-Net authors used a Tesla K80, capability 3.7).

How the capability is found, first answer wins:
  1. `nvidia-smi --query-gpu=index,name,compute_cap` (newer drivers only;
     older ones, e.g. the 470 series that Kepler needs, reject the field);
  2. the CUDA driver API through ctypes (libcuda.so.1, which the NVIDIA
     container runtime mounts into the container);
  3. the GPU names from `nvidia-smi`, matched against known families.

Exit status: 0 when every visible GPU is known to be older than Volta,
3 when the check refuses, 0 with a loud warning when GXNOR_SKIP_GPU_CHECK=1.
Runs on Python 2.7 (inside the image) and Python 3.
"""
from __future__ import absolute_import, division, print_function

import ctypes
import os
import re
import subprocess
import sys

REFUSE_STATUS = 3
MIN_BAD = (7, 0)

# Names of GPUs of compute capability >= 7.0. Every "RTX" product is Turing or
# newer; A/H/L/B + digits are the Ampere, Hopper, Ada and Blackwell data-centre
# parts (A100, A10, H100, H200, L4, L40S, B200, GH200, ...).
VOLTA_OR_NEWER = [re.compile(p, re.IGNORECASE) for p in (
    r'V100', r'\bTITAN V\b', r'\bGV100\b', r'\bRTX\b', r'\bGTX 16\d\d',
    r'\bT4\b', r'\bT(400|550|600|1000|1200)\b', r'\bMX(450|550|570)\b',
    r'\b[ABHL]\d{1,3}[A-Z]?\b', r'\bG?[BH]\d{3}\b', r'Xavier', r'Orin',
)]

# Names of Kepler / Maxwell / Pascal GPUs (compute capability 3.0 to 6.2).
PRE_VOLTA = [re.compile(p, re.IGNORECASE) for p in (
    r'\bTesla [KMP]\d+', r'\bGRID [KM]\d+', r'\bQuadro ([KMP]|GP)\d+',
    r'\bGTX ([6-9]\d\d|10[5-8]0)', r'\bGTX TITAN\b', r'\bTITAN (X|Xp|Black|Z)\b',
    r'\bGT (6|7|9)\d\d\b', r'\bGT 1030\b',
)]


def log(msg):
    sys.stderr.write(msg + '\n')


def _run(cmd):
    """(status, stdout text) of a command, or (None, '') if it cannot start."""
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out, _ = proc.communicate()
    except OSError:
        return None, ''
    return proc.returncode, out.decode('utf-8', 'replace')


def _parse_cap(text):
    m = re.match(r'^\s*(\d+)\.(\d+)\s*$', text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def from_nvidia_smi():
    """[(label, name, (major, minor))] or None when the query is unsupported."""
    status, out = _run(['nvidia-smi', '--query-gpu=index,name,compute_cap',
                        '--format=csv,noheader'])
    if status != 0:
        return None
    gpus = []
    for line in out.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(',')]
        if len(parts) < 3:
            return None
        cap = _parse_cap(parts[-1])
        if cap is None:
            return None
        gpus.append(('GPU ' + parts[0], ', '.join(parts[1:-1]), cap))
    return gpus


def from_libcuda():
    """[(label, name, (major, minor))] via the CUDA driver API, or None."""
    libname = os.environ.get('GXNOR_LIBCUDA', 'libcuda.so.1')
    try:
        cuda = ctypes.CDLL(libname)
    except OSError:
        return None
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return None
    gpus = []
    for i in range(count.value):
        dev = ctypes.c_int(0)
        major = ctypes.c_int(0)
        minor = ctypes.c_int(0)
        name = ctypes.create_string_buffer(256)
        if cuda.cuDeviceGet(ctypes.byref(dev), i) != 0:
            return None
        # 75 and 76: CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / _MINOR
        if (cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, dev) != 0 or
                cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, dev) != 0):
            return None
        cuda.cuDeviceGetName(name, 256, dev)
        gpus.append(('CUDA device %d' % i,
                     name.value.decode('utf-8', 'replace'),
                     (major.value, minor.value)))
    return gpus


def from_names():
    """[(label, name, None)] from `nvidia-smi`, or None."""
    status, out = _run(['nvidia-smi', '--query-gpu=index,name',
                        '--format=csv,noheader'])
    if status != 0:
        return None
    gpus = []
    for line in out.splitlines():
        if line.strip():
            index, _, name = line.partition(',')
            gpus.append(('GPU ' + index.strip(), name.strip(), None))
    return gpus


def classify_name(name):
    """'new' (>= 7.0), 'old' (< 7.0) or None (unknown) from a GPU name."""
    if any(p.search(name) for p in VOLTA_OR_NEWER):
        return 'new'
    if any(p.search(name) for p in PRE_VOLTA):
        return 'old'
    return None


CPU_HINT = """\
Use the CPU image instead (same code, same pins, correct numbers):
    make docker-build-cpu
    make docker-run-cpu TARGET=<target>
or install on the host with `make` (see docs/docker.md)."""


def check():
    gpus, source = None, None
    for source, probe in (('nvidia-smi compute_cap', from_nvidia_smi),
                          ('CUDA driver API', from_libcuda),
                          ('GPU name', from_names)):
        gpus = probe()
        if gpus is not None:
            break
    if not gpus:
        log('gxnor: no NVIDIA GPU is visible in this container (neither '
            'nvidia-smi nor libcuda.so.1 reports one).\n'
            'Run the GPU image with `--gpus all` (make docker-run does), or '
            'use the CPU image.\n' + CPU_HINT)
        return REFUSE_STATUS
    bad, unknown = [], []
    for label, name, cap in gpus:
        if cap is None:
            kind = classify_name(name)
            shown = 'capability unknown, named like a %s GPU' % (
                {'new': 'Volta-or-newer', 'old': 'pre-Volta'}.get(kind, 'unlisted'))
        else:
            kind = 'new' if cap >= MIN_BAD else 'old'
            shown = 'compute capability %d.%d' % cap
        line = '%s "%s" (%s, from %s)' % (label, name, shown, source)
        if kind == 'new':
            bad.append(line)
        elif kind is None:
            unknown.append(line)
        else:
            log('gxnor: ok: ' + line)
    if bad:
        log('gxnor: REFUSING to run Theano 0.8.2 on a Volta-or-newer GPU:\n  ' +
            '\n  '.join(bad) + '\n'
            "Theano 0.8.2's old GPU backend (device=gpu) computes wrong "
            'reductions on compute capability >= 7.0\n(measured on an H200: '
            'a sum of 32 floats gave 3.72 instead of 17.53), so training here '
            'would\nproduce wrong numbers. This image is for Kepler/Maxwell/'
            'Pascal GPUs (e.g. the authors\' Tesla K80).\n' + CPU_HINT +
            '\nIf the machine also has an older GPU, pick it with '
            'DOCKER_GPUS=\'"device=N"\'.')
        return REFUSE_STATUS
    if unknown:
        log('gxnor: REFUSING: cannot tell whether these GPUs are older than '
            'Volta:\n  ' + '\n  '.join(unknown) + '\n'
            'Theano 0.8.2 computes wrong numbers on compute capability >= 7.0. '
            'If you are sure the GPU is a\nKepler/Maxwell/Pascal part, set '
            'GXNOR_SKIP_GPU_CHECK=1.\n' + CPU_HINT)
        return REFUSE_STATUS
    return 0


def main():
    if os.environ.get('GXNOR_SKIP_GPU_CHECK') == '1':
        log('gxnor: WARNING: GXNOR_SKIP_GPU_CHECK=1, GPU check skipped. On a '
            'Volta-or-newer GPU (compute capability >= 7.0) Theano 0.8.2 '
            'gives WRONG numbers; use this only for debugging.')
        return 0
    return check()


if __name__ == '__main__':
    sys.exit(main())
