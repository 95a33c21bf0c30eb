// Helpers shared by every kernel family: warp and block reductions, metric bits, bf16 bits.
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

// bf16 as raw bits (the high half of an fp32), not cuda_bf16.h: the unity source must compile
// without system headers (NVRTC) and for the CPU (kernels/emulator).
typedef unsigned short imprint_bf16;

// The fp32 rounded to the nearest bf16, ties to even; finite inputs only (rows are validated
// upstream), so no NaN case.
__device__ __forceinline__ imprint_bf16 imprint_bf16_from_float(float f) {
    unsigned bits = __float_as_uint(f);
    // Just under half a bf16 ulp, plus the kept low bit: the sum carries into the kept bits when
    // the dropped half is over half an ulp, or exactly half with the kept value odd.
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (imprint_bf16) (bits >> 16);
}

// Two bf16 packed in one 32-bit word, the lower address in the low half, widened exactly.
__device__ __forceinline__ float imprint_bf16_lo(unsigned pair) {
    return __uint_as_float(pair << 16);
}

__device__ __forceinline__ float imprint_bf16_hi(unsigned pair) {
    return __uint_as_float(pair & 0xffff0000u);
}

// 16 bytes of a row as float4 parts: one for fp32 rows, two (8 values) for bf16 rows.
template <typename T>
struct imprint_row;

template <>
struct imprint_row<float> {
    static constexpr int PARTS = 1;
    __device__ __forceinline__ static void load(const float* row, int chunk, float4* out) {
        out[0] = __ldg(reinterpret_cast<const float4*>(row) + chunk);
    }
    // Four values at element k (a multiple of 4).
    __device__ __forceinline__ static float4 load4(const float* row, int k) {
        return __ldg(reinterpret_cast<const float4*>(row + k));
    }
};

template <>
struct imprint_row<imprint_bf16> {
    static constexpr int PARTS = 2;
    __device__ __forceinline__ static void load(const imprint_bf16* row, int chunk, float4* out) {
        uint4 v = __ldg(reinterpret_cast<const uint4*>(row) + chunk);
        out[0] = make_float4(imprint_bf16_lo(v.x), imprint_bf16_hi(v.x), imprint_bf16_lo(v.y), imprint_bf16_hi(v.y));
        out[1] = make_float4(imprint_bf16_lo(v.z), imprint_bf16_hi(v.z), imprint_bf16_lo(v.w), imprint_bf16_hi(v.w));
    }
    // Four values at element k (a multiple of 4): one 8-byte load.
    __device__ __forceinline__ static float4 load4(const imprint_bf16* row, int k) {
        uint2 v = __ldg(reinterpret_cast<const uint2*>(row + k));
        return make_float4(imprint_bf16_lo(v.x), imprint_bf16_hi(v.x), imprint_bf16_lo(v.y), imprint_bf16_hi(v.y));
    }
};

#endif
