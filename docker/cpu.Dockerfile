# The CPU image: Python 2.7 + the pinned stack of requirements.txt + Theano
# 0.8.2 on the CPU (OpenBLAS). Right for any machine, including those with a
# Volta-or-newer GPU, on which Theano 0.8.2's GPU backend gives wrong numbers.
#
#   make docker-build-cpu
#   make docker-run-cpu TARGET=mnist
#
# Build context: the repository root (docker/cpu.Dockerfile.dockerignore keeps
# it small). See docs/docker.md.
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
# Python's headers come with the base image (its Python is built from source),
# so Debian's python2.7-dev is not wanted here.
# hadolint ignore=DL3008
RUN printf 'deb http://archive.debian.org/debian buster main\n' > /etc/apt/sources.list \
 && rm -f /etc/apt/sources.list.d/*.list \
 && printf 'Acquire::Check-Valid-Until "false";\n' > /etc/apt/apt.conf.d/99gxnor-archived-release \
 && apt-get update \
 && apt-get install -y --no-install-recommends make g++ libopenblas-dev git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python2.7 -m pip install --no-cache-dir pip==20.3.4

# The Python environment is built by the repository's own Makefile from the
# same requirements.txt that CI installs, into /opt/gxnor-venv: outside the
# repository, which is mounted at /work at run time.
COPY Makefile requirements.txt /opt/gxnor/
COPY docker/docker.mk /opt/gxnor/docker/
RUN make -C /opt/gxnor env VENV=/opt/gxnor-venv PYTHON27=/usr/local/bin/python2.7 \
 && rm -rf /opt/gxnor/build

# Then, without dependencies, the GitHub-only versions the authors used
# (Lasagne 0.2.dev1 REPLACES requirements.txt's Lasagne 0.1 here; pylearn2).
COPY docker/requirements-extra.txt /opt/gxnor/docker/
RUN /opt/gxnor-venv/bin/pip install --no-cache-dir --no-deps --force-reinstall \
      --src /opt/gxnor/src -r /opt/gxnor/docker/requirements-extra.txt

COPY docker/entrypoint.sh docker/verify_env.py docker/theanorc-cpu /opt/gxnor/docker/
RUN install -D -m 0644 /opt/gxnor/docker/theanorc-cpu /etc/gxnor/theanorc \
 && THEANORC=/etc/gxnor/theanorc THEANO_FLAGS=base_compiledir=/tmp/theano-verify \
      /opt/gxnor-venv/bin/python /opt/gxnor/docker/verify_env.py \
      /opt/gxnor/requirements.txt /opt/gxnor/docker/requirements-extra.txt \
 && rm -rf /tmp/theano-verify

LABEL org.opencontainers.image.title="gxnor CPU (Theano 0.8.2, OpenBLAS)"
ENV GXNOR_IMAGE=cpu \
    GXNOR_VENV=/opt/gxnor-venv \
    THEANORC=/etc/gxnor/theanorc \
    PATH=/opt/gxnor-venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /work
ENTRYPOINT ["/bin/bash", "/opt/gxnor/docker/entrypoint.sh"]
CMD ["make", "help"]
