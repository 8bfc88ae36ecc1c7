#!/usr/bin/env bash
# Where local memory lives, checked on a card (issue 18): HBM-bound local
# plans to calibrate on, held-out tier and block-size picks, `tune` and
# `sweep --verify`. Not part of `cargo test` (CI has no GPU). Usage:
#   scripts/gpu-levels.sh BIN_DIR OUT_DIR [STEP...]
# BIN_DIR holds `smemplan` and `smemplan-lab`, built with
# `cargo build --release -p smemplan -p smemplan-lab --features smemplan-lab/gpu`.
# STEPs (default: all, in this order):
#   fit      dirk n = 100, f32 and f64, 2^17 runs: every layout (smemplan's
#            split, all shared, all local, CuBIE's) at every block size that
#            fits, timed (`tune --exhaustive`): the calibration cases
#   heldout  the same for dirk n = 10, 30, 60 (f32, f64): held out of the fit
#   tune     `tune --exhaustive` on Dormand–Prince (erk) n = 16 and 64 (f32,
#            f64), backward Euler n = 32 f64, DIRK n = 32 and dirk n = 3
#   sweep    `sweep --verify` on 20 configurations (dirk n = 3..100 × f32/f64
#            × cubie/auto, --tiers auto)
#   measure  the real integrators on Allen–Cahn (`measure --method`):
#            Dormand–Prince n = 16, 64 (f32, f64), backward Euler n = 32 f64,
#            DIRK n = 32 f32, each run bitwise against the CPU reference
# Every file goes to OUT_DIR; each step is bounded by `timeout` so that a
# slow one leaves the others' results.
set -u -o pipefail
dir=${1:?usage: gpu-levels.sh BIN_DIR OUT_DIR [STEP...]}
out=${2:?usage: gpu-levels.sh BIN_DIR OUT_DIR [STEP...]}
shift 2
mkdir -p "$out"
# Absolute: the sweep step runs from OUT_DIR.
dir=$(cd "$dir" && pwd)
out=$(cd "$out" && pwd)
steps=${*:-fit heldout tune sweep measure}
bin="$dir/smemplan"
lab="$dir/smemplan-lab"
mkdir -p "$out"
# NVRTC on the loader's path (cudarc loads it at run time), card_profile.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cuda-env.sh"
card_profile "$out"
status=0
# tune NAME [ARGS...]: one exhaustive tune, JSON and text to OUT_DIR.
tune() {
  local name=$1
  shift
  local started=$SECONDS
  timeout "${TUNE_TIMEOUT:-120}" "$lab" tune --device "$profile" --runs 131072 --exhaustive --iterations 10 \
    --repeats 1 --time-limit 10s --json "$out/tune-$name.json" "$@" >"$out/tune-$name.txt" 2>&1 || status=1
  echo "== $name ($((SECONDS - started)) s)"
  grep -E "^(timed|tuned|model|best|cubie|cuda|tuned reaches)|^  |smemplan-lab:" "$out/tune-$name.txt"
}
for step in $steps; do
  case $step in
  fit)
    for p in f32 f64; do tune "dirk-n100-$p" --model dirk --set n=100 --set precision=$p; done ;;
  heldout)
    for n in 10 30 60; do for p in f32 f64; do tune "dirk-n$n-$p" --model dirk --set n=$n --set precision=$p; done; done ;;
  tune)
    for n in 16 64; do for p in f32 f64; do tune "erk-n$n-$p" --model erk --set n=$n --set precision=$p; done; done
    tune backwards_euler-n32-f64 --model backwards_euler --set n=32 --set precision=f64
    tune dirk-n32-f32 --model dirk --set n=32
    tune dirk-n3-f32 --model dirk --set n=3 ;;
  sweep)
    started=$SECONDS
    (cd "$out" && timeout 300 "$bin" sweep --model dirk --set n=3,10,30,60,100 --precision f32,f64 \
      --device "$profile" --strategies cubie,auto --tiers auto --runs 131072 \
      --csv sweep-rows.csv --verify sweep-measured.csv) >"$out/sweep.txt" 2>&1 || status=1
    echo "== sweep --verify ($((SECONDS - started)) s)"
    tail -n 25 "$out/sweep.txt" ;;
  measure)
    # The real integrators (bitwise against the CPU reference), one case each.
    for c in "dormand-prince-54 16 f32" "dormand-prince-54 16 f64" "dormand-prince-54 64 f32" \
      "dormand-prince-54 64 f64" "backward-euler 32 f64" "dirk 32 f32"; do
      read -r method n p <<<"$c"
      name="$method-n$n-$p"
      started=$SECONDS
      timeout 90 "$lab" measure --device "$profile" --method "$method" --n "$n" --precision "$p" \
        --budget "${MEASURE_BUDGET:-25}" --repeats 2 --json "$out/measure-$name.json" \
        --markdown "$out/measure-$name.md" >"$out/measure-$name.txt" 2>&1 || status=1
      echo "== measure $name ($((SECONDS - started)) s)"
      grep -E "^\| (best measured|smemplan|CuBIE)" "$out/measure-$name.md" | head -4
    done ;;
  *) echo "unknown step $step"; status=2 ;;
  esac
done
echo "gpu-levels: exit $status"
exit $status
