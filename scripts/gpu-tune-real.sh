#!/usr/bin/env bash
# `smemplan-lab tune` on the REAL integrators (issue 18, item 2): every
# acceptance case timed exhaustively (`--exhaustive`, `--repeats` REPEATS, default 1), so the
# share `tune` reaches with its default tenth is measured against the best
# of its whole candidate set in one run. Not part of `cargo test` (CI has
# no GPU). Usage:
#   scripts/gpu-tune-real.sh BIN OUT
# (TUNE_CASES and TUNE_COMMON, below, make it run any `tune` cases:
# scripts/gpu-tune-kernel.sh runs the user-kernel example through it.)
# The estimate's device profile follows the card (h200 on an H200, else
# h100: card_profile in cuda-env.sh). BIN is `smemplan-lab` built with
# `cargo build --release -p smemplan-lab --features gpu`; OUT a folder for
# tune-CASE.json and .txt (one per case), system.txt and report.md
# (`scripts/tune-report.py` over the JSON).
#
# The cases: Dormand-Prince n = 16 and 64 (f32, f64), backward Euler n = 32
# f64 and DIRK n = 32 f32 on Allen-Cahn, DIRK on Robertson (n = 3), 16,384
# systems each. Backward Euler runs 10 steps and DIRK on Allen-Cahn to
# t = 0.1 (not their defaults, 200 steps and t = 2, which took up to 1.1 s
# and 2.1 s a launch at the smallest blocks on an H100: 20 and about 3.4
# times the work, the CPU reference's step and Newton counts say); the
# others keep their default horizons. A shorter horizon scales every
# candidate's time alike, so the ranking it checks is the same kernel's.
#
# The candidate set is tune's for an integrator (see `smemplan-lab tune
# --help`): measure's layouts × measure's block sizes (powers of two below
# a warp, every warp multiple, the largest block that fits and the largest
# that fits k blocks per multiprocessor, k <= 8, and both picks), less
# those a compiled kernel cannot launch; the same set for --share and
# --exhaustive. Before timing, `--rank-only` counts each case's candidates
# (an upper bound: the card may drop some) and the script prints the card
# time they imply at MS_PER_CANDIDATE (below: H100 milliseconds per
# candidate, two launches and the bitwise check, from the recorded
# `measure` runs in docs/results/gpu-h100-measure-2026-12-07.json scaled to
# these horizons); about 1 minute in all, with NVRTC and the CPU reference
# about 2. Each case is bounded by `timeout` (CASE_LIMIT seconds, default
# 120) and the batch by TOTAL_LIMIT (default 360 s): a case that would
# start past it is not run. Each prints its wall time; a failing case (a
# mismatch with the CPU reference included) is reported and the others
# still run; the exit code is 1 when any failed or was not run.
set -euo pipefail
lab=${1:?usage: gpu-tune-real.sh BIN OUT}
out=${2:?usage: gpu-tune-real.sh BIN OUT}
[ -x "$lab" ] || { echo "gpu-tune-real.sh: \`$lab\` is not an executable smemplan-lab" >&2; exit 2; }
mkdir -p "$out"
limit=${CASE_LIMIT:-120}
total_limit=${TOTAL_LIMIT:-360}
repeats=${REPEATS:-1}
here=$(cd "$(dirname "$0")" && pwd)
# NVRTC on the loader's path (cudarc loads it at run time), card_profile.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cuda-env.sh"
card_profile "$out"

# NAME|MS_PER_CANDIDATE|FLAGS
cases=(
  "dp-n16-f32|3|--method dormand-prince-54 --n 16 --precision f32"
  "dp-n16-f64|5|--method dormand-prince-54 --n 16 --precision f64"
  "dp-n64-f32|35|--method dormand-prince-54 --n 64 --precision f32"
  "dp-n64-f64|80|--method dormand-prince-54 --n 64 --precision f64"
  "be-n32-f64|60|--method backward-euler --n 32 --precision f64 --steps 10"
  "dirk-n32-f32|200|--method dirk --n 32 --precision f32 --t-end 0.1"
  "dirk-robertson-f32|5|--method dirk --system robertson --precision f32"
)
# TUNE_CASES=FILE replaces the list: one NAME|MS_PER_CANDIDATE|FLAGS a line
# (scripts/tune-cases-registers.txt: the register level's held-out cases).
if [ -n "${TUNE_CASES:-}" ]; then
  mapfile -t cases < <(grep -v '^#' "$TUNE_CASES" | grep -v '^$')
fi
# TUNE_COMMON: flags every case gets besides the card's profile (default
# the integrators' batch; scripts/gpu-tune-kernel.sh's user-kernel cases
# set their own runs).
read -r -a common <<<"${TUNE_COMMON---batch 16384}"
common=(--device "$profile" "${common[@]}")

# The candidate counts and the card time they imply, before any timing.
total_ms=0
failed=()
for c in "${cases[@]}"; do
  IFS='|' read -r name ms flags <<<"$c"
  # shellcheck disable=SC2086 # flags are words
  if line=$("$lab" tune $flags "${common[@]}" --rank-only | sed -n 1p); then
    count=$(sed -E 's/.* = ([0-9]+) candidates.*/\1/' <<<"$line")
    total_ms=$((total_ms + count * ms))
    printf '%-20s %5d candidates, about %4d s on the card\n' "$name" "$count" $((count * ms / 1000))
  else
    echo "$name: --rank-only failed" >&2
    failed+=("$name (rank)")
  fi
done
echo "expected card time for every case: about $((total_ms / 1000)) s"

batch_started=$SECONDS
for c in "${cases[@]}"; do
  IFS='|' read -r name ms flags <<<"$c"
  left=$((total_limit - (SECONDS - batch_started)))
  if [ "$left" -le 0 ]; then
    echo "== $name: not run (TOTAL_LIMIT $total_limit s spent)"
    failed+=("$name (not run)")
    continue
  fi
  bound=$((left < limit ? left : limit))
  started=$SECONDS
  status=0
  # shellcheck disable=SC2086 # flags are words
  timeout "$bound" "$lab" tune $flags "${common[@]}" --exhaustive --repeats "$repeats" \
    --json "$out/tune-$name.json" >"$out/tune-$name.txt" 2>&1 || status=$?
  echo "== $name: $((SECONDS - started)) s, exit $status"
  grep -E "^(timed|tuned|model|planner|best|cubie|cuda|MISMATCH)|smemplan-lab:" "$out/tune-$name.txt" || true
  if [ "$status" -ne 0 ]; then
    if [ "$status" -eq 124 ]; then echo "$name: stopped after $bound s"; fi
    failed+=("$name")
    rm -f "$out/tune-$name.json"
  fi
done
echo "card batch: $((SECONDS - batch_started)) s"

shopt -s nullglob
jsons=("$out"/tune-*.json)
if [ ${#jsons[@]} -gt 0 ]; then
  python3 "$here/tune-report.py" "${jsons[@]}" | tee "$out/report.md" || failed+=("report")
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "every case ran"
