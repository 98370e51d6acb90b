# The CPU image: Python 2.7 + the pinned stack of requirements.txt + Theano
# 0.8.2 on the CPU (OpenBLAS). Right for any machine, including those with a
# Volta-or-newer GPU, on which Theano 0.8.2's GPU backend gives wrong numbers.
#
#   make docker-build-cpu
#   make docker-run-cpu TARGET=mnist
#
# Build context: the repository root (docker/cpu.Dockerfile.dockerignore keeps
# it small). See docs/docker.md.
# Base image by tag: its digest could not be looked up where this was written (no
# registry access). To pin it: make docker-build-cpu
#   DOCKER_CPU_BASE=python:2.7.18-slim-buster@sha256:<digest from `docker buildx
#   imagetools inspect python:2.7.18-slim-buster`>. The tag is frozen upstream
# (Python 2.7 images are no longer rebuilt).
ARG BASE_IMAGE=python:2.7.18-slim-buster
FROM ${BASE_IMAGE}

ARG DEBIAN_FRONTEND=noninteractive
ARG PIP_NO_CACHE_DIR=1
ARG PIP_DISABLE_PIP_VERSION_CHECK=1

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# python:2.7.18-slim-buster is Debian 10 "buster", whose packages moved to
# archive.debian.org; that archive's Release files are past their Valid-Until
# date, so apt must be told not to check it. Only the final buster release
# (10.13) is used: a frozen set, which is why the packages need no version pins.
# The Debian packages themselves (compiler, make, OpenBLAS, git) are installed by
# tools/install-stack.sh, the script CI runs too. Python's headers come with the
# base image (its Python is built from source), so python2.7-dev is not wanted.
COPY tools/install-stack.sh tools/doctor.sh /opt/gxnor/tools/
RUN printf 'deb http://archive.debian.org/debian buster main\n' > /etc/apt/sources.list \
 && rm -f /etc/apt/sources.list.d/*.list \
 && printf 'Acquire::Check-Valid-Until "false";\n' > /etc/apt/apt.conf.d/99gxnor-archived-release \
 && /opt/gxnor/tools/install-stack.sh os-packages

# The Python environment: `make env`, the very target CI runs (make doctor, then
# tools/install-stack.sh) from the same requirements.txt, into /opt/gxnor-venv:
# outside the repository, which is mounted at /work at run time. With
# EXTRA_REQUIREMENTS the script then installs, without dependencies, the
# GitHub-only versions the authors used (Lasagne 0.2.dev1 REPLACES
# requirements.txt's Lasagne 0.1 here; pylearn2).
COPY Makefile requirements.txt /opt/gxnor/
COPY docker/docker.mk docker/requirements-extra.txt /opt/gxnor/docker/
RUN make -C /opt/gxnor env VENV=/opt/gxnor-venv PYTHON27=/usr/local/bin/python2.7 \
      EXTRA_REQUIREMENTS=docker/requirements-extra.txt \
 && rm -rf /opt/gxnor/build

COPY docker/entrypoint.sh docker/verify_env.py docker/theanorc-cpu /opt/gxnor/docker/
RUN install -D -m 0644 /opt/gxnor/docker/theanorc-cpu /etc/gxnor/theanorc \
 && THEANORC=/etc/gxnor/theanorc THEANO_FLAGS=base_compiledir=/tmp/theano-verify \
      /opt/gxnor-venv/bin/python /opt/gxnor/docker/verify_env.py \
      /opt/gxnor/requirements.txt /opt/gxnor/docker/requirements-extra.txt \
 && rm -rf /tmp/theano-verify

# Theano's compile cache, warmed now (make warm-cache: the MNIST net's functions,
# compiled with the Makefile's flags) so that the first epoch in a container starts
# at once; the entrypoint copies it into the mounted build/ folder on first use.
COPY src/ /opt/gxnor/src/
RUN THEANORC=/etc/gxnor/theanorc THEANO_FLAGS=base_compiledir=/opt/gxnor/theano-cache \
      make -C /opt/gxnor warm-cache VENV=/opt/gxnor-venv \
 && chmod -R a+rX /opt/gxnor/theano-cache

LABEL org.opencontainers.image.title="gxnor CPU (Theano 0.8.2, OpenBLAS)"
ENV GXNOR_IMAGE=cpu \
    GXNOR_VENV=/opt/gxnor-venv \
    THEANORC=/etc/gxnor/theanorc \
    PATH=/opt/gxnor-venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /work
ENTRYPOINT ["/bin/bash", "/opt/gxnor/docker/entrypoint.sh"]
CMD ["make", "help"]
