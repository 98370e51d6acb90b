# gxnor-check: base-image
#
# A local stand-in for the deleted Docker Hub tag
# nvidia/cuda:8.0-cudnn5-devel-ubuntu16.04: Ubuntu 16.04 + the CUDA 8.0
# toolkit pieces Theano 0.8.2's old GPU backend needs + cuDNN 5.1 (Theano 0.8.2
# supports cuDNN v4 final (4007) up to v5.1), all from NVIDIA's apt
# repositories for ubuntu1604. docker/gpu.Dockerfile builds on top of it.
#
#   make docker-build-cuda8          (make docker-build runs it when needed)
#
# If you have a mirror of the original NVIDIA image, skip this file and pass
# DOCKER_GPU_BASE=<mirror>/nvidia/cuda:8.0-cudnn5-devel-ubuntu16.04 instead
# (see docs/docker.md). Untested here: no Docker engine on the CI machines.
ARG UBUNTU_IMAGE=ubuntu:16.04
FROM ${UBUNTU_IMAGE}

ARG CUDA_REPO=https://developer.download.nvidia.com/compute/cuda/repos/ubuntu1604/x86_64
ARG ML_REPO=https://developer.download.nvidia.com/compute/machine-learning/repos/ubuntu1604/x86_64
# NVIDIA's repository signing key since the April 2022 key rotation.
ARG NVIDIA_KEY_URL=https://developer.download.nvidia.com/compute/cuda/repos/ubuntu1604/x86_64/3bf863cc.pub
ARG NVIDIA_KEY_FPR=EB693B3035CD5710E231E123A4B469963BF863CC
# Empty CUDNN_VERSION: no cuDNN (then build docker/gpu.Dockerfile with DNN_ENABLED=False).
ARG CUDNN_VERSION=5.1.10-1+cuda8.0
ARG DEBIAN_FRONTEND=noninteractive

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The apt key is checked against its full fingerprint before apt trusts it.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && gnupghome="$(mktemp -d)" \
 && curl -fsSL "$NVIDIA_KEY_URL" -o /tmp/nvidia-key.asc \
 && gpg --homedir "$gnupghome" --batch --with-colons --with-fingerprint /tmp/nvidia-key.asc \
      | grep -q "^fpr:::::::::${NVIDIA_KEY_FPR}:" \
 && gpg --homedir "$gnupghome" --batch --dearmor < /tmp/nvidia-key.asc > /usr/share/keyrings/nvidia-cuda.gpg \
 && rm -rf "$gnupghome" /tmp/nvidia-key.asc \
 && echo "deb [signed-by=/usr/share/keyrings/nvidia-cuda.gpg] $CUDA_REPO /" > /etc/apt/sources.list.d/cuda.list \
 && echo "deb [signed-by=/usr/share/keyrings/nvidia-cuda.gpg] $ML_REPO /" > /etc/apt/sources.list.d/nvidia-ml.list \
 && rm -rf /var/lib/apt/lists/*

# The -8-0 packages only ever received CUDA 8.0 builds, and the repository is
# frozen, so the names pin the toolkit; cuDNN is pinned explicitly.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cuda-core-8-0 cuda-misc-headers-8-0 cuda-command-line-tools-8-0 \
      cuda-cudart-dev-8-0 cuda-cublas-dev-8-0 cuda-curand-dev-8-0 cuda-driver-dev-8-0 \
      ${CUDNN_VERSION:+libcudnn5=$CUDNN_VERSION libcudnn5-dev=$CUDNN_VERSION} \
 && { [ -e /usr/local/cuda ] || ln -s cuda-8.0 /usr/local/cuda; } \
 && rm -rf /var/lib/apt/lists/*

ENV CUDA_HOME=/usr/local/cuda \
    PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:${PATH} \
    LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64:/usr/local/cuda/lib64 \
    LIBRARY_PATH=/usr/local/cuda/lib64/stubs \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    NVIDIA_REQUIRE_CUDA=cuda>=8.0
