#!/usr/bin/env bash
# The one script that installs the project's pinned stack. `make env` (host and CI),
# docker/cpu.Dockerfile and docker/gpu.Dockerfile all run it, so CI exercises the
# very steps the images run.
#
#   tools/install-stack.sh os-packages [MORE_DEBIAN_PACKAGES ...]
#       apt-get install the Debian/Ubuntu packages the stack needs (a C++ compiler,
#       make, OpenBLAS, git, CA certificates) plus any given; as root. Nothing is
#       done when all are installed already.
#   tools/install-stack.sh venv PYTHON27 VENV REQUIREMENTS [EXTRA_REQUIREMENTS]
#       (re)create the virtualenv VENV from the interpreter PYTHON27 and install
#       REQUIREMENTS (requirements.txt) into it; then, without dependencies,
#       EXTRA_REQUIREMENTS (the images' GitHub-only Lasagne 0.2.dev1 and pylearn2).
#
# Environment: GXNOR_BOOTSTRAP (folder for the bootstrap virtualenv, default
# build/bootstrap next to VENV's parent), PIP_INDEX_URL and friends as usual.
set -euo pipefail

# virtualenv 20.15.1 is the newest that creates Python 2.7 environments and itself
# runs on Python 2.7.
VIRTUALENV_PIN=virtualenv==20.15.1
PIP_PIN=pip==20.3.4   # the last pip for Python 2.7
OS_PACKAGES=(make g++ libopenblas-dev git ca-certificates)

usage() { sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

os_packages() {
  local wanted=("${OS_PACKAGES[@]}" "$@") missing=() pkg
  for pkg in "${wanted[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-stack: Debian packages present: ${wanted[*]}"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "error: missing Debian packages ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "install-stack: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  rm -rf /var/lib/apt/lists/*
}

venv() {
  [ "$#" -ge 3 ] && [ "$#" -le 4 ] || usage
  local python="$1" venv="$2" requirements="$3" extra="${4:-}"
  local bootstrap="${GXNOR_BOOTSTRAP:-$(dirname "$venv")/build/bootstrap}"
  local pip_flags=(-q --disable-pip-version-check --no-cache-dir)
  if ! "$python" -c 'import sys; assert sys.version_info[:2] == (2, 7)' 2>/dev/null; then
    echo "error: '$python' is not a Python 2.7 interpreter; run make doctor for what to install" >&2
    exit 1
  fi
  [ -f "$requirements" ] || { echo "error: no requirements file $requirements" >&2; exit 1; }
  rm -rf "$venv" "$bootstrap"
  # The interpreter's own pip may be too old to honour Requires-Python (Ubuntu 16.04's
  # pip 8.1 would pick Python-3-only dependencies), so a pinned pip goes first into
  # the bootstrap folder, and that pip installs virtualenv.
  echo "install-stack: $PIP_PIN and $VIRTUALENV_PIN (bootstrap, $bootstrap)"
  "$python" -m pip install "${pip_flags[@]}" --target "$bootstrap" "$PIP_PIN"
  PYTHONPATH="$bootstrap" "$python" -m pip install "${pip_flags[@]}" --target "$bootstrap" \
    "$VIRTUALENV_PIN"
  echo "install-stack: virtualenv $venv from $python"
  PYTHONPATH="$bootstrap" "$python" -m virtualenv -q "$venv"
  rm -rf "$bootstrap"
  echo "install-stack: pip install -r $requirements"
  "$venv/bin/pip" install "${pip_flags[@]}" -r "$requirements"
  if [ -n "$extra" ]; then
    # --no-deps: nothing here may pull in another version of a requirements.txt pin.
    echo "install-stack: pip install --no-deps -r $extra"
    "$venv/bin/pip" install "${pip_flags[@]}" --no-deps --force-reinstall \
      --src "$(dirname "$venv")/gxnor-src" -r "$extra"
  fi
}

[ "$#" -ge 1 ] || usage
command="$1"; shift
case "$command" in
  os-packages) os_packages "$@" ;;
  venv) venv "$@" ;;
  *) usage ;;
esac
