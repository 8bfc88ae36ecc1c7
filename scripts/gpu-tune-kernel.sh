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
# The cases run through scripts/gpu-tune-real.sh (its TUNE_CASES and
# TUNE_COMMON), which reports and writes their results as it does its own;
# the case list is OUT/cases.txt.
set -euo pipefail
lab=${1:?usage: gpu-tune-kernel.sh BIN OUT}
out=${2:?usage: gpu-tune-kernel.sh BIN OUT}
[ -x "$lab" ] || { echo "gpu-tune-kernel.sh: \`$lab\` is not an executable smemplan-lab" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
kernel="$here/../lab/examples/kernels/loop_stages.cu"
mkdir -p "$out"
# NAME|MS_PER_CANDIDATE|FLAGS
cat >"$out/cases.txt" <<CASES
dirk-n30-f32|6|--kernel $kernel --set n=30 --runs 65536
dirk-n10-f64|6|--kernel $kernel --set n=10 --set precision=f64 --runs 65536
CASES
TUNE_CASES="$out/cases.txt" TUNE_COMMON="" CASE_LIMIT=${CASE_LIMIT:-90} exec "$here/gpu-tune-real.sh" "$lab" "$out"
