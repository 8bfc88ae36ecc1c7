#!/usr/bin/env bash
# `smemplan-lab tune --kernel` on the card (issue 18, item 2): the shipped
# example user kernel (lab/examples/kernels/loop_stages.cu, see
# docs/tune-kernel.md) timed exhaustively (`--exhaustive --repeats 1`) on
# the default model's layouts, so the share `tune` reaches with its default
# tenth is measured against the best of its whole candidate set in one run,
# and every layout is checked to leave the kernel's io bitwise alike. Not
# part of `cargo test` (CI has no GPU). Usage:
#   scripts/gpu-tune-kernel.sh BIN OUT
# BIN is `smemplan-lab` built with
# `cargo build --release -p smemplan-lab --features gpu`; OUT a folder for
# tune-CASE.json and .txt (one per case), system.txt and report.md
# (`scripts/tune-report.py` over the JSON).
#
# The cases: the default model (dirk) at n = 30 f32 and n = 10 f64, 65,536
# runs each. `--rank-only` counts each case's candidates first (about 1,300:
# three layouts at every block that fits) and the script prints the card
# time they imply at MS_PER_CANDIDATE (an estimate: two launches, two
# resets of io and its read-back and comparison; no recorded run yet);
# under a minute in all, plus NVRTC. Each case is bounded by `timeout`
# (CASE_LIMIT seconds, default 90). A failing case (a layout that changes
# the kernel's io included: MISMATCH, exit 1) is reported and the other
# still runs; the exit code is 1 when any failed.
set -euo pipefail
lab=${1:?usage: gpu-tune-kernel.sh BIN OUT}
out=${2:?usage: gpu-tune-kernel.sh BIN OUT}
[ -x "$lab" ] || { echo "gpu-tune-kernel.sh: \`$lab\` is not an executable smemplan-lab" >&2; exit 2; }
mkdir -p "$out"
limit=${CASE_LIMIT:-90}
here=$(cd "$(dirname "$0")" && pwd)
kernel="$here/../lab/examples/kernels/loop_stages.cu"
# NVRTC on the loader's path (cudarc loads it at run time); card_profile.
. "$here/cuda-env.sh"
profile=h100
card_profile "$out" || echo "gpu-tune-kernel.sh: no card description (nvidia-smi failed); profile $profile" >&2

# NAME|MS_PER_CANDIDATE|FLAGS
cases=(
  "dirk-n30-f32|6|--set n=30"
  "dirk-n10-f64|6|--set n=10 --set precision=f64"
)
common=(--kernel "$kernel" --device "$profile" --runs 65536)

failed=()
total_ms=0
for c in "${cases[@]}"; do
  IFS='|' read -r name ms flags <<<"$c"
  # shellcheck disable=SC2086 # flags are words
  if line=$("$lab" tune $flags "${common[@]}" --rank-only | sed -n 1p); then
    count=$(sed -E 's/.* = ([0-9]+) candidates.*/\1/' <<<"$line")
    total_ms=$((total_ms + count * ms))
    printf '%-14s %5d candidates, about %4d s on the card\n' "$name" "$count" $((count * ms / 1000))
  else
    echo "$name: --rank-only failed" >&2
    failed+=("$name (rank)")
  fi
done
echo "expected card time: about $((total_ms / 1000)) s"

batch_started=$SECONDS
for c in "${cases[@]}"; do
  IFS='|' read -r name ms flags <<<"$c"
  started=$SECONDS
  status=0
  # shellcheck disable=SC2086 # flags are words
  timeout "$limit" "$lab" tune $flags "${common[@]}" --exhaustive --repeats 1 \
    --json "$out/tune-$name.json" >"$out/tune-$name.txt" 2>&1 || status=$?
  echo "== $name: $((SECONDS - started)) s, exit $status"
  grep -E "^(timed|tuned|model|planner|best|cubie|cuda|MISMATCH|  )|smemplan-lab:" "$out/tune-$name.txt" || true
  if [ "$status" -ne 0 ]; then
    if [ "$status" -eq 124 ]; then echo "$name: stopped after $limit s"; fi
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
