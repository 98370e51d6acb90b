# gxnor: GXNOR-Net reproduction in Python 2.7 / Theano 0.8.2 / Lasagne.
# `make test` and `make mnist` set everything up on first use (see README.md).

SHELL := /bin/bash
.DEFAULT_GOAL := help

# --- the Python 2.7 environment (inside the repo, git-ignored) ------------------
PYTHON27 ?= $(firstword $(wildcard /root/.pyenv/versions/2.7.18/bin/python) \
                        $(shell command -v python2.7 2>/dev/null))
VENV     := .venv
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

.PHONY: help env test
help:
	@echo "make test        build the Python 2.7 environment if missing, run the tests"
	@echo "make mnist       the paper's MNIST experiment (released schedule)"
	@echo "make env         only build the environment ($(VENV)/)"

$(STAMP): requirements.txt
	@if [ -z "$(PYTHON27)" ] || ! "$(PYTHON27)" -c 'import sys; assert sys.version_info[:2] == (2, 7)' 2>/dev/null; then \
	  echo "error: need a Python 2.7 interpreter; pass it as 'make PYTHON27=/path/to/python2.7 ...'" >&2; exit 1; fi
	rm -rf $(VENV) $(BUILD)/bootstrap
	"$(PYTHON27)" -m pip install -q --disable-pip-version-check --target $(BUILD)/bootstrap virtualenv==20.15.1
	PYTHONPATH=$(BUILD)/bootstrap "$(PYTHON27)" -m virtualenv -q $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

env: $(STAMP)

test: env
	$(PY) -m pytest -q tests
