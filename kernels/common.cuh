// Helpers shared by every kernel family: warp and block reductions, metric bits.
//
// build-kernels.sh prepends this file to the concatenated families (dropping their #include
// lines), so the unity source it ships for NVRTC needs no include path and no system header.
#ifndef IMPRINT_COMMON_CUH
#define IMPRINT_COMMON_CUH

#define IMPRINT_FULL_MASK 0xffffffffu

// Metric bits, one per dev.imprint.core.Metric ordinal.
#define IMPRINT_COSINE 1
#define IMPRINT_KL_REF_SUSPECT 2
#define IMPRINT_KL_SUSPECT_REF 4
#define IMPRINT_JS 8
#define IMPRINT_TOP1 16
#define IMPRINT_METRIC_COUNT 5

__device__ __forceinline__ float imprint_warp_sum_f(float v) {
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(IMPRINT_FULL_MASK, v, o);
    }
    return v;
}

__device__ __forceinline__ double imprint_warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(IMPRINT_FULL_MASK, v, o);
    }
    return v;
}

// Sum over the block; every thread gets the total. scratch holds 32 doubles; blockDim.x is a
// multiple of 32 and at most 1024.
__device__ __forceinline__ double imprint_block_sum_d(double v, double* scratch) {
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    v = imprint_warp_sum_d(v);
    __syncthreads();
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    int warps = blockDim.x >> 5;
    double t = lane < warps ? scratch[lane] : 0.0;
    return imprint_warp_sum_d(t);
}

// The larger of two (value, index) candidates; equal values go to the lower index.
__device__ __forceinline__ void imprint_argmax_merge(float& value, int& index, float other_value, int other_index) {
    if (other_value > value || (other_value == value && other_index < index)) {
        value = other_value;
        index = other_index;
    }
}

__device__ __forceinline__ float imprint_dot4(float4 a, float4 b) {
    return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
}

#endif
