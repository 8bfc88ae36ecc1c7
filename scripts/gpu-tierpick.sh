#!/usr/bin/env bash
# Does `plan --tiers auto` pick what the card measures fastest? (issue 18,
# acceptance 1; docs/throughput.md, "Does the pick hold on the card").
# Not part of `cargo test` (CI has no GPU). Usage:
#   scripts/gpu-tierpick.sh BIN_DIR OUT_DIR
# BIN_DIR holds `smemplan-lab`, built with
# `cargo build --release -p smemplan-lab --features smemplan-lab/gpu`.
#
# New held-out cases, never fitted nor measured before: dirk n = 20, 45, 80
# (TIERPICK_N="15 25 …" names others), f32 and f64 (TIERPICK_PRECISIONS="f64"
# names fewer), 2^17 runs. Each is one `tune --exhaustive` (the read-modify-
# write stand-in, 10 passes, one timed launch after a warm-up): every block
# size that fits of plan's pick (`tiers::choose`, as `plan --tiers auto`
# makes it), the model's own locations, all shared, all local and CuBIE's
# layout, so the pick, the best all shared and the best all local are all
# timed. About 60-90 s of card time in all (the committed dirk batch, same
# command, took about 12 s a case; n = 80 f64's all local is the longest);
# each case is bounded by TUNE_TIMEOUT (default 60 s).
#
# Then, on any machine:
#   cargo run --release -p smemplan-lab --example tierpick -- OUT_DIR/tune-*.json
# prints the table for the committed runs and these (held out).
set -u -o pipefail
dir=${1:?usage: gpu-tierpick.sh BIN_DIR OUT_DIR}
out=${2:?usage: gpu-tierpick.sh BIN_DIR OUT_DIR}
mkdir -p "$out"
dir=$(cd "$dir" && pwd)
out=$(cd "$out" && pwd)
lab="$dir/smemplan-lab"
# NVRTC on the loader's path (cudarc loads it at run time), card_profile.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cuda-env.sh"
card_profile "$out"
status=0
started_all=$SECONDS
for n in ${TIERPICK_N:-20 45 80}; do
  for p in ${TIERPICK_PRECISIONS:-f32 f64}; do
    name="dirk-n$n-$p"
    started=$SECONDS
    timeout "${TUNE_TIMEOUT:-60}" "$lab" tune --model dirk --set n=$n --set precision=$p --device "$profile" \
      --runs 131072 --exhaustive --iterations 10 --repeats "${TIERPICK_REPEATS:-1}" --time-limit 10s \
      --json "$out/tune-$name.json" >"$out/tune-$name.txt" 2>&1 || status=1
    echo "== $name ($((SECONDS - started)) s)"
    grep -E "^(timed|tuned|model|best|cubie|cuda|tuned reaches)|^  |smemplan-lab:" "$out/tune-$name.txt"
  done
done
echo "gpu-tierpick: $((SECONDS - started_all)) s, exit $status"
exit $status
