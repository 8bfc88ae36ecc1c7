#!/usr/bin/env bash
# The Python package's CI (.ci/run calls it after the README's test command):
# installs the package with pip into a virtual environment of its own, as a
# user would (`pip install ./python`), with CuBIE 0.17.0 and the CUDA
# runtime its backend loads, and runs every Python test under Numba's CUDA
# simulator. Nothing may be skipped, and no tests at all (pytest's exit
# status 5) is a failure.
#
# Needs only cargo, python3 (>= 3.9) and pip, with PyPI reachable. The
# environment lives in $SMEMPLAN_PY_VENV (default target/python-ci/venv) and
# is reused while the requirements below are unchanged; the package itself is
# rebuilt and reinstalled every time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv=${SMEMPLAN_PY_VENV:-$target/python-ci/venv}
requirements=(maturin pytest numpy pandas "cubie==0.17.0" "cuda-toolkit[cudart]>=13,<14")

stamp="$venv/.smemplan-requirements"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "${requirements[*]}" ]]; then
    echo "python/ci.sh: creating $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "${requirements[@]}"
    echo "${requirements[*]}" > "$stamp"
fi
py="$venv/bin/python"

echo "python/ci.sh: pip install ./python"
"$py" -m pip install --quiet --force-reinstall --no-deps ./python
"$py" -m pip check >/dev/null || "$py" -m pip check

# The tests compare with the command line.
cargo build --release --quiet --bin smemplan
export SMEMPLAN_BIN="$target/release/smemplan"
export NUMBA_ENABLE_CUDASIM=1
export RUST_BACKTRACE=0

report="$target/python-ci/junit.xml"
mkdir -p "$(dirname "$report")"
status=0
(cd "$root/python/tests" && "$py" -m pytest -q -p no:cacheprovider -W ignore::RuntimeWarning \
    --junitxml="$report" .) || status=$?
if [[ $status -eq 5 ]]; then
    echo "python/ci.sh: pytest collected no tests" >&2
    exit 1
fi
if [[ $status -ne 0 ]]; then
    exit "$status"
fi
"$py" - "$report" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
if tests == 0 or skipped:
    sys.exit(f"python/ci.sh: {tests} tests, {skipped} skipped: nothing may be skipped")
print(f"python/ci.sh: {tests} tests passed, none skipped")
PY
