# docker/docker.mk: the container targets, included by the top-level Makefile.
# Inside a container the commands are the same make targets as on the host:
#
#   make docker-mnist / docker-test         the README's two commands in the CPU image
#                                           (builds it first when missing)
#   make docker-gpu-mnist / docker-gpu-test the same in the GPU image
#   make docker-build                       GPU image (Kepler/Maxwell/Pascal GPUs only)
#   make docker-build-cpu                   CPU image (any machine)
#   make docker-run     TARGET=mnist        run `make mnist` in the GPU image
#   make docker-run-cpu TARGET=test         run `make test` in the CPU image
#   make docker-run-cpu TARGET=mnist DATA_DIR=/big/disk/datasets ARGS='VAR=value ...'
#   make docker-selftest                    build the CPU image, then run its checks in it
#                                           (verify_env, check-reproduction, the tests)
#
# DOCKER=podman works for every target (Podman builds with chroot isolation and the
# host's network, DOCKER_PODMAN_BUILD_FLAGS).
#
# The repository is mounted at /work, so results/, datasets/ and build/ are the
# host's; the container runs as the calling user. See docs/docker.md.
# Nothing here runs a command while the Makefile is parsed (the images include
# this file too, where there is no docker).

DOCKER            ?= docker
DOCKER_IMAGE_GPU  ?= gxnor:gpu
DOCKER_IMAGE_CPU  ?= gxnor:cpu
# The local CUDA 8 base image (docker/cuda8.Dockerfile); it must equal the
# default BASE_IMAGE of docker/gpu.Dockerfile (tools/check_pins.py checks).
DOCKER_CUDA8_IMAGE ?= gxnor/cuda:8.0-cudnn5-devel-ubuntu16.04
# Base images; empty means the Dockerfile's own default (its ARG BASE_IMAGE).
DOCKER_GPU_BASE   ?=
DOCKER_CPU_BASE   ?=
# GPU image: Theano's dnn.enabled (True, or False for a base without cuDNN 4/5).
DOCKER_DNN        ?=
# docker run --gpus value, e.g. DOCKER_GPUS='"device=1"' to pick one GPU.
DOCKER_GPUS       ?= all
DOCKER_BUILD_ARGS ?=
DOCKER_RUN_ARGS   ?=
# The images are x86-64 only (the pinned wheels are): built and run as linux/amd64,
# under emulation on an arm64 host.
DOCKER_PLATFORM   ?= linux/amd64
# Certificate authorities the images trust besides the distribution's (a PEM file,
# e.g. a TLS-inspecting proxy's CA, or the host's whole bundle).
DOCKER_CA_BUNDLE  ?=
# A folder of `git archive` tarballs of docker/requirements-extra.txt's GitHub commits
# (NAME-COMMIT.tar.gz), installed instead of fetching GitHub.
DOCKER_EXTRAS_DIR ?=
# Podman: chroot isolation and the host's network for the build steps (its default OCI
# runtime cannot start containers on every machine) and Docker's image format (OCI has
# no SHELL); it is also given each Dockerfile's .dockerignore, which BuildKit finds alone.
DOCKER_PODMAN_BUILD_FLAGS ?= --isolation chroot --network host --format docker
_dk_podman = $(filter podman,$(notdir $(firstword $(DOCKER))))
# Without a registry: the CPU image's base built with debootstrap (make
# docker-base-debootstrap, as root), then DOCKER_CPU_BASE=$(DOCKER_DEBOOTSTRAP_IMAGE).
DOCKER_DEBOOTSTRAP_IMAGE ?= gxnor/debian:bullseye-debootstrap
DEBIAN_MIRROR ?=
# $(call _dk_build_flags,DOCKERFILE): the engine's flags for building DOCKERFILE
_dk_build_flags = --platform $(DOCKER_PLATFORM) -f $(1) $(if $(_dk_podman),$(DOCKER_PODMAN_BUILD_FLAGS) --ignorefile $(1).dockerignore)
# Directory variables handed to make in the container when you set them
# (command line or environment): a directory inside the repository is passed
# as its path under /work, any other is mounted at /mnt/<NAME>. One directory
# each (a `:`-separated PYLEARN2_DATA_PATH list cannot be mounted).
DOCKER_DIR_VARS   ?= DATA_DIR MNIST_DIR GXNOR_DATA_DIR PYLEARN2_DATA_PATH
# The make target to run in the container, and more make arguments for it.
TARGET ?=
ARGS   ?=

_dk_comma := ,
# The top-level Makefile puts its own (host-path) Theano flags in front of the
# caller's THEANO_FLAGS; only the caller's part goes into the container.
_dk_theano_flags := $(THEANO_FLAGS)
ifneq ($(GXNOR_THEANO_FLAGS),)
_dk_theano_flags := $(patsubst $(_dk_comma)%,%,$(patsubst $(GXNOR_THEANO_FLAGS)%,%,$(_dk_theano_flags)))
endif

# A variable counts as given when it comes from the command line or environment.
_dk_given = $(and $(filter command line environment environment override,$(origin $(1))),$(strip $($(1))))
_dk_abs = $(abspath $(if $(filter /%,$(1)),$(1),$(CURDIR)/$(1)))
_dk_in_repo = $(filter $(CURDIR)/%,$(call _dk_abs,$(1))/)
_dk_mounts = $(foreach v,$(DOCKER_DIR_VARS),$(if $(call _dk_given,$(v)),$(if $(findstring :,$($(v))),$(error $(v)=$($(v)): give the container one directory, not a list))$(if $(call _dk_in_repo,$($(v))),,-v "$(call _dk_abs,$($(v))):/mnt/$(v)")))
_dk_dirvars = $(foreach v,$(DOCKER_DIR_VARS),$(if $(call _dk_given,$(v)),$(v)=$(if $(call _dk_in_repo,$($(v))),$(patsubst $(CURDIR)/%,/work/%,$(call _dk_abs,$($(v)))/),/mnt/$(v))))

# $(call _dk_run,IMAGE,KIND,EXTRA DOCKER RUN OPTIONS)
define _dk_run
	@if [ -z "$(TARGET)" ]; then \
	  echo "usage: make $@ TARGET=<make target> [ARGS='VAR=value ...'] [DATA_DIR=...]" >&2; exit 2; fi
	@mkdir -p build results
	tty=; if [ -t 0 ] && [ -t 1 ]; then tty=-it; fi; \
	$(DOCKER) run --rm --init $$tty \
	  --user "$$(id -u):$$(id -g)" -e HOME=/tmp/gxnor-home \
	  -v "$(CURDIR):/work" -w /work $(_dk_mounts) \
	  -e THEANO_FLAGS="base_compiledir=/work/build/theano-docker-$(2)$(if $(_dk_theano_flags),$(_dk_comma)$(_dk_theano_flags))" \
	  $(if $(GXNOR_SKIP_GPU_CHECK),-e GXNOR_SKIP_GPU_CHECK="$(GXNOR_SKIP_GPU_CHECK)") \
	  $(3) $(DOCKER_RUN_ARGS) $(1) \
	  make $(TARGET) $(_dk_dirvars) $(ARGS)
endef

.PHONY: docker-build docker-build-cpu docker-build-cuda8 docker-run docker-run-cpu docker-help \
        docker-mnist docker-mnist-quick docker-test docker-gpu-mnist docker-gpu-test \
        docker-selftest docker-local docker-base-debootstrap

docker-base-debootstrap:
	tools/debootstrap-base.sh $(firstword $(DOCKER)) $(DOCKER_DEBOOTSTRAP_IMAGE) $(DEBIAN_MIRROR)

# docker/local/ (the images COPY it): emptied, then DOCKER_CA_BUNDLE and DOCKER_EXTRAS_DIR
# staged in; _dk_local_args are the build arguments that point the Dockerfile at them.
docker-local:
	@find docker/local -mindepth 1 ! -name README.md -exec rm -rf {} +
	$(if $(DOCKER_CA_BUNDLE),cp "$(DOCKER_CA_BUNDLE)" docker/local/ca-bundle.crt)
	$(if $(DOCKER_EXTRAS_DIR),mkdir -p docker/local/extras && cp "$(DOCKER_EXTRAS_DIR)"/*.tar.gz docker/local/extras/)
_dk_local_args = $(if $(DOCKER_CA_BUNDLE),--build-arg EXTRA_CA_BUNDLE=local/ca-bundle.crt) \
                 $(if $(DOCKER_EXTRAS_DIR),--build-arg EXTRAS_DIR=local/extras)

# The README's commands in the CPU image, which is built first when it is missing.
# (THEANO_FLAGS: only the caller's part; the sub-make must not see the host's flags.)
docker-mnist docker-mnist-quick docker-test: docker-%:
	@$(DOCKER) image inspect $(DOCKER_IMAGE_CPU) >/dev/null 2>&1 || \
	  $(MAKE) --no-print-directory docker-build-cpu
	$(MAKE) --no-print-directory docker-run-cpu TARGET=$* THEANO_FLAGS='$(_dk_theano_flags)'

# The same in the GPU image (Kepler/Maxwell/Pascal only; its entrypoint refuses newer GPUs).
docker-gpu-mnist docker-gpu-test: docker-gpu-%:
	@$(DOCKER) image inspect $(DOCKER_IMAGE_GPU) >/dev/null 2>&1 || \
	  $(MAKE) --no-print-directory docker-build THEANO_FLAGS='$(_dk_theano_flags)'
	$(MAKE) --no-print-directory docker-run TARGET=$* THEANO_FLAGS='$(_dk_theano_flags)'

docker-help:
	@echo "make docker-mnist / docker-test   'make mnist' / 'make test' in the CPU image (built if missing)"
	@echo "make docker-gpu-mnist / docker-gpu-test   the same in the GPU image (built if missing)"
	@echo "make docker-build                 GPU image $(DOCKER_IMAGE_GPU) (Kepler/Maxwell/Pascal GPUs only)"
	@echo "make docker-build-cpu             CPU image $(DOCKER_IMAGE_CPU)"
	@echo "make docker-build-cuda8           only the local CUDA 8 base image $(DOCKER_CUDA8_IMAGE)"
	@echo "make docker-run TARGET=mnist      run 'make mnist' in the GPU image (--gpus $(DOCKER_GPUS))"
	@echo "make docker-run-cpu TARGET=mnist  run 'make mnist' in the CPU image"
	@echo "make docker-selftest              build the CPU image and run verify_env, check-reproduction"
	@echo "                                  and the tests inside it (MNIST_DIR=... to use local MNIST)"
	@echo "make docker-base-debootstrap      no registry: the CPU image's Debian 11 base from debootstrap (root)"
	@echo "  DOCKER=podman for Podman; DOCKER_CA_BUNDLE=... DOCKER_EXTRAS_DIR=... (docs/docker.md)"
	@echo "  more: DATA_DIR=/abs/path ARGS='VAR=value ...' DOCKER_GPU_BASE=... (docs/docker.md)"

docker-build-cuda8:
	DOCKER_BUILDKIT=1 $(DOCKER) build --platform $(DOCKER_PLATFORM) -f docker/cuda8.Dockerfile \
	  $(if $(_dk_podman),$(DOCKER_PODMAN_BUILD_FLAGS)) $(DOCKER_BUILD_ARGS) -t $(DOCKER_CUDA8_IMAGE) docker

# Builds the local CUDA 8 base first when the GPU image uses it and it is missing.
docker-build:
	@base="$(DOCKER_GPU_BASE)"; \
	if [ -z "$$base" ]; then base="$$(sed -n 's/^ARG BASE_IMAGE=//p' docker/gpu.Dockerfile)"; fi; \
	if [ "$$base" = "$(DOCKER_CUDA8_IMAGE)" ] && ! $(DOCKER) image inspect "$$base" >/dev/null 2>&1; then \
	  echo "$$base is not built yet: building it from docker/cuda8.Dockerfile"; \
	  $(MAKE) --no-print-directory docker-build-cuda8 || exit 1; fi
	@$(MAKE) --no-print-directory docker-local
	DOCKER_BUILDKIT=1 $(DOCKER) build $(call _dk_build_flags,docker/gpu.Dockerfile) $(_dk_local_args) \
	  $(if $(DOCKER_GPU_BASE),--build-arg BASE_IMAGE=$(DOCKER_GPU_BASE)) \
	  $(if $(DOCKER_DNN),--build-arg DNN_ENABLED=$(DOCKER_DNN)) \
	  $(DOCKER_BUILD_ARGS) -t $(DOCKER_IMAGE_GPU) $(CURDIR)

docker-build-cpu: docker-local
	DOCKER_BUILDKIT=1 $(DOCKER) build $(call _dk_build_flags,docker/cpu.Dockerfile) $(_dk_local_args) \
	  $(if $(DOCKER_CPU_BASE),--build-arg BASE_IMAGE=$(DOCKER_CPU_BASE)) \
	  $(DOCKER_BUILD_ARGS) -t $(DOCKER_IMAGE_CPU) $(CURDIR)

docker-run:
	$(call _dk_run,$(DOCKER_IMAGE_GPU),gpu,--gpus $(DOCKER_GPUS) --platform $(DOCKER_PLATFORM))

docker-run-cpu:
	$(call _dk_run,$(DOCKER_IMAGE_CPU),cpu,--platform $(DOCKER_PLATFORM))

# The CPU image built (cached steps are reused), then docker/cpu-selftest.Dockerfile
# builds on it, without cache, so its steps run every time: they are the checks, run
# inside the image as build steps (which works where `run` cannot start containers).
# The repository is copied in (docker/cpu-selftest.Dockerfile.dockerignore), MNIST_DIR
# too when given (else check-reproduction fetches MNIST). Any failure fails the build.
# (--progress=plain: BuildKit would fold the checks' output away.)
SELFTEST_DATA := build/selftest-data
docker-selftest: docker-build-cpu
	rm -rf $(SELFTEST_DATA) && mkdir -p $(SELFTEST_DATA)
	$(if $(MNIST_DIR),mkdir -p $(SELFTEST_DATA)/mnist && cp "$(MNIST_DIR)"/* $(SELFTEST_DATA)/mnist/)
	DOCKER_BUILDKIT=1 $(DOCKER) build --no-cache $(if $(_dk_podman),,--progress=plain) \
	  $(call _dk_build_flags,docker/cpu-selftest.Dockerfile) \
	  --build-arg IMAGE=$(DOCKER_IMAGE_CPU) $(if $(MNIST_DIR),--build-arg SELFTEST_MNIST=/work/$(SELFTEST_DATA)/mnist) \
	  $(if $(TEST_WORKERS),--build-arg SELFTEST_WORKERS=$(TEST_WORKERS)) \
	  $(DOCKER_BUILD_ARGS) -t $(DOCKER_IMAGE_CPU)-selftest $(CURDIR)
