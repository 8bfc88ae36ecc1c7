# Sourced by the GPU scripts (gpu-levels.sh, gpu-tierpick.sh,
# gpu-tune-real.sh). Puts NVRTC, beside nvcc or in the usual CUDA folders,
# on the loader's path, where cudarc looks for it at run time.
if command -v nvcc >/dev/null; then
  export LD_LIBRARY_PATH="$(dirname "$(readlink -f "$(command -v nvcc)")")/../lib64:${LD_LIBRARY_PATH:-}"
fi
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  if [ -d "$d" ]; then export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"; fi
done

# card_profile OUT: writes the date and the card's figures to OUT/system.txt
# and shows them, then sets `profile` to the device profile of the card
# (h200 on an H200, else h100) and shows it.
card_profile() {
  {
    date -u +"date %Y-%m-%dT%H:%M:%SZ"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,compute_cap --format=csv || true
    nvidia-smi | head -4 | tail -2 || true
  } >"$1/system.txt" 2>&1
  cat "$1/system.txt"
  # No card (nvidia-smi missing) is not an error here: the tune runs say so.
  local card
  card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
  case "$card" in *H200*) profile=h200 ;; *) profile=h100 ;; esac
  echo "profile $profile"
}
