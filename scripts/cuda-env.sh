# Sourced by the GPU scripts (gpu-levels.sh, gpu-tierpick.sh,
# gpu-tune-real.sh): puts NVRTC, beside nvcc or in the usual CUDA folders,
# on the loader's path, where cudarc looks for it at run time.
if command -v nvcc >/dev/null; then
  export LD_LIBRARY_PATH="$(dirname "$(readlink -f "$(command -v nvcc)")")/../lib64:${LD_LIBRARY_PATH:-}"
fi
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  if [ -d "$d" ]; then export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"; fi
done
