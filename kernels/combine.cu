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
//   Slots of metrics not asked are left untouched. Launch: one warp per (suspect, reference),
//   grid-stride.
#include "common.cuh"

extern "C" __global__ void imprint_combine(
        int suspects, int refs, int n, int num_probes, int metrics, int per_probe,
        const int* __restrict__ slots, const int* __restrict__ probes,
        const double* __restrict__ ref_norm, const double* __restrict__ ref_neg_entropy,
        const int* __restrict__ ref_argmax,
        const double* __restrict__ s_norm, const double* __restrict__ s_neg_entropy,
        const double* __restrict__ s_log_sum, const int* __restrict__ s_argmax,
        const float* __restrict__ dot_u, const float* __restrict__ dot_r, int dot_rows, int dots_by_slot,
        const float* __restrict__ js_vals,
        double eps, double scale, double* __restrict__ means, double* __restrict__ per_probe_out) {
    int lane = threadIdx.x & 31;
    long long pairs = (long long) suspects * refs;
    long long warp_step = ((long long) gridDim.x * blockDim.x) >> 5;
    for (long long pair = ((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5; pair < pairs; pair += warp_step) {
        int s = (int) (pair / refs);
        int r = (int) (pair % refs);
        int slot = slots[r];
        int row = dots_by_slot ? slot : r;
        double sums[IMPRINT_METRIC_COUNT] = {0.0, 0.0, 0.0, 0.0, 0.0};
        for (int i = lane; i < n; i += 32) {
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
#pragma unroll
        for (int m = 0; m < IMPRINT_METRIC_COUNT; ++m) {
            if (metrics & (1 << m)) {
                double total = imprint_warp_sum_d(sums[m]);
                if (lane == 0) {
                    means[(long long) m * pairs + pair] = total / n;
                }
            }
        }
    }
}
