// Host code sizing a launch with the generated header (scripts/gpu-verify.sh).
#include <cstdio>
#include "layout.cuh"

__global__ void touch(unsigned long long* out) {
    extern __shared__ unsigned char smem[];
    if (smemplan_layout::shared_bytes_per_block(blockDim.x) > 0) smem[threadIdx.x] = 1;
    out[threadIdx.x] = smemplan_layout::shared_bytes_per_block(blockDim.x);
}

int main() {
    constexpr unsigned long long block = smemplan_layout::block_size;
    static_assert(smemplan_layout::shared_bytes_per_block(block) == smemplan_layout::shared_bytes_for_block_size,
                  "one rule for the block's bytes");
    const unsigned long long bytes = smemplan_layout::shared_bytes_per_block(block);  // called from host code
    std::printf("%llu %llu\n", block, bytes);
    if (bytes > 48 * 1024 &&
        cudaFuncSetAttribute(touch, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes) != cudaSuccess)
        return 1;
    unsigned long long* d = nullptr;
    if (cudaMalloc(&d, block * sizeof *d) != cudaSuccess) return 1;
    touch<<<1, (unsigned)block, (size_t)bytes>>>(d);
    cudaError_t e = cudaDeviceSynchronize();
    unsigned long long first = 0;
    cudaMemcpy(&first, d, sizeof first, cudaMemcpyDeviceToHost);
    std::printf("launch %s, device computed %llu\n", cudaGetErrorString(e), first);
    return e != cudaSuccess || first != bytes;
}
