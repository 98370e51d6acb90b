# gxnor: GXNOR-Net reproduction in Python 2.7 / Theano 0.8.2 / Lasagne.
# `make test` and `make mnist` set everything up on first use (see README.md).

SHELL := /bin/bash
.DEFAULT_GOAL := help

# --- the Python 2.7 environment (inside the repo, git-ignored) ------------------
# The first Python 2.7 found: python2.7 or python2 on the PATH, else pyenv's newest 2.7.
# `make doctor` says what to install when there is none (or pass PYTHON27=/path).
# Each candidate is asked for its version (a pyenv shim exists even when it cannot run).
PYTHON27 ?= $(shell for p in python2.7 python2 $(sort $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/2.7*/bin/python)); do \
              "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)
# Inside the containers the environment lives outside the mounted repo (GXNOR_VENV).
VENV     := $(or $(GXNOR_VENV),.venv)
PY       := $(VENV)/bin/python
BUILD    := build
STAMP    := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)

comma := ,
# Our flags first, the caller's THEANO_FLAGS after them (Theano lets the later win).
GXNOR_THEANO_FLAGS := floatX=float32,blas.ldflags=-lopenblas,base_compiledir=$(CURDIR)/$(BUILD)/theano
export THEANO_FLAGS := $(GXNOR_THEANO_FLAGS)$(if $(THEANO_FLAGS),$(comma)$(THEANO_FLAGS))
export PYTHONPATH := $(CURDIR)/src$(if $(PYTHONPATH),:$(PYTHONPATH))
export PYTHONDONTWRITEBYTECODE := 1

# Real MNIST for the tests that need it (they skip, saying so, when it is unset).
MNIST_DIR ?=
export GXNOR_MNIST_DIR := $(MNIST_DIR)

.PHONY: help doctor env test mnist mnist-quick cifar10 cifar10-quick svhn svhn-quick tables bench \
        fetch-mnist fetch-cifar10 fetch-svhn
help:
	@echo "make doctor         check this machine has what the host route needs (env runs it)"
	@echo "make test           build the Python 2.7 environment if missing, run the tests"
	@echo "make mnist          the paper's MNIST experiment (released schedule, 4000 epochs)"
	@echo "make mnist-quick    the same run stopped after 30 epochs (schedule unchanged)"
	@echo "make mnist-full     start or resume the committed full-length run ($(MNIST_FULL))"
	@echo "make check-mnist-full  its committed checkpoints resumed, checked against its log"
	@echo "make cifar10 / svhn (and -quick) the other data sets"
	@echo "make tables         results/README.md from the run folders"
	@echo "make golden         golden vectors for ports (results/golden/v2)"
	@echo "make check-port PORT=<folder>   a port's outputs against the goldens (exit 0/1/2);"
	@echo "     on Python 3 with NumPy alone: PYTHONPATH=src python3 -m gxnor_port check <folder>"
	@echo "tools/check-port-py3.sh  the checker in a fresh Python 3 venv holding only NumPy (CI)"
	@echo "make bench          training / evaluation speed on synthetic input"
	@echo "make replay-released [STOP_AFTER=3]  the released MNIST script, number for number"
	@echo "make check-reproduction  the default run's first 3 epochs against the reference"
	@echo "make check-goldens  regenerate the goldens and compare them with results/golden/v2"
	@echo "make warm-cache     compile Theano's C code for MNIST now (WARM='mnist cifar10 svhn')"
	@echo "make ablation-m / ablation-a / ablation-r / ablation-pulse / ablation-states /"
	@echo "     special-cases  the paper's other studies (ONLY='m=3,5', make -j N ...)"
	@echo "make sweep-slurm SWEEP=ablation-m   a Slurm job-array script for a sweep"
	@echo "make resting RUN=..     share of skipped (zero-factor) products per layer"
	@echo "make gxnor-infer RUN=.. bit-level gated-XNOR inference, checked against the float pass"
	@echo "make fetch-mnist    download + verify the data (also done by the experiments)"
	@echo "Variables: DATA_DIR RESULTS RUN RESUME=1 STOP_AFTER EPOCHS SEED SET='name=value ...'"
	@echo "           PYTHON27 MNIST_DIR (real MNIST for the tests)"
	@echo "make docker-help    the GPU / CPU containers"

# The preflight: one line per missing host piece, with its fix; fails before anything
# is built. Once the environment exists, it checks the environment's Python (unless
# PYTHON27 is given on the command line).
DOCTOR_PYTHON = $(if $(and $(wildcard $(STAMP)),$(filter-out command line,$(origin PYTHON27))),$(PY),$(PYTHON27))
doctor:
	@PYTHON27="$(DOCTOR_PYTHON)" tools/doctor.sh "$(CURDIR)"

# The stamp's name carries requirements.txt's checksum: a change of pins rebuilds.
# tools/install-stack.sh is the same script the Docker images run.
# EXTRA_REQUIREMENTS: the images add docker/requirements-extra.txt (GitHub-only Lasagne).
EXTRA_REQUIREMENTS ?=
$(STAMP): | doctor
	tools/install-stack.sh venv "$(PYTHON27)" "$(VENV)" requirements.txt $(EXTRA_REQUIREMENTS)
	touch $@

env: doctor $(STAMP)

# One pytest worker per core (TEST_WORKERS=1: in this process). Whole files go to a
# worker (their module fixtures are built once); the workers share Theano's compile cache.
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
test: env
	$(PY) -m pytest -q $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile) tests

# --- experiments --------------------------------------------------------------------
DATA_DIR   ?= datasets
RESULTS    ?= results
RUN        ?=
RESUME     ?=
STOP_AFTER ?=
EPOCHS     ?=
SEED       ?=
SET        ?=
# Every program runs through `python -m gxnor`, which applies the process settings (CPU
# pins, speed) before NumPy and Theano load (gxnor.process).
GXNOR      := $(PY) -m gxnor
RUN_ARGS    = --data-dir "$(DATA_DIR)" --results "$(RESULTS)" \
              $(if $(RUN),--run "$(RUN)") $(if $(filter 1 yes true,$(RESUME)),--resume) \
              $(if $(STOP_AFTER),--stop-after $(STOP_AFTER)) $(if $(EPOCHS),--epochs $(EPOCHS)) \
              $(if $(SEED),--seed $(SEED)) $(if $(SET),--set "$(SET)")

# A static pattern rule: make skips implicit (pattern) rules for .PHONY targets, so a
# plain `fetch-%:` rule never ran and the experiments started without their data check.
fetch-mnist fetch-cifar10 fetch-svhn: fetch-%: env
	$(GXNOR) fetch $* --data-dir "$(DATA_DIR)" --if-missing

mnist cifar10 svhn: %: env fetch-%
	$(GXNOR) run $* $(RUN_ARGS)

# The full-length reference run, trained in chunks and committed (results/README.md):
# starts it, or resumes it from its committed checkpoint. `kill -TERM <its python>` stops
# it after the epoch in progress; `make mnist-full-commit` compresses the checkpoint,
# measures the trained network (resting probability, bit-level inference on the test
# set), redraws the run's table and plot, and writes the porters' curve (envelope.npz).
# `make check-mnist-full` resumes every committed checkpoint for one epoch against the log.
MNIST_FULL := results/reference/mnist-full
.PHONY: mnist-full mnist-full-commit check-mnist-full
mnist-full:
	$(MAKE) mnist RUN=$(MNIST_FULL) RESUME=$(if $(wildcard $(MNIST_FULL)/checkpoint.npz),1)
mnist-full-commit: env fetch-mnist
	$(GXNOR) checkpoint compress $(MNIST_FULL)/checkpoint.npz
	$(GXNOR) resting $(MNIST_FULL) --results "$(RESULTS)" --data-dir "$(DATA_DIR)"
	$(GXNOR) bitwise $(MNIST_FULL) --results "$(RESULTS)" --data-dir "$(DATA_DIR)"
	$(GXNOR) longrun $(MNIST_FULL)
	$(PY) -m gxnor_port envelope --out $(MNIST_FULL)/envelope.npz $(MNIST_FULL)/epochs.jsonl
check-mnist-full: env fetch-mnist
	$(GXNOR) resume-check $(MNIST_FULL) --data-dir "$(DATA_DIR)"
	$(GXNOR) longrun $(MNIST_FULL)

# Short runs: the start of the full run's curve (STOP_AFTER keeps the schedule).
mnist-quick:
	$(MAKE) mnist STOP_AFTER=$(or $(STOP_AFTER),30) RUN=$(or $(RUN),mnist-quick)
cifar10-quick:
	$(MAKE) cifar10 STOP_AFTER=$(or $(STOP_AFTER),5) RUN=$(or $(RUN),cifar10-quick)
svhn-quick:
	$(MAKE) svhn STOP_AFTER=$(or $(STOP_AFTER),2) RUN=$(or $(RUN),svhn-quick)

# --- the paper's other studies (docs/experiments.md) -----------------------------------
SWEEPS     := ablation-m ablation-a ablation-r ablation-pulse ablation-states special-cases \
              platform-pool
EXPERIMENT ?= mnist
ONLY       ?=
SWEEP      ?=
SWEEP_SHARED = --data-dir "$(DATA_DIR)" --results "$(RESULTS)" \
               $(if $(STOP_AFTER),--stop-after $(STOP_AFTER)) $(if $(EPOCHS),--epochs $(EPOCHS)) \
               $(if $(SEED),--seed $(SEED)) $(if $(SET),--set "$(SET)")
.PHONY: $(SWEEPS) sweep-slurm

# One generated target per point, so `make -j N ablation-m` runs N points at a time.
$(SWEEPS): %: env fetch-$(EXPERIMENT)
	@mkdir -p $(BUILD)
	$(GXNOR) sweeps makefile $@ --only "$(ONLY)" --base $(EXPERIMENT) --python $(PY) \
	  -- $(SWEEP_SHARED) > $(BUILD)/sweep-$@.mk
	$(MAKE) -f $(BUILD)/sweep-$@.mk $@

sweep-slurm: env
	@if [ -z "$(SWEEP)" ]; then echo "usage: make sweep-slurm SWEEP=<one of: $(SWEEPS)> [ONLY=...]" >&2; exit 2; fi
	$(GXNOR) sweeps slurm $(SWEEP) --only "$(ONLY)" --base $(EXPERIMENT) --python $(PY) \
	  -- $(SWEEP_SHARED)

# --- sparsity and the gated-XNOR hardware view of a trained run (docs/gated_xnor.md) ---
.PHONY: resting gxnor-infer
resting gxnor-infer: env
	@test -n "$(RUN)" || { echo "error: make $@ RUN=<run folder or name under $(RESULTS)/runs>" >&2; exit 2; }
	$(GXNOR) $(if $(filter resting,$@),resting,bitwise) "$(RUN)" --results "$(RESULTS)" \
	  --data-dir "$(DATA_DIR)" $(if $(SPLIT),--split $(SPLIT))

# --- golden vectors and the conformance check for ports (docs/porting.md) --------------
# `make golden` writes GOLDEN_OUT (the current version); check-port reads GOLDEN, the
# newest results/golden/v<k> present. v1 stays as it was (GOLDEN=results/golden/v1).
GOLDEN_OUT    ?= results/golden/v2
GOLDEN        ?= $(or $(lastword $(sort $(wildcard results/golden/v[0-9]))),$(GOLDEN_OUT))
CURVES_EPOCHS ?= 5
CURVES_SEEDS  ?= 1,2,3
# MNIST for the reference curves: MNIST_DIR, else DATA_DIR when it holds MNIST.
GOLDEN_MNIST  ?= $(or $(MNIST_DIR),$(if $(wildcard $(DATA_DIR)/train-images-idx3-ubyte* \
                   $(DATA_DIR)/mnist/train-images-idx3-ubyte*),$(DATA_DIR)))
.PHONY: golden check-port
golden: env
	$(GXNOR) golden --out "$(GOLDEN_OUT)" $(if $(GOLDEN_MNIST),--curves-data-dir \
	  "$(GOLDEN_MNIST)" --curves-epochs $(CURVES_EPOCHS) --curves-seeds $(CURVES_SEEDS))

# `make check-port` runs the kit's checker (src/gxnor_port, NumPy only) in the project's
# environment and exits like `python -m gxnor_port check`: 0 nothing failed (PASS or
# PARTIAL), 1 a check failed, 2 unusable folders or usage. A failing recipe can only make
# make exit 2, so when check-port is the only goal the check runs while this file is
# read, and a status of 1 is handed back through make's question mode (-q), whose "target
# not up to date" is make's one way to exit 1. (tests/test_conformance_report.py runs it.)
CHECK_PORT_CMD = $(PY) -m gxnor_port check "$(PORT)" --golden "$(GOLDEN)" \
                 $(if $(filter 1 yes true,$(REQUIRE_COMPLETE)),--require-complete)
ifeq ($(strip $(MAKECMDGOALS)),check-port)
ifeq ($(strip $(PORT)),)
$(error usage: make check-port PORT=<folder> [GOLDEN=$(GOLDEN)] [REQUIRE_COMPLETE=1])
endif
define _newline


endef
# stdout of $$(shell) loses its line breaks: mark them, then print with $$(info).
_CHECK_PORT_OUT := $(shell { $(if $(wildcard $(STAMP)),,$(MAKE) -s --no-print-directory env >&2 &&) \
  PYTHONPATH="$(PYTHONPATH)" THEANO_FLAGS="$(THEANO_FLAGS)" PYTHONDONTWRITEBYTECODE=1 \
  $(CHECK_PORT_CMD); echo "@@status=$$?"; } | sed 's/$$/@@nl@@/')
_CHECK_PORT_STATUS := $(patsubst @@status=%@@nl@@,%,$(filter @@status=%,$(_CHECK_PORT_OUT)))
_CHECK_PORT_TEXT := $(subst @@nl@@ @@status=$(_CHECK_PORT_STATUS)@@nl@@,,$(_CHECK_PORT_OUT))
$(if $(filter-out @@status=%,$(_CHECK_PORT_TEXT)),$(info $(subst @@nl@@ ,$(_newline),$(_CHECK_PORT_TEXT))))
ifeq ($(_CHECK_PORT_STATUS),0)
check-port:
	@:
else ifeq ($(_CHECK_PORT_STATUS),1)
MAKEFLAGS += -q
check-port:
	@:
else
$(error check-port: the port or golden folder cannot be used (status $(or $(_CHECK_PORT_STATUS),unknown)))
endif
else
# With other goals in the same call, a failure is make's usual status 2.
check-port: env
	@if [ -z "$(PORT)" ]; then \
	  echo "usage: make check-port PORT=<folder> [GOLDEN=$(GOLDEN)]" >&2; exit 2; fi
	$(CHECK_PORT_CMD)
endif

tables: env
	$(GXNOR) tables --results "$(RESULTS)"

# --- number for number (docs/method.md, "Reproducing a number") ------------------------
# replay-released: the released MNIST script as it runs on a CPU, printed as it prints,
# compared with its measured printout. check-reproduction: the default MNIST run's first
# 3 epochs against results/reference/reproduction-mnist.json (record-reproduction
# rewrites that reference). MNIST from MNIST_DIR, else DATA_DIR (fetched if missing).
REPRO_DATA = $(or $(MNIST_DIR),$(DATA_DIR))
REPRO_FETCH = $(if $(MNIST_DIR),,fetch-mnist)
.PHONY: replay-released check-reproduction record-reproduction
replay-released: env $(REPRO_FETCH)
	$(GXNOR) replay replay --data-dir "$(REPRO_DATA)" $(if $(STOP_AFTER),--stop-after $(STOP_AFTER))
check-reproduction record-reproduction: %-reproduction: env $(REPRO_FETCH)
	$(GXNOR) replay $* --data-dir "$(REPRO_DATA)"

# The goldens regenerated now, byte for byte the committed v2 (a minute: not in make test).
.PHONY: check-goldens
check-goldens: env
	GXNOR_CHECK_GOLDENS=1 $(PY) -m pytest -q tests/test_golden.py -k regeneration

# Compile the experiments' Theano functions now (the images do it at build time), so
# that the first epoch of a run starts at once. WARM: experiments (default mnist).
WARM ?= mnist
.PHONY: warm-cache
warm-cache: env
	$(GXNOR) warm $(WARM)

# MNIST: the fast path with 1 thread and with every core, Theano's own ops, the 5 slowest
# ops; CIFAR10 and SVHN: epoch estimates from one step at the released batch (BENCH_ARGS
# replaces all).
BENCH_THREADS ?= $(shell nproc 2>/dev/null || echo 2)
BENCH_ARGS ?= --nets mnist --kernels fast,theano --threads 1,$(BENCH_THREADS) --profile \
              --estimate cifar10,svhn
bench: env
	$(GXNOR) bench $(BENCH_ARGS)

include docker/docker.mk
