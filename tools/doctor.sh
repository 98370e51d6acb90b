#!/usr/bin/env bash
# Preflight of the host route (`make doctor`; `make env`, and so `make test` and the
# experiments, run it first): are the pieces the pinned stack needs on this machine?
#
#   tools/doctor.sh [DIR]        DIR: where .venv/ and build/ go (default: .)
#
# Checks a Python 2.7 interpreter (PYTHON27) and its pip, a C++ compiler (CXX, the
# one Theano calls), Python 2.7's headers (Python.h), a BLAS Theano can link
# (BLAS_LDFLAGS, -lopenblas as in the Makefile's THEANO_FLAGS) and free disk space
# (GXNOR_MIN_FREE_MB). Prints one line per missing piece with the command that
# installs it on Debian/Ubuntu, and exits 1 when anything is missing, so nothing is
# built on a machine that cannot run it. Warnings (exit status unchanged): a CPU
# without AVX2+FMA, which the Theano CPU pins (-march=haswell) need.
#
# Variables: PYTHON27, CXX (default g++), BLAS_LDFLAGS (default -lopenblas),
# GXNOR_MIN_FREE_MB (default 1500), GXNOR_DOCTOR_OS (os-release file, for tests).
set -uo pipefail

dir="${1:-.}"
py="${PYTHON27:-}"
cxx="${CXX:-g++}"
blas="${BLAS_LDFLAGS:--lopenblas}"
min_free_mb="${GXNOR_MIN_FREE_MB:-1500}"
os_release="${GXNOR_DOCTOR_OS:-/etc/os-release}"

problems=0
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo "

missing() {   # missing WHAT FIX
  echo "error: $1 -- fix: $2" >&2
  problems=$((problems + 1))
}
ok() { echo "ok: $1"; }
warn() { echo "warning: $1" >&2; }

# Which Debian/Ubuntu release: decides whether python2.7 is an apt package at all.
os_id=""; os_version=""
if [ -r "$os_release" ]; then
  os_id="$(. "$os_release" && echo "${ID:-}")"
  os_version="$(. "$os_release" && echo "${VERSION_ID:-}")"
fi
has_apt_python27() {   # Debian <= 11 and Ubuntu <= 22.04 ship python2.7
  case "$os_id" in
    debian) [ -n "$os_version" ] && [ "${os_version%%.*}" -le 11 ] 2>/dev/null ;;
    ubuntu) [ -n "$os_version" ] && [ "${os_version%%.*}" -le 22 ] 2>/dev/null ;;
    *) return 1 ;;
  esac
}
pyenv_fix="${sudo}apt-get install -y build-essential libssl-dev zlib1g-dev libbz2-dev libreadline-dev libsqlite3-dev libffi-dev && curl -fsSL https://pyenv.run | bash && ~/.pyenv/bin/pyenv install 2.7.18 (then: make ... PYTHON27=~/.pyenv/versions/2.7.18/bin/python), or use the CPU container instead: make docker-build-cpu && make docker-run-cpu TARGET=mnist (README, 'Pick your route')"

# --- Python 2.7 and its pip -----------------------------------------------------------
py_ok=0
if [ -z "$py" ]; then
  if has_apt_python27; then
    missing "no Python 2.7 interpreter found (python2.7, python2, ~/.pyenv/versions/2.7*)" \
      "${sudo}apt-get install -y python2.7 python2.7-dev   (or pass make ... PYTHON27=/path/to/python2.7)"
  else
    missing "no Python 2.7 interpreter found (python2.7, python2, ~/.pyenv/versions/2.7*); ${os_id:-this system} ${os_version} has no python2.7 package" \
      "$pyenv_fix"
  fi
elif ! version="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)"; then
  missing "PYTHON27=$py does not run" \
    "give the path of a working interpreter: make ... PYTHON27=/path/to/python2.7; to install one: $(has_apt_python27 && echo "${sudo}apt-get install -y python2.7 python2.7-dev" || echo "$pyenv_fix")"
elif [ "$version" != 2.7 ]; then
  missing "PYTHON27=$py is Python $version, not 2.7" \
    "make ... PYTHON27=/path/to/python2.7"
else
  py_ok=1
  ok "Python 2.7: $py"
  if "$py" -m pip --version >/dev/null 2>&1; then
    ok "pip for Python 2.7"
  else
    missing "Python 2.7 at $py has no pip" \
      "curl -fsSL https://bootstrap.pypa.io/pip/2.7/get-pip.py | ${sudo}$py"
  fi
fi

# --- C++ compiler ---------------------------------------------------------------------
cxx_ok=0
if command -v "$cxx" >/dev/null 2>&1 && "$cxx" --version >/dev/null 2>&1; then
  cxx_ok=1
  ok "C++ compiler: $(command -v "$cxx")"
else
  missing "no C++ compiler '$cxx' (Theano compiles its C code with it)" "${sudo}apt-get install -y g++"
fi

# --- Python 2.7's headers -------------------------------------------------------------
if [ "$py_ok" = 1 ]; then
  include="$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("INCLUDEPY") or "")' 2>/dev/null)"
  if [ -n "$include" ] && [ -f "$include/Python.h" ]; then
    ok "Python headers: $include/Python.h"
  else
    case "$py" in
      /usr/bin/*) fix="${sudo}apt-get install -y python2.7-dev" ;;
      *) fix="install the development headers of $py (for Debian's /usr/bin/python2.7: ${sudo}apt-get install -y python2.7-dev; a pyenv build has them)" ;;
    esac
    missing "no Python.h for $py (looked in ${include:-its INCLUDEPY, which is empty})" "$fix"
  fi
fi

# --- BLAS Theano can link ---------------------------------------------------------------
if [ "$cxx_ok" = 1 ]; then
  tmp="$(mktemp -d)"
  printf 'extern "C" void sgemm_(...);\nint main() { void (*f)(...) = sgemm_; return f == 0; }\n' > "$tmp/blas.cc"
  # shellcheck disable=SC2086  # BLAS_LDFLAGS is a list of flags
  if "$cxx" "$tmp/blas.cc" -o "$tmp/blas" $blas >"$tmp/log" 2>&1; then
    ok "BLAS: links with $blas"
  else
    missing "the C++ compiler cannot link a BLAS with '$blas' ($(head -n1 "$tmp/log" | cut -c1-120))" \
      "${sudo}apt-get install -y libopenblas-dev"
  fi
  rm -rf "$tmp"
else
  missing "BLAS not checked (it needs the C++ compiler); Theano links '$blas'" \
    "${sudo}apt-get install -y libopenblas-dev"
fi

# --- free disk --------------------------------------------------------------------------
free_kb="$(df -Pk "$dir" 2>/dev/null | awk 'NR == 2 { print $4 }')"
if [ -z "$free_kb" ]; then
  warn "cannot tell the free space at $dir"
elif [ "$free_kb" -lt $((min_free_mb * 1024)) ]; then
  missing "only $((free_kb / 1024)) MB free at $dir; the environment, Theano's cache and the data need ${min_free_mb} MB" \
    "free space there, or use another clone location"
else
  ok "disk: $((free_kb / 1024)) MB free at $dir"
fi

# --- CPU features (a warning only) ------------------------------------------------------
if [ -r /proc/cpuinfo ]; then
  flags="$(grep -m1 '^flags' /proc/cpuinfo)"
  case " $flags " in
    *" avx2 "*" fma "*|*" fma "*" avx2 "*) ok "CPU has AVX2 and FMA (needed by the Theano CPU pins, -march=haswell)" ;;
    *) warn "this CPU lacks AVX2 or FMA: code compiled with the project's -march=haswell pin will not run here; use a machine with AVX2+FMA, or override gcc.cxxflags in THEANO_FLAGS (results may then differ in the last bits)" ;;
  esac
fi

if [ "$problems" -gt 0 ]; then
  echo "doctor: $problems missing piece(s); nothing was built. Fix the line(s) above and run make again." >&2
  exit 1
fi
echo "doctor: all set"
