# The CPU image: Debian 11 "bullseye" with Debian's own Python 2.7 + the pinned
# stack of requirements.txt + Theano 0.8.2 on the CPU (OpenBLAS). Right for any
# x86-64 machine, including those with a Volta-or-newer GPU, on which Theano
# 0.8.2's GPU backend gives wrong numbers. Always linux/amd64: the pinned wheels
# (numpy 1.11.1, scipy 0.18.1, matplotlib 2.2.5) exist for x86-64 only, so on an
# arm64 host (Apple silicon, Graviton) it is built and run under emulation.
#
#   make docker-build-cpu             make docker-selftest (build + checks inside)
#   make docker-run-cpu TARGET=mnist
#
# Build context: the repository root (docker/cpu.Dockerfile.dockerignore keeps
# it small). See docs/docker.md.
#
# Base image by tag: no digest could be looked up where this was written (no registry
# access; CI builds the base with debootstrap). To pin it by digest: make
# docker-build-cpu DOCKER_CPU_BASE=debian:bullseye-slim@sha256:<digest of the
# linux/amd64 image, from `docker buildx imagetools inspect debian:bullseye-slim`>.
ARG BASE_IMAGE=debian:bullseye-slim
# hadolint ignore=DL3029
FROM --platform=linux/amd64 ${BASE_IMAGE}

ARG DEBIAN_FRONTEND=noninteractive
ARG PIP_NO_CACHE_DIR=1
ARG PIP_DISABLE_PIP_VERSION_CHECK=1
# Where apt finds bullseye: a Debian mirror host (deb.debian.org), or
# archive.debian.org once bullseye has left the mirrors (docs/docker.md says how to
# tell); the archive's Release files are past their Valid-Until date, so apt is told
# not to check that date there.
ARG DEBIAN_SOURCE=deb.debian.org
# Certificate authorities to trust besides Debian's (e.g. a TLS-inspecting proxy's):
# a PEM file in the build context under docker/local/ (make: DOCKER_CA_BUNDLE=...).
ARG EXTRA_CA_BUNDLE=
# The GitHub-only extras from `git archive` tarballs instead of GitHub: a folder in
# the build context under docker/local/ (make: DOCKER_EXTRAS_DIR=...). Empty: GitHub.
ARG EXTRAS_DIR=
ARG PIP_WHEEL_URL=https://files.pythonhosted.org/packages/27/79/8a850fe3496446ff0d584327ae44e7500daf6764ca1a382d2d02789accf7/pip-20.3.4-py2.py3-none-any.whl
ARG PIP_WHEEL_SHA256=217ae5161a0e08c0fb873858806e3478c9775caffce5168b50ec885e358c199d

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Debian's Python 2.7 (python2.7 2.7.18 with Debian's security fixes, its headers, and
# setuptools 44.1.1, which builds scandir's source package for the bootstrap) and the
# packages every machine gets from tools/install-stack.sh, the script CI runs too:
# compiler, make, OpenBLAS (Debian's, built with DYNAMIC_ARCH: OPENBLAS_CORETYPE
# holds), git. Bullseye has no pip for Python 2 (its python-pip-whl is Python 3
# code: f-strings), so pip 20.3.4, the last for Python 2.7 and the script's own
# bootstrap pin, comes from PyPI as a wheel checked against its sha256 (PIP_WHEEL_*),
# and installs itself from that file.
COPY tools/install-stack.sh tools/doctor.sh /opt/gxnor/tools/
COPY docker/local/ /opt/gxnor/local/
# hadolint ignore=DL3008
RUN if [ "$DEBIAN_SOURCE" = archive.debian.org ]; then \
      { echo "deb http://archive.debian.org/debian bullseye main"; \
        echo "deb http://archive.debian.org/debian-security bullseye-security main"; } > /etc/apt/sources.list \
      && echo 'Acquire::Check-Valid-Until "false";' > /etc/apt/apt.conf.d/99gxnor-archived-release; \
    else \
      { echo "deb http://${DEBIAN_SOURCE}/debian bullseye main"; \
        echo "deb http://${DEBIAN_SOURCE}/debian bullseye-updates main"; \
        echo "deb http://${DEBIAN_SOURCE}/debian-security bullseye-security main"; } > /etc/apt/sources.list; \
    fi \
 && rm -f /etc/apt/sources.list.d/*.list \
 && /opt/gxnor/tools/install-stack.sh os-packages python2.7 python2.7-dev python-setuptools curl \
 && if [ -n "$EXTRA_CA_BUNDLE" ]; then \
      cp "/opt/gxnor/$EXTRA_CA_BUNDLE" /usr/local/share/ca-certificates/gxnor-extra-ca.crt \
      && update-ca-certificates; \
    fi \
 && whl=/tmp/pip-20.3.4-py2.py3-none-any.whl \
 && curl -fsSL --retry 3 "$PIP_WHEEL_URL" -o "$whl" \
 && echo "$PIP_WHEEL_SHA256  $whl" | sha256sum -c --strict - \
 && python2.7 "$whl/pip" install --no-index --no-cache-dir "$whl" \
 && rm -f "$whl" \
 && python2.7 -m pip --version

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

LABEL org.opencontainers.image.title="gxnor CPU (Debian 11, Python 2.7, Theano 0.8.2, OpenBLAS)"
ENV GXNOR_IMAGE=cpu \
    GXNOR_VENV=/opt/gxnor-venv \
    THEANORC=/etc/gxnor/theanorc \
    PATH=/opt/gxnor-venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /work
ENTRYPOINT ["/bin/bash", "/opt/gxnor/docker/entrypoint.sh"]
CMD ["make", "help"]
