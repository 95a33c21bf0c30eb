// Just enough of CUDA C to compile kernels/ as C++ for the CPU: the threads of a block are
// fibers on one OS thread, switched cooperatively at barriers (__syncthreads and the two steps of
// a warp shuffle); blocks run one after another, and kernels one at a time even when launched on
// different streams (fake_libcuda.cpp holds a lock around each), so __shared__ can be a
// function-level static and threadIdx and friends globals.
// For checking kernel logic on hosts without a GPU.
#pragma once
#include <cmath>
#include <cstring>
#include <math.h>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
struct float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
struct uint2 {
    unsigned x, y;
};
struct uint4 {
    unsigned x, y, z, w;
};

extern dim3 threadIdx;
extern dim3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;

/** A barrier among fibers: the last to arrive releases the others. */
struct FiberBarrier {
    unsigned expected = 0;
    unsigned arrived = 0;
    unsigned long generation = 0;
};
void fiber_wait(FiberBarrier& barrier);

struct EmulatedBlock {
    FiberBarrier block;
    FiberBarrier warps[32];
    unsigned long long exchange[32][32];
};
extern EmulatedBlock* emulated_block;

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)

inline void __syncthreads() { fiber_wait(emulated_block->block); }

template <typename T>
T __shfl_xor_sync(unsigned, T value, int offset) {
    static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
    unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    unsigned long long bits = 0;
    std::memcpy(&bits, &value, sizeof(T));
    emulated_block->exchange[warp][lane] = bits;
    fiber_wait(emulated_block->warps[warp]);
    unsigned long long other = emulated_block->exchange[warp][lane ^ offset];
    fiber_wait(emulated_block->warps[warp]);
    T out;
    std::memcpy(&out, &other, sizeof(T));
    return out;
}

template <typename T>
inline T __ldg(const T* p) { return *p; }
inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, sizeof f);
    return f;
}
inline float __uint_as_float(unsigned u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}
inline unsigned __float_as_uint(float f) {
    unsigned u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}
inline long long __double_as_longlong(double d) {
    long long v;
    std::memcpy(&v, &d, sizeof v);
    return v;
}
using std::fmaf;
using std::log;
using ::logf;
using std::sqrt;
