#!/usr/bin/env bash
# The GPU checks of smemplan, on a machine with an NVIDIA card, CUDA and nvcc
# (not part of `cargo test`: CI has no GPU). Usage:
#   scripts/gpu-verify.sh BIN_DIR OUT_DIR
# BIN_DIR holds the two binaries, built elsewhere with
# `cargo build --release --workspace --features smemplan-lab/gpu`: `smemplan` (the
# planner) and `smemplan-lab` (the GPU lab: verify, measure).
# Writes OUT_DIR/{system.txt,verify*.{txt,json},header.txt,throughput.{json,md},measure.txt}
# and exits
# non-zero when any check fails.
set -u -o pipefail
dir=${1:?usage: gpu-verify.sh BIN_DIR OUT_DIR}
out=${2:?usage: gpu-verify.sh BIN_DIR OUT_DIR}
bin="$dir/smemplan"
lab="$dir/smemplan-lab"
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
if [ ! -x "$lab" ]; then
  echo "gpu-verify: no smemplan-lab in $dir: build it with \`cargo build --release --workspace --features smemplan-lab/gpu\`" >&2
  exit 2
fi
# Without a driver (no nvidia-smi, or one that finds no card) or without
# nvcc there is nothing to check: the lab says so in its own words, and its
# exit code is the script's.
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1 || ! command -v nvcc >/dev/null 2>&1; then
  "$lab" verify --all-models
  exit $?
fi
# The profile of the card at hand (the lab checks the card against it and
# says so when they differ): h100 or h200 by the card's name, else h200.
case "$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)" in
  *H100*) profile=h100 ;;
  *) profile=h200 ;;
esac
cuda_lib=$(dirname "$(readlink -f "$(command -v nvcc)")")/../lib64
export LD_LIBRARY_PATH="$cuda_lib:${LD_LIBRARY_PATH:-}"
status=0

{
  date -u +"date %Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,compute_cap --format=csv
  nvidia-smi | head -4 | tail -2
  nvcc --version | tail -2
  uname -r
} >"$out/system.txt" 2>&1
cat "$out/system.txt"

# 1. Integrity walks of every built-in model (CuBIE's and the optimised
#    layout, at both block sizes, planted overlaps) and the occupancy grid.
"$lab" verify --device "$profile" --all-models --occupancy --json "$out/verify.json" >"$out/verify.txt" 2>&1 || status=1
"$lab" verify --device "$profile" --all-models --set n=3 --json "$out/verify-n3.json" >>"$out/verify.txt" 2>&1 || status=1
grep -E "PASSED|FAILED|occupancy|CLOBBER|NOT CAUGHT|differs|^device" "$out/verify.txt"

# 2. The generated header from host code: nvcc compiles a host program that
#    sizes its launch with shared_bytes_per_block() and launches a kernel
#    that uses the accessors; the bytes must equal `plan --json`'s.
tmp=$(mktemp -d)
for loc in shared local; do
  "$bin" plan --model dirk --set loc=$loc --device "$profile" --json --cuda "$tmp/layout.cuh" >"$tmp/plan.json" || status=1
  json=$(python3 -c "import json; print(json.load(open('$tmp/plan.json'))['optimized']['dynamic_shared_bytes'])")
  if nvcc -O2 -arch=sm_90 -std=c++17 -Xcompiler -Wall,-Wextra -I"$tmp" -o "$tmp/host" "$here/host_sizing.cu" >>"$out/header.txt" 2>&1; then
    got=$("$tmp/host" | tee -a "$out/header.txt" | head -1 | cut -d' ' -f2)
    echo "loc=$loc: header from host code says $got B, plan --json says $json B" | tee -a "$out/header.txt"
    [ "$got" = "$json" ] || status=1
  else
    echo "loc=$loc: nvcc failed on the host program" | tee -a "$out/header.txt"; status=1
  fi
done
rm -rf "$tmp"

# 3. Throughput of the batched integrators across layouts and block sizes,
#    every run checked bit for bit against the CPU reference.
export SMEMPLAN_DRIVER_VERSION=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)
export SMEMPLAN_DATE=$(date -u +%Y-%m-%d)
#    MEASURE_BUDGET=0 skips this step (e.g. when it runs as a call of its own).
if [ "${MEASURE_BUDGET:-420}" != 0 ]; then
  "$lab" measure --device "$profile" --budget "${MEASURE_BUDGET:-420}" --json "$out/throughput.json" --markdown "$out/throughput.md" \
    >"$out/measure.txt" 2>&1 || status=1
  tail -n 60 "$out/throughput.md"
fi
echo "gpu-verify: exit $status"
exit $status
