// Products of resident references with a batch of prepared suspects, all fp32 multiply with fp32
// accumulation (no TF32), per (suspect column, reference, batch probe). Reference unit rows are
// fp32, or bf16 bits (imprint_bf16, common.cuh) for the *_bf16 kernels, widened exactly to fp32.
//
// Shared layout. References are slot-major: row (slot, probe p) at (slot*num_probes + p)*ld
// elements, ld a multiple of 4 (of 8 for bf16 rows, so each 16-byte load is 8 whole values) with
// zero padding past dim; suspects share the references' ld. Suspects, prepared by
// imprint_prepare_rows, sit in one buffer of three planes, [plane][suspect][batch probe i][ld]
// with planes 0 = raw rows, 1 = ln s~, 2 = s~. slots[r] is the slot of the r-th scored reference, probes[i] the probe
// that batch row i answers.
//
// extern "C" imprint_fused_dots_{1,2,4,8}(ref_unit, ref_log, slots, refs, probes, n, num_probes,
//                                         ld, susp, suspects, want, dot_u, dot_r)
//   The memory-bound path for a few suspects (at most the suffix, which sizes the accumulators
//   and so the registers; the launch bounds keep several blocks per SM): one warp
//   per (batch probe, reference) reads that reference row once with 16-byte loads and forms,
//   for every suspect s, the products that `want` asks for:
//     bit 0  u_r . x_s      -> dot_u[(i*2*suspects + s)*refs + r]
//     bit 1  u_r . ln s~    -> dot_u[(i*2*suspects + suspects + s)*refs + r]
//     bit 2  ln r~ . s~     -> dot_r[(i*suspects + s)*refs + r]
//   ref_unit / ref_log may be null when no asked product reads them.
//
// extern "C" imprint_fused_cosine_bf16_{1,2,4,8}(ref_unit, slots, refs, probes, n, num_probes, ld,
//                                                 susp, suspects, dot_u)
//   imprint_fused_dots_* asked for bit 0 only (u_r . x_s, the cosine product, into dot_u), over
//   bf16 unit rows: each 16-byte load is 8 reference values, each widened to fp32 and multiplied
//   by the fp32 suspect value, the sums fp32. The launch as for imprint_fused_dots_*.
//
// extern "C" imprint_sgemm_tn(a_base, slots, rows, a_slot_stride, probes, n, ld,
//                             b_base, cols, b_col_stride, c_base, c_probe_stride, c_col_stride)
//   The compute-bound path for many suspects: for every batch probe i,
//     C_i[r][j] = sum_k A(slots[r], probes[i])[k] * B_j(i)[k],  k < ld
//   with row A(slot, p) at a_base + slot*a_slot_stride + p*ld, column B_j(i) at
//   b_base + j*b_col_stride + i*ld, and C_i[r][j] at c_base + i*c_probe_stride + j*c_col_stride + r
//   (the dot_u / dot_r layouts above). Tiles of 128 references × 64 columns × 16, 256 threads,
//   8×4 outputs per thread, the next tile prefetched into registers while this one multiplies.
//   Launch: grid (ceil(rows/128), ceil(cols/64), min(n, 65535)), block 256.
//
// extern "C" imprint_sgemm_tn_bf16(a_base, slots, rows, a_slot_stride, probes, n, ld,
//                                  b_base, cols, b_col_stride, c_base, c_probe_stride, c_col_stride)
//   imprint_sgemm_tn with A in bf16 bits (a_base and a_slot_stride in imprint_bf16 elements),
//   each value widened to fp32 as its tile is loaded; B, C and the accumulation stay fp32. The
//   launch as for imprint_sgemm_tn.
//
// extern "C" imprint_pointer_table(out, base, probes, n, stride)
//   The per-probe operand addresses cuBLAS's batched SGEMM takes:
//     out[i] = base + (probes ? probes[i] : i) * stride   (stride in floats), i < n
//   Launch: one thread per entry.
//
// extern "C" imprint_js(ref_unit, ref_log, ref_norm, slots, refs, probes, n, num_probes, ld, dim,
//                       eps, scale, susp, suspects, js_out)
//   Jensen-Shannon per (suspect, reference, batch probe), one warp each:
//     js_out[(i*suspects + s)*refs + r] = 1/2 sum_k (r~ ln r~ + s~ ln s~ - a ln(a/2)), a = r~ + s~
//   summed per element so near-equal rows do not cancel; r~ is rebuilt from the unit row and
//   ref_norm[slot*num_probes + p].
#include "common.cuh"

// The asked products are template flags and absent suspects read suspect 0's row (their sums are
// dropped), so the loop body has no branch: each lane issues the reference loads of UNROLL row
// chunks of 16 bytes back to back, keeping UNROLL * 16 bytes per form in flight before the first
// multiply. REF is the unit rows' element (float or imprint_bf16): a chunk is PARTS float4s of
// values, so the suspect (always fp32) is read PARTS float4s per reference chunk.
template <typename REF, int MAXS, bool WANT_X, bool WANT_LS, bool WANT_LR>
__device__ __forceinline__ void imprint_fused_dots_body(
        const REF* __restrict__ ref_unit, const float* __restrict__ ref_log, const int* __restrict__ slots,
        int refs, const int* __restrict__ probes, int n, int num_probes, int ld,
        const float* __restrict__ susp, int suspects,
        float* __restrict__ dot_u, float* __restrict__ dot_r) {
    constexpr int UNROLL = MAXS == 1 ? 4 : MAXS == 2 ? 2 : 1;
    constexpr int PARTS = imprint_row<REF>::PARTS;
    // The fp32 log rows are read in the unit rows' chunks, which only fp32 unit rows match.
    static_assert(PARTS == 1 || !WANT_LR, "ln r~ . s~ needs fp32 unit rows");
    constexpr bool WANT_U = WANT_X || WANT_LS;
    int lane = threadIdx.x & 31;
    long long warps_total = (long long) refs * n;
    long long warp_step = ((long long) gridDim.x * blockDim.x) >> 5;
    int chunks = ld >> (PARTS == 1 ? 2 : 3);
    long long plane = (long long) suspects * n * ld;
    const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    for (long long w = ((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5; w < warps_total; w += warp_step) {
        // Neighbouring warps share a probe, so the suspect rows they all read stay in L1.
        int i = (int) (w / refs);
        int r = (int) (w % refs);
        long long row = ((long long) slots[r] * num_probes + probes[i]) * ld;
        const REF* u_row = ref_unit + (WANT_U ? row : 0);
        const float* l_row = ref_log + (WANT_LR ? row : 0);
        const float4* x4[MAXS];
#pragma unroll
        for (int s = 0; s < MAXS; ++s) {
            x4[s] = reinterpret_cast<const float4*>(susp + ((long long) (s < suspects ? s : 0) * n + i) * ld);
        }
        float acc_x[MAXS];
        float acc_ls[MAXS];
        float acc_lr[MAXS];
#pragma unroll
        for (int s = 0; s < MAXS; ++s) {
            acc_x[s] = 0.0f;
            acc_ls[s] = 0.0f;
            acc_lr[s] = 0.0f;
        }
        for (int q0 = lane; q0 < chunks; q0 += 32 * UNROLL) {
            float4 u[UNROLL][PARTS];
            float4 l[UNROLL];
            int at[UNROLL];
#pragma unroll
            for (int j = 0; j < UNROLL; ++j) {
                int q = q0 + 32 * j;
                // Past the row's end a lane re-reads its first chunk and multiplies zeros.
                at[j] = q < chunks ? q : q0;
                if (WANT_U) {
                    imprint_row<REF>::load(u_row, at[j], u[j]);
                } else {
#pragma unroll
                    for (int h = 0; h < PARTS; ++h) {
                        u[j][h] = zero;
                    }
                }
                l[j] = WANT_LR ? __ldg(reinterpret_cast<const float4*>(l_row) + at[j]) : zero;
                if (q >= chunks) {
#pragma unroll
                    for (int h = 0; h < PARTS; ++h) {
                        u[j][h] = zero;
                    }
                    l[j] = zero;
                }
            }
#pragma unroll
            for (int j = 0; j < UNROLL; ++j) {
#pragma unroll
                for (int s = 0; s < MAXS; ++s) {
#pragma unroll
                    for (int h = 0; h < PARTS; ++h) {
                        int xq = at[j] * PARTS + h;
                        if (WANT_X) {
                            acc_x[s] += imprint_dot4(u[j][h], __ldg(x4[s] + xq));
                        }
                        if (WANT_LS) {
                            acc_ls[s] += imprint_dot4(u[j][h], __ldg(x4[s] + plane / 4 + xq));
                        }
                    }
                    if (WANT_LR) {
                        acc_lr[s] += imprint_dot4(l[j], __ldg(x4[s] + plane / 2 + at[j]));
                    }
                }
            }
        }
#pragma unroll
        for (int s = 0; s < MAXS; ++s) {
            if (s < suspects) {
                if (WANT_X) {
                    float v = imprint_warp_sum_f(acc_x[s]);
                    if (lane == 0) {
                        dot_u[((long long) i * 2 * suspects + s) * refs + r] = v;
                    }
                }
                if (WANT_LS) {
                    float v = imprint_warp_sum_f(acc_ls[s]);
                    if (lane == 0) {
                        dot_u[((long long) i * 2 * suspects + suspects + s) * refs + r] = v;
                    }
                }
                if (WANT_LR) {
                    float v = imprint_warp_sum_f(acc_lr[s]);
                    if (lane == 0) {
                        dot_r[((long long) i * suspects + s) * refs + r] = v;
                    }
                }
            }
        }
    }
}

// One entry point per accumulator width, dispatching once per launch on the asked products; the
// launch bounds trade registers for resident blocks.
#define IMPRINT_FUSED_CASE(WIDTH, BITS)                                                                     \
    case BITS:                                                                                              \
        imprint_fused_dots_body<float, WIDTH, ((BITS) & 1) != 0, ((BITS) & 2) != 0, ((BITS) & 4) != 0>(     \
                ref_unit, ref_log, slots, refs, probes, n, num_probes, ld, susp, suspects, dot_u, dot_r);   \
        break;
#define IMPRINT_FUSED_ENTRY(WIDTH, BOUNDS)                                                                  \
    extern "C" __global__ void __launch_bounds__ BOUNDS imprint_fused_dots_##WIDTH(                          \
            const float* __restrict__ ref_unit, const float* __restrict__ ref_log,                            \
            const int* __restrict__ slots, int refs, const int* __restrict__ probes, int n, int num_probes,   \
            int ld, const float* __restrict__ susp, int suspects, int want, float* __restrict__ dot_u,        \
            float* __restrict__ dot_r) {                                                                       \
        switch (want & 7) {                                                                                   \
            IMPRINT_FUSED_CASE(WIDTH, 1)                                                                      \
            IMPRINT_FUSED_CASE(WIDTH, 2)                                                                      \
            IMPRINT_FUSED_CASE(WIDTH, 3)                                                                      \
            IMPRINT_FUSED_CASE(WIDTH, 4)                                                                      \
            IMPRINT_FUSED_CASE(WIDTH, 5)                                                                      \
            IMPRINT_FUSED_CASE(WIDTH, 6)                                                                      \
            IMPRINT_FUSED_CASE(WIDTH, 7)                                                                      \
            default:                                                                                          \
                break;                                                                                        \
        }                                                                                                     \
    }

IMPRINT_FUSED_ENTRY(1, (256, 3))
IMPRINT_FUSED_ENTRY(2, (256, 2))
IMPRINT_FUSED_ENTRY(4, (256, 2))
IMPRINT_FUSED_ENTRY(8, (256, 1))

#define IMPRINT_FUSED_COSINE_BF16_ENTRY(WIDTH, BOUNDS)                                                      \
    extern "C" __global__ void __launch_bounds__ BOUNDS imprint_fused_cosine_bf16_##WIDTH(                   \
            const imprint_bf16* __restrict__ ref_unit, const int* __restrict__ slots, int refs,             \
            const int* __restrict__ probes, int n, int num_probes, int ld, const float* __restrict__ susp,   \
            int suspects, float* __restrict__ dot_u) {                                                       \
        imprint_fused_dots_body<imprint_bf16, WIDTH, true, false, false>(                                    \
                ref_unit, nullptr, slots, refs, probes, n, num_probes, ld, susp, suspects, dot_u, nullptr);  \
    }

IMPRINT_FUSED_COSINE_BF16_ENTRY(1, (256, 3))
IMPRINT_FUSED_COSINE_BF16_ENTRY(2, (256, 2))
IMPRINT_FUSED_COSINE_BF16_ENTRY(4, (256, 2))
IMPRINT_FUSED_COSINE_BF16_ENTRY(8, (256, 1))

#define IMPRINT_BM 128
#define IMPRINT_BN 64
#define IMPRINT_BK 16

// TA is A's element, float or imprint_bf16; A's values are widened to fp32 as they are loaded, so
// the tiles in shared memory and everything after are the same for both.
template <typename TA>
__device__ __forceinline__ void imprint_sgemm_tn_body(
        const TA* __restrict__ a_base, const int* __restrict__ slots, int rows, long long a_slot_stride,
        const int* __restrict__ probes, int n, int ld,
        const float* __restrict__ b_base, int cols, long long b_col_stride,
        float* __restrict__ c_base, long long c_probe_stride, int c_col_stride) {
    __shared__ __align__(16) float as[IMPRINT_BK][IMPRINT_BM];
    __shared__ __align__(16) float bs[IMPRINT_BK][IMPRINT_BN];
    int tid = threadIdx.x;
    int r0 = blockIdx.x * IMPRINT_BM;
    int j0 = blockIdx.y * IMPRINT_BN;
    int a_row = tid >> 2;
    int a_quad = tid & 3;
    int b_col = tid >> 2;
    int b_quad = tid & 3;
    // Each warp covers 4 row groups × 8 column groups, so its shared-memory reads of A and of B
    // each span 128 bytes: one wavefront apiece.
    int tm = ((tid >> 5) & 3) * 4 + ((tid & 31) >> 3);
    int tn = (tid >> 7) * 8 + (tid & 7);
    const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    for (int i = blockIdx.z; i < n; i += gridDim.z) {
        const TA* a_rows[2];
        bool a_ok[2];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            int r = r0 + a_row + h * 64;
            a_ok[h] = r < rows;
            a_rows[h] = a_ok[h] ? a_base + (long long) slots[r] * a_slot_stride + (long long) probes[i] * ld : a_base;
        }
        bool b_ok = j0 + b_col < cols;
        const float* b_column = b_ok ? b_base + (long long) (j0 + b_col) * b_col_stride + (long long) i * ld : b_base;

        float acc[8][4];
#pragma unroll
        for (int m = 0; m < 8; ++m) {
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                acc[m][c] = 0.0f;
            }
        }
        float4 pa[2];
        float4 pb;
        {
            int k = a_quad * 4;
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                pa[h] = (a_ok[h] && k < ld) ? imprint_row<TA>::load4(a_rows[h], k) : zero;
            }
            int kb = b_quad * 4;
            pb = (b_ok && kb < ld) ? __ldg(reinterpret_cast<const float4*>(b_column + kb)) : zero;
        }
        for (int k0 = 0; k0 < ld; k0 += IMPRINT_BK) {
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                int m = a_row + h * 64;
                as[a_quad * 4 + 0][m] = pa[h].x;
                as[a_quad * 4 + 1][m] = pa[h].y;
                as[a_quad * 4 + 2][m] = pa[h].z;
                as[a_quad * 4 + 3][m] = pa[h].w;
            }
            bs[b_quad * 4 + 0][b_col] = pb.x;
            bs[b_quad * 4 + 1][b_col] = pb.y;
            bs[b_quad * 4 + 2][b_col] = pb.z;
            bs[b_quad * 4 + 3][b_col] = pb.w;
            __syncthreads();
            int next = k0 + IMPRINT_BK;
            if (next < ld) {
                int k = next + a_quad * 4;
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    pa[h] = (a_ok[h] && k < ld) ? imprint_row<TA>::load4(a_rows[h], k) : zero;
                }
                int kb = next + b_quad * 4;
                pb = (b_ok && kb < ld) ? __ldg(reinterpret_cast<const float4*>(b_column + kb)) : zero;
            }
#pragma unroll
            for (int kk = 0; kk < IMPRINT_BK; ++kk) {
                float4 a_lo = *reinterpret_cast<const float4*>(&as[kk][tm * 8]);
                float4 a_hi = *reinterpret_cast<const float4*>(&as[kk][tm * 8 + 4]);
                float4 b = *reinterpret_cast<const float4*>(&bs[kk][tn * 4]);
                float a[8] = {a_lo.x, a_lo.y, a_lo.z, a_lo.w, a_hi.x, a_hi.y, a_hi.z, a_hi.w};
                float bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
                for (int m = 0; m < 8; ++m) {
#pragma unroll
                    for (int c = 0; c < 4; ++c) {
                        acc[m][c] = fmaf(a[m], bv[c], acc[m][c]);
                    }
                }
            }
            __syncthreads();
        }
        float* c = c_base + (long long) i * c_probe_stride;
#pragma unroll
        for (int cc = 0; cc < 4; ++cc) {
            int j = j0 + tn * 4 + cc;
            if (j < cols) {
#pragma unroll
                for (int m = 0; m < 8; ++m) {
                    int r = r0 + tm * 8 + m;
                    if (r < rows) {
                        c[(long long) j * c_col_stride + r] = acc[m][cc];
                    }
                }
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(256) imprint_sgemm_tn(
        const float* __restrict__ a_base, const int* __restrict__ slots, int rows, long long a_slot_stride,
        const int* __restrict__ probes, int n, int ld,
        const float* __restrict__ b_base, int cols, long long b_col_stride,
        float* __restrict__ c_base, long long c_probe_stride, int c_col_stride) {
    imprint_sgemm_tn_body<float>(a_base, slots, rows, a_slot_stride, probes, n, ld, b_base, cols, b_col_stride,
                                 c_base, c_probe_stride, c_col_stride);
}

extern "C" __global__ void __launch_bounds__(256) imprint_sgemm_tn_bf16(
        const imprint_bf16* __restrict__ a_base, const int* __restrict__ slots, int rows, long long a_slot_stride,
        const int* __restrict__ probes, int n, int ld,
        const float* __restrict__ b_base, int cols, long long b_col_stride,
        float* __restrict__ c_base, long long c_probe_stride, int c_col_stride) {
    imprint_sgemm_tn_body<imprint_bf16>(a_base, slots, rows, a_slot_stride, probes, n, ld, b_base, cols,
                                        b_col_stride, c_base, c_probe_stride, c_col_stride);
}

extern "C" __global__ void imprint_pointer_table(
        const float** __restrict__ out, const float* base, const int* __restrict__ probes, int n, long long stride) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        out[i] = base + (long long) (probes ? probes[i] : i) * stride;
    }
}

extern "C" __global__ void imprint_js(
        const float* __restrict__ ref_unit, const float* __restrict__ ref_log, const double* __restrict__ ref_norm,
        const int* __restrict__ slots, int refs, const int* __restrict__ probes, int n, int num_probes, int ld,
        int dim, double eps, double scale, const float* __restrict__ susp, int suspects,
        float* __restrict__ js_out) {
    int lane = threadIdx.x & 31;
    long long warps_total = (long long) refs * n * suspects;
    long long warp_step = ((long long) gridDim.x * blockDim.x) >> 5;
    long long plane = (long long) suspects * n * ld;
    float eps_f = (float) eps;
    float scale_f = (float) scale;
    for (long long w = ((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5; w < warps_total; w += warp_step) {
        int s = (int) (w % suspects);
        long long rest = w / suspects;
        int i = (int) (rest % n);
        int r = (int) (rest / n);
        long long meta = (long long) slots[r] * num_probes + probes[i];
        const float* u = ref_unit + meta * ld;
        const float* lr = ref_log + meta * ld;
        long long srow = ((long long) s * n + i) * ld;
        const float* ls = susp + plane + srow;
        const float* st = susp + 2 * plane + srow;
        float norm = (float) ref_norm[meta];
        float acc = 0.0f;
        for (int k = lane; k < dim; k += 32) {
            float rt = fmaf(norm, __ldg(u + k), eps_f) * scale_f;
            float sv = __ldg(st + k);
            float a = rt + sv;
            acc += rt * __ldg(lr + k) + sv * __ldg(ls + k) - a * logf(0.5f * a);
        }
        double total = imprint_warp_sum_d((double) acc);
        if (lane == 0) {
            js_out[((long long) i * suspects + s) * refs + r] = (float) (0.5 * total);
        }
    }
}
