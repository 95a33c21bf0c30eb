// Combination: the metric values per (suspect, reference, batch probe) from the products and the
// per-row terms, and their means over the batch probes, in double.
//
// extern "C" imprint_combine(suspects, refs, n, num_probes, metrics, per_probe, slots, probes,
//                            ref_norm, ref_neg_entropy, ref_argmax,
//                            s_norm, s_neg_entropy, s_log_sum, s_argmax,
//                            dot_u, dot_r, dot_rows, dots_by_slot, js_vals, eps, scale,
//                            means, per_probe_out)
//   metrics: IMPRINT_* bits (common.cuh). Reference terms at slot*num_probes + p (as written by
//   imprint_prepare_rows for each put), suspect terms at s*n + i. dot_u, dot_r and js_vals are
//   laid out as products.cu documents, except that dot_u and dot_r hold dot_rows rows per column
//   (refs in products.cu), indexed by the reference's slot instead of r when dots_by_slot != 0
//   (cuBLAS multiplies every held slot). Arrays a requested metric does not read may be null.
//     COSINE          dot_u(x) / |s|
//     KL_REF_SUSPECT  sum r~ ln r~ - (|r| dot_u(ln s~) + eps sum ln s~) * scale
//                     (the cross term is affine in r = |r| u, so it reuses the unit rows)
//     KL_SUSPECT_REF  sum s~ ln s~ - dot_r
//     JS              js_vals
//     TOP1_AGREEMENT  1 when the argmaxes agree, else 0
//   means[m*suspects*refs + s*refs + r] is the mean over the n batch probes of metric ordinal m;
//   when per_probe != 0, per_probe_out[(m*suspects*refs + s*refs + r)*n + i] holds each value.
//   Slots of metrics not asked are left untouched. Launch: blocks of exactly 256 threads, one per
//   tile of 32 consecutive references of one suspect (suspect tile / ceil(refs/32)), grid-stride.
//   Lane l takes reference 32*(tile % ceil(refs/32)) + l, so a warp reads 32 consecutive dot
//   values (one transaction, where one warp per pair would read 32 rows apart); the block's 8
//   warps take every 8th batch probe and their sums are added in shared memory in a fixed order.
#include "common.cuh"

#define IMPRINT_COMBINE_SLICES 8

extern "C" __global__ void __launch_bounds__(256) imprint_combine(
        int suspects, int refs, int n, int num_probes, int metrics, int per_probe,
        const int* __restrict__ slots, const int* __restrict__ probes,
        const double* __restrict__ ref_norm, const double* __restrict__ ref_neg_entropy,
        const int* __restrict__ ref_argmax,
        const double* __restrict__ s_norm, const double* __restrict__ s_neg_entropy,
        const double* __restrict__ s_log_sum, const int* __restrict__ s_argmax,
        const float* __restrict__ dot_u, const float* __restrict__ dot_r, int dot_rows, int dots_by_slot,
        const float* __restrict__ js_vals,
        double eps, double scale, double* __restrict__ means, double* __restrict__ per_probe_out) {
    __shared__ double partial[IMPRINT_METRIC_COUNT][IMPRINT_COMBINE_SLICES][32];
    int lane = threadIdx.x & 31;
    int slice = threadIdx.x >> 5;
    int groups = (refs + 31) >> 5;
    long long pairs = (long long) suspects * refs;
    long long tiles = (long long) suspects * groups;
    for (long long tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        int s = (int) (tile / groups);
        int r = (int) (tile % groups) * 32 + lane;
        bool live = r < refs;
        long long pair = (long long) s * refs + r;
        double sums[IMPRINT_METRIC_COUNT] = {0.0, 0.0, 0.0, 0.0, 0.0};
        if (live) {
            int slot = slots[r];
            int row = dots_by_slot ? slot : r;
            for (int i = slice; i < n; i += IMPRINT_COMBINE_SLICES) {
                long long meta = (long long) slot * num_probes + probes[i];
                long long srow = (long long) s * n + i;
                double v[IMPRINT_METRIC_COUNT] = {0.0, 0.0, 0.0, 0.0, 0.0};
                if (metrics & IMPRINT_COSINE) {
                    v[0] = (double) dot_u[((long long) i * 2 * suspects + s) * dot_rows + row] / s_norm[srow];
                }
                if (metrics & IMPRINT_KL_REF_SUSPECT) {
                    double g = dot_u[((long long) i * 2 * suspects + suspects + s) * dot_rows + row];
                    v[1] = ref_neg_entropy[meta] - (ref_norm[meta] * g + eps * s_log_sum[srow]) * scale;
                }
                if (metrics & IMPRINT_KL_SUSPECT_REF) {
                    v[2] = s_neg_entropy[srow] - (double) dot_r[((long long) i * suspects + s) * dot_rows + row];
                }
                if (metrics & IMPRINT_JS) {
                    v[3] = js_vals[((long long) i * suspects + s) * refs + r];
                }
                if (metrics & IMPRINT_TOP1) {
                    v[4] = ref_argmax[meta] == s_argmax[srow] ? 1.0 : 0.0;
                }
#pragma unroll
                for (int m = 0; m < IMPRINT_METRIC_COUNT; ++m) {
                    if (metrics & (1 << m)) {
                        sums[m] += v[m];
                        if (per_probe) {
                            per_probe_out[((long long) m * pairs + pair) * n + i] = v[m];
                        }
                    }
                }
            }
        }
#pragma unroll
        for (int m = 0; m < IMPRINT_METRIC_COUNT; ++m) {
            partial[m][slice][lane] = sums[m];
        }
        __syncthreads();
        if (slice == 0 && live) {
#pragma unroll
            for (int m = 0; m < IMPRINT_METRIC_COUNT; ++m) {
                if (metrics & (1 << m)) {
                    double total = 0.0;
                    for (int k = 0; k < IMPRINT_COMBINE_SLICES; ++k) {
                        total += partial[m][k][lane];
                    }
                    means[(long long) m * pairs + pair] = total / n;
                }
            }
        }
        __syncthreads();
    }
}
