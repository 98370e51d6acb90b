# The GPU image: Python 2.7 + the pinned stack of requirements.txt + Theano
# 0.8.2 with device=gpu on CUDA 8.0 and cuDNN 5.1.
#
# FOR KEPLER / MAXWELL / PASCAL GPUs ONLY (compute capability < 7.0; the
# authors used a Tesla K80). Theano 0.8.2's old GPU backend computes wrong
# reductions on Volta and newer, so the entrypoint refuses those GPUs; use
# docker/cpu.Dockerfile there. See docs/docker.md.
#
#   make docker-build                  (builds docker/cuda8.Dockerfile first if needed)
#   make docker-run TARGET=mnist
#
# BASE_IMAGE must be an Ubuntu 16.04 image with CUDA 8.0 (+ cuDNN 5.1) in
# /usr/local/cuda: by default the one docker/cuda8.Dockerfile builds locally,
# because NVIDIA deleted nvidia/cuda:8.0-* from Docker Hub. Build context: the
# repository root (docker/gpu.Dockerfile.dockerignore keeps it small).
# No digest: the default base is built locally (make docker-build-cuda8), so it has
# no registry digest; give a mirror by digest through DOCKER_GPU_BASE.
ARG BASE_IMAGE=gxnor/cuda:8.0-cudnn5-devel-ubuntu16.04
# x86-64 only (CUDA 8 and the pinned wheels): forced, so an arm64 host emulates it.
# hadolint ignore=DL3029
FROM --platform=linux/amd64 ${BASE_IMAGE}

# True: Theano must use cuDNN (error if it cannot); False: never use it (for a
# base image without cuDNN v4/v5, which Theano 0.8.2 cannot use).
ARG DNN_ENABLED=True
ARG DEBIAN_FRONTEND=noninteractive
ARG PIP_NO_CACHE_DIR=1
ARG PIP_DISABLE_PIP_VERSION_CHECK=1
# As in docker/cpu.Dockerfile: extra certificate authorities (a PEM file under
# docker/local/, make: DOCKER_CA_BUNDLE=...) and the GitHub-only extras from `git
# archive` tarballs (a folder under docker/local/, make: DOCKER_EXTRAS_DIR=...).
ARG EXTRA_CA_BUNDLE=
ARG EXTRAS_DIR=

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Ubuntu 16.04's own Python 2.7 and compilers (g++ 5.4 is a host compiler CUDA
# 8 supports), installed by tools/install-stack.sh (with the compiler, make,
# OpenBLAS and git it installs on every machine, CI included). Its pip (8.1)
# ignores Requires-Python; the script bootstraps pip 20.3.4, the last pip for
# Python 2.7, before it installs anything else. python-setuptools: --no-install-recommends
# leaves it out of python-pip, and the bootstrap builds scandir (a dependency of
# virtualenv 20.15.1 on Python 2.7, no wheel for Linux) from source with it.
COPY tools/install-stack.sh tools/doctor.sh /opt/gxnor/tools/
COPY docker/local/ /opt/gxnor/local/
RUN /opt/gxnor/tools/install-stack.sh os-packages python2.7 python2.7-dev python-pip python-setuptools \
 && if [ -n "$EXTRA_CA_BUNDLE" ]; then \
      cp "/opt/gxnor/$EXTRA_CA_BUNDLE" /usr/local/share/ca-certificates/gxnor-extra-ca.crt \
      && update-ca-certificates; \
    fi

# pip (and Python's ssl) trust the system's bundle, with EXTRA_CA_BUNDLE in it.
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

# The Python environment: `make env`, the very target CI runs (make doctor, then
# tools/install-stack.sh) from the same requirements.txt, into /opt/gxnor-venv:
# outside the repository, which is mounted at /work at run time. With
# EXTRA_REQUIREMENTS the script then installs, without dependencies, the
# GitHub-only versions the authors used (Lasagne 0.2.dev1 REPLACES
# requirements.txt's Lasagne 0.1 here; pylearn2).
COPY Makefile requirements.txt /opt/gxnor/
COPY docker/docker.mk docker/requirements-extra.txt /opt/gxnor/docker/
RUN GXNOR_EXTRAS_DIR="${EXTRAS_DIR:+/opt/gxnor/$EXTRAS_DIR}" \
      make -C /opt/gxnor env VENV=/opt/gxnor-venv PYTHON27=/usr/bin/python2.7 \
      EXTRA_REQUIREMENTS=docker/requirements-extra.txt \
 && rm -rf /opt/gxnor/build

COPY docker/entrypoint.sh docker/gpu_check.py docker/verify_env.py docker/theanorc-gpu /opt/gxnor/docker/
RUN install -D -m 0644 /opt/gxnor/docker/theanorc-gpu /etc/gxnor/theanorc \
 && sed -i "s/^enabled = True\$/enabled = ${DNN_ENABLED}/" /etc/gxnor/theanorc \
 && THEANORC=/etc/gxnor/theanorc THEANO_FLAGS=device=cpu,base_compiledir=/tmp/theano-verify \
      /opt/gxnor-venv/bin/python /opt/gxnor/docker/verify_env.py \
      /opt/gxnor/requirements.txt /opt/gxnor/docker/requirements-extra.txt \
 && rm -rf /tmp/theano-verify

# Theano's compile cache for the CPU-side code, warmed now (make warm-cache). The
# build has no GPU, so the GPU kernels (nvcc) are compiled at the first run; the
# host-side C code of the MNIST net is ready. The entrypoint copies the cache into
# the mounted build/ folder on first use.
COPY src/ /opt/gxnor/src/
RUN THEANORC=/etc/gxnor/theanorc THEANO_FLAGS=device=cpu,base_compiledir=/opt/gxnor/theano-cache \
      make -C /opt/gxnor warm-cache VENV=/opt/gxnor-venv \
 && chmod -R a+rX /opt/gxnor/theano-cache

LABEL org.opencontainers.image.title="gxnor GPU (Theano 0.8.2, CUDA 8; Kepler/Maxwell/Pascal only)"
ENV GXNOR_IMAGE=gpu \
    GXNOR_VENV=/opt/gxnor-venv \
    THEANORC=/etc/gxnor/theanorc \
    PATH=/opt/gxnor-venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /work
ENTRYPOINT ["/bin/bash", "/opt/gxnor/docker/entrypoint.sh"]
CMD ["make", "help"]
