#!/usr/bin/env bash
# The porter's route, as CI runs it: the conformance checker (src/gxnor_port) under
# Python 3 in a fresh virtual environment holding only NumPy from PyPI -- no Theano, no
# project environment. Fails unless
#   * the example port (examples/numpy_port) passes every check of the goldens, and with
#     a training log inside the curves' envelope the result is a complete PASS;
#   * each planted porting mistake (tests/planted_mistakes.py) fails, its check named,
#     its hint in the report;
#   * a missing port folder, a truncated port file, a missing or truncated golden file
#     and an unreadable log exit 2;
#   * `pip install .` installs the checker (gxnor-port) and it gives the same report.
# Usage: tools/check-port-py3.sh [GOLDEN_DIR]   (PYTHON3=python3.X to choose the Python)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
golden="${1:-results/golden/v2}"
work="$root/build/port-py3"
rm -rf "$work"
mkdir -p "$work"

"${PYTHON3:-python3}" -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q --disable-pip-version-check numpy
echo "== $("$py" --version) in a fresh venv: $("$py" -m pip list --format=freeze \
  --disable-pip-version-check 2>/dev/null | tr '\n' ' ')"

# From the clone, without installing: the kit is found through PYTHONPATH=src.
export PYTHONPATH="$root/src"
check() { "$py" -m gxnor_port check "$@"; }
expect() {   # expect STATUS WHAT COMMAND...: run COMMAND, fail unless it exits STATUS
  local want="$1" what="$2" status=0
  shift 2
  "$@" > "$work/last.txt" 2>&1 || status=$?
  if [ "$status" != "$want" ]; then
    cat "$work/last.txt"
    echo "FAILED: $what: exit status $status, expected $want" >&2
    exit 1
  fi
  echo "ok: $what (exit $status)"
}

echo "== the example port"
"$py" examples/numpy_port/port.py --golden "$golden" --out "$work/example" > /dev/null
expect 0 "example port, every check of $golden" check "$work/example" --golden "$golden"
if grep -E '^(FAIL|WARN|PARTIAL)' "$work/last.txt"; then
  echo "FAILED: a check of the example port is not a PASS" >&2; exit 1
fi
# A training log inside the envelope (our seeds' median, as a plain CSV) completes it.
"$py" - "$golden" "$work/example/epochs-median.csv" <<'PY'
import sys
import numpy as np
with np.load(sys.argv[1] + '/curves.npz') as curves:
    rows = zip(curves['epochs'], curves['test_error_median'])
    with open(sys.argv[2], 'w') as handle:
        handle.write('epoch,train_loss,valid_error,test_error\n')
        handle.writelines('%d,,,%r\n' % (epoch, float(error)) for epoch, error in rows)
PY
expect 0 "example port with a log inside the envelope, --require-complete" \
  check "$work/example" --golden "$golden" --require-complete
grep -q '^RESULT: PASS' "$work/last.txt" || { cat "$work/last.txt"; exit 1; }
cp "$work/last.txt" "$work/report-from-clone.txt"

echo "== planted mistakes"
"$py" tests/planted_mistakes.py "$golden" "$work/planted"

echo "== unusable input"
expect 2 "missing port folder" check "$work/no-such-port" --golden "$golden"
mkdir "$work/torn"
head -c 5000 "$work/example/dst.npz" > "$work/torn/dst.npz"
expect 2 "truncated port file" check "$work/torn" --golden "$golden"
mkdir "$work/torn-log"
printf '{"epoch": 0, "test_error": 12.5}\n{"epoch": 1, "test_err' > "$work/torn-log/epochs.jsonl"
expect 2 "truncated training log" check "$work/torn-log" --golden "$golden"
cp -r "$golden" "$work/golden-copy"
rm "$work/golden-copy/dst.npz"
expect 2 "golden file missing" check "$work/example" --golden "$work/golden-copy"
head -c 5000 "$golden/dst.npz" > "$work/golden-copy/dst.npz"
expect 2 "truncated golden file" check "$work/example" --golden "$work/golden-copy"
expect 2 "no golden schema" check "$work/example" --golden "$work"

echo "== pip install ."
"$py" -m pip install -q --disable-pip-version-check "$root"
unset PYTHONPATH
(cd "$work" && "$work/venv/bin/gxnor-port" check "$work/example" --golden "$root/$golden" \
  --require-complete > "$work/report-installed.txt")
# the same report as from the clone, but for the folder names in its first line
diff <(tail -n +2 "$work/report-from-clone.txt") <(tail -n +2 "$work/report-installed.txt")
echo "ok: the installed gxnor-port gives the same report"
echo "== the porter's route on Python 3: all good"
