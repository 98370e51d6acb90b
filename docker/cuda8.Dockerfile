# gxnor-check: base-image
#
# A local stand-in for the deleted Docker Hub tag
# nvidia/cuda:8.0-cudnn5-devel-ubuntu16.04: Ubuntu 16.04 + the CUDA 8.0 toolkit
# pieces Theano 0.8.2's old GPU backend needs (from NVIDIA's CUDA apt repository
# for ubuntu1604, signed with NVIDIA's current key) + cuDNN 5.1 for CUDA 8.0 (from
# NVIDIA's redistributable tarball, checked against a pinned sha256).
# docker/gpu.Dockerfile builds on top of it.
#
#   make docker-build-cuda8          (make docker-build runs it when needed)
#
# The authors used CUDA 7.5 and cuDNN v4; see docs/docker.md for why this image has
# CUDA 8.0 and cuDNN 5.1, and for the warning Theano 0.8.2 prints about it.
#
# Base image: ubuntu:16.04 by tag. Its digest could not be looked up where this was
# written (no registry access); to pin it, pass
#   DOCKER_BUILD_ARGS='--build-arg UBUNTU_IMAGE=ubuntu:16.04@sha256:<digest>'
# with the digest from `docker buildx imagetools inspect ubuntu:16.04`.
# Not built anywhere yet: no registry (ubuntu:16.04) and no NVIDIA access from our
# machines (tools/check_pins.py checks it statically; docs/docker.md).
ARG UBUNTU_IMAGE=ubuntu:16.04
# x86-64 only (NVIDIA's ubuntu1604/x86_64 repository): forced, as on an arm64 host.
# hadolint ignore=DL3029
FROM --platform=linux/amd64 ${UBUNTU_IMAGE}

ARG CUDA_REPO=https://developer.download.nvidia.com/compute/cuda/repos/ubuntu1604/x86_64
# NVIDIA's repository signing key since the April 2022 key rotation; the CUDA
# repository for ubuntu1604 is signed with it. (The machine-learning repository,
# where libcudnn5 lived, was never re-signed: apt rejects it, so it is not used.)
ARG NVIDIA_KEY_URL=https://developer.download.nvidia.com/compute/cuda/repos/ubuntu1604/x86_64/3bf863cc.pub
ARG NVIDIA_KEY_FPR=EB693B3035CD5710E231E123A4B469963BF863CC
# cuDNN 5.1 for CUDA 8.0 (5.1.10), NVIDIA's redistributable tarball. The sha256 is
# the one NVIDIA's own cuda:8.0-cudnn5 Dockerfiles checked from 2017 on (an earlier
# 5.1 build at the same address had a87cb2df2e5e7cc0a05e266734e679ee1a2fadad6f06af82a76ed81a23b102c8).
# Empty CUDNN_URL: no cuDNN (then build docker/gpu.Dockerfile with DNN_ENABLED=False).
ARG CUDNN_URL=https://developer.download.nvidia.com/compute/redist/cudnn/v5.1/cudnn-8.0-linux-x64-v5.1.tgz
ARG CUDNN_SHA256=c10719b36f2dd6e9ddc63e3189affaa1a94d7d027e63b71c3f64d449ab0645ce
ARG DEBIAN_FRONTEND=noninteractive

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Ubuntu 16.04's apt (1.2) cannot fetch https:// sources by itself: the
# apt-transport-https package comes first, from Ubuntu's own (http) archive, with
# the CA certificates that let it trust NVIDIA's server. The key is checked against
# its full fingerprint before apt trusts it (a binary keyring in trusted.gpg.d,
# which apt 1.2 reads).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends apt-transport-https ca-certificates curl gnupg \
 && gnupghome="$(mktemp -d)" \
 && curl -fsSL "$NVIDIA_KEY_URL" -o /tmp/nvidia-key.asc \
 && gpg --homedir "$gnupghome" --batch --with-colons --with-fingerprint /tmp/nvidia-key.asc \
      | grep -q "^fpr:::::::::${NVIDIA_KEY_FPR}:" \
 && gpg --homedir "$gnupghome" --batch --dearmor < /tmp/nvidia-key.asc > /etc/apt/trusted.gpg.d/nvidia-cuda.gpg \
 && chmod 0644 /etc/apt/trusted.gpg.d/nvidia-cuda.gpg \
 && rm -rf "$gnupghome" /tmp/nvidia-key.asc \
 && echo "deb $CUDA_REPO /" > /etc/apt/sources.list.d/cuda.list \
 && rm -rf /var/lib/apt/lists/*

# The -8-0 packages only ever received CUDA 8.0 builds, and the repository is
# frozen, so the names pin the toolkit.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cuda-core-8-0 cuda-misc-headers-8-0 cuda-command-line-tools-8-0 \
      cuda-cudart-dev-8-0 cuda-cublas-dev-8-0 cuda-curand-dev-8-0 cuda-driver-dev-8-0 \
 && { [ -e /usr/local/cuda ] || ln -s cuda-8.0 /usr/local/cuda; } \
 && rm -rf /var/lib/apt/lists/*

# cuDNN: the tarball is checked before anything of it is used, then its header and
# libraries are copied into the toolkit (through /usr/local/cuda, a symlink).
RUN if [ -n "$CUDNN_URL" ]; then \
      curl -fsSL "$CUDNN_URL" -o /tmp/cudnn.tgz \
      && echo "$CUDNN_SHA256  /tmp/cudnn.tgz" | sha256sum -c --strict - \
      && mkdir /tmp/cudnn && tar -xzf /tmp/cudnn.tgz -C /tmp/cudnn \
      && cp -P /tmp/cudnn/cuda/include/cudnn.h /usr/local/cuda/include/ \
      && cp -P /tmp/cudnn/cuda/lib64/libcudnn* /usr/local/cuda/lib64/ \
      && rm -rf /tmp/cudnn /tmp/cudnn.tgz \
      && ldconfig /usr/local/cuda/lib64; \
    fi

ENV CUDA_HOME=/usr/local/cuda \
    PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:${PATH} \
    LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64:/usr/local/cuda/lib64 \
    LIBRARY_PATH=/usr/local/cuda/lib64/stubs \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    NVIDIA_REQUIRE_CUDA=cuda>=8.0
