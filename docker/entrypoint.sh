#!/bin/bash
# Entry point of both gxnor images (docker/gpu.Dockerfile, docker/cpu.Dockerfile).
#   1. give a user started with `--user UID:GID` a writable HOME;
#   2. GPU image: refuse Volta-or-newer GPUs (docker/gpu_check.py);
#   3. refuse a mounted requirements.txt that differs from the one the image's
#      environment was built from (the image would silently run other versions);
#   4. seed Theano's compile cache (the base_compiledir of THEANO_FLAGS, else the
#      Makefile's build/theano) from the one warmed at build time, if it is new;
#   5. run the command; `make ...` is run against the image's environment
#      (VENV=$GXNOR_VENV), so `make mnist` means the same as on the host.
# GXNOR_DIR (default /opt/gxnor) is where the image keeps its copies of
# requirements.txt and docker/; it is a variable only so tests can point it
# elsewhere.
set -euo pipefail

gxnor_dir="${GXNOR_DIR:-/opt/gxnor}"
venv="${GXNOR_VENV:?GXNOR_VENV is set by the image}"

if [ -z "${HOME:-}" ] || [ "$HOME" = / ] || ! { mkdir -p "$HOME" 2>/dev/null && [ -w "$HOME" ]; }; then
  HOME="/tmp/gxnor-home-$(id -u)"
  mkdir -p "$HOME"
fi
export HOME

if [ "${GXNOR_IMAGE:-}" = gpu ]; then
  "$venv/bin/python" "$gxnor_dir/docker/gpu_check.py"
fi

if [ -f requirements.txt ] && ! cmp -s requirements.txt "$gxnor_dir/requirements.txt"; then
  echo "gxnor: $(pwd)/requirements.txt differs from the one this image was built with" >&2
  echo "($gxnor_dir/requirements.txt). Rebuild the image: make docker-build or make docker-build-cpu." >&2
  exit 1
fi

seed="${GXNOR_THEANO_SEED:-$gxnor_dir/theano-cache}"
cache="$(printf '%s\n' "${THEANO_FLAGS:-}" | tr ',' '\n' | sed -n 's/^base_compiledir=//p' | tail -n 1)"
cache="${cache:-$PWD/build/theano}"
if [ -d "$seed" ] && [ ! -e "$cache" ]; then
  mkdir -p "$cache" && cp -R "$seed/." "$cache/"
  echo "gxnor: Theano's compile cache seeded from the image ($seed -> $cache)" >&2
fi

if [ "$#" -eq 0 ]; then
  set -- make help
fi
if [ "$1" = make ]; then
  shift
  exec make VENV="$venv" "$@"
fi
exec "$@"
