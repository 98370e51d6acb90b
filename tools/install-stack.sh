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
# build/bootstrap next to VENV's parent), PIP_INDEX_URL and friends as usual;
# GXNOR_EXTRAS_DIR: a folder of `git archive` tarballs NAME-COMMIT.tar.gz, one per
# `git+https://github.com/OWNER/NAME.git@COMMIT` line of EXTRA_REQUIREMENTS, installed
# instead of fetching GitHub (the same commits; for machines without GitHub).
set -euo pipefail

# virtualenv 20.15.1 is the newest that creates Python 2.7 environments and itself
# runs on Python 2.7.
VIRTUALENV_PIN=virtualenv==20.15.1
PIP_PIN=pip==20.3.4   # the last pip for Python 2.7
OS_PACKAGES=(make g++ libopenblas-dev git ca-certificates)

usage() { sed -n '5,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

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

# The lines of EXTRA_REQUIREMENTS with each GitHub commit replaced by its tarball in
# GXNOR_EXTRAS_DIR (an editable line by the tarball unpacked under SRC), on stdout.
local_extras() {
  local extra="$1" dir="$2" src="$3" line editable url name commit tarball
  while IFS= read -r line || [ -n "$line" ]; do
    editable=""; url="$line"
    case "$url" in -e\ *|--editable\ *) editable=1; url="${url#* }" ;; esac
    if [[ "$url" =~ ^git\+https://github\.com/[^/]+/([^/@]+)(\.git)?@([0-9a-f]{40})# ]]; then
      name="${BASH_REMATCH[1]%.git}"; commit="${BASH_REMATCH[3]}"
      tarball="$dir/$name-$commit.tar.gz"
      if [ ! -f "$tarball" ]; then
        echo "error: GXNOR_EXTRAS_DIR=$dir has no $name-$commit.tar.gz (git archive of $name at $commit); add it, or unset GXNOR_EXTRAS_DIR to fetch GitHub" >&2
        return 1
      fi
      echo "install-stack: $name $commit from $tarball" >&2
      if [ -n "$editable" ]; then
        mkdir -p "$src/$name" && tar -xzf "$tarball" -C "$src/$name" --strip-components=1
        echo "-e $src/$name"
      else
        echo "$tarball"
      fi
    else
      echo "$line"
    fi
  done < "$extra"
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
    local src; src="$(dirname "$venv")/gxnor-src"
    if [ -n "${GXNOR_EXTRAS_DIR:-}" ]; then
      local translated="$venv/gxnor-extra-requirements.txt"
      local_extras "$extra" "$GXNOR_EXTRAS_DIR" "$src" > "$translated"
      extra="$translated"
    fi
    echo "install-stack: pip install --no-deps -r $extra"
    "$venv/bin/pip" install "${pip_flags[@]}" --no-deps --force-reinstall \
      --src "$src" -r "$extra"
  fi
}

[ "$#" -ge 1 ] || usage
command="$1"; shift
case "$command" in
  os-packages) os_packages "$@" ;;
  venv) venv "$@" ;;
  *) usage ;;
esac
