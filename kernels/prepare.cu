// Row preprocessing: the per-row forms scoring needs, for references when they are put and for
// suspects on every score.
//
// extern "C" imprint_prepare_rows(in, rows, dim, ld, eps, scale, distribution,
//                                 unit_out, unit_bf16_out, smooth_out, log_out,
//                                 norm_out, neg_entropy_out, log_sum_out, argmax_out)
//   in:   rows × ld floats, row-major; values at k < dim, anything at dim <= k < ld (ignored).
//   Each output is optional (null to skip). Row outputs are rows × ld values with zeros written
//   at dim <= k < ld, so products over ld columns equal products over dim; all are floats but
//   unit_bf16_out, which is bf16 bits (imprint_bf16, common.cuh):
//     unit_out       x / |x|                 (computed in double, stored float)
//     unit_bf16_out  x / |x|                 (unit_out's float rounded to the nearest bf16, ties
//                                             to even)
//     smooth_out     x~ = (x + eps) * scale  (scale = 1 / (1 + dim*eps))
//     log_out        ln x~
//   Per-row outputs (index = row): norm_out |x|, neg_entropy_out sum x~ ln x~, log_sum_out
//   sum ln x~ (all double), argmax_out the index of the largest raw value, ties to the lowest.
//   The smoothed forms are computed only when distribution != 0.
//   Launch: one block per row (grid-stride), blockDim.x a multiple of 32, at most 1024.
#include "common.cuh"

extern "C" __global__ void imprint_prepare_rows(
        const float* __restrict__ in, int rows, int dim, int ld, double eps, double scale, int distribution,
        float* __restrict__ unit_out, imprint_bf16* __restrict__ unit_bf16_out, float* __restrict__ smooth_out,
        float* __restrict__ log_out,
        double* __restrict__ norm_out, double* __restrict__ neg_entropy_out, double* __restrict__ log_sum_out,
        int* __restrict__ argmax_out) {
    __shared__ double scratch[32];
    __shared__ float best_value[32];
    __shared__ int best_index[32];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        long long base = (long long) row * ld;
        const float* x = in + base;
        double sum_sq = 0.0;
        double neg_h = 0.0;
        double log_sum = 0.0;
        float best = -__int_as_float(0x7f800000);
        int best_at = 0x7fffffff;
        for (int k = threadIdx.x; k < dim; k += blockDim.x) {
            float v = x[k];
            sum_sq += (double) v * v;
            imprint_argmax_merge(best, best_at, v, k);
            if (distribution) {
                double t = ((double) v + eps) * scale;
                double lt = log(t);
                neg_h += t * lt;
                log_sum += lt;
                if (smooth_out) {
                    smooth_out[base + k] = (float) t;
                }
                if (log_out) {
                    log_out[base + k] = (float) lt;
                }
            }
        }
        for (int k = dim + threadIdx.x; k < ld; k += blockDim.x) {
            if (unit_out) {
                unit_out[base + k] = 0.0f;
            }
            if (unit_bf16_out) {
                unit_bf16_out[base + k] = 0;
            }
            if (smooth_out) {
                smooth_out[base + k] = 0.0f;
            }
            if (log_out) {
                log_out[base + k] = 0.0f;
            }
        }
        for (int o = 16; o > 0; o >>= 1) {
            float v = __shfl_xor_sync(IMPRINT_FULL_MASK, best, o);
            int at = __shfl_xor_sync(IMPRINT_FULL_MASK, best_at, o);
            imprint_argmax_merge(best, best_at, v, at);
        }
        __syncthreads();
        if (lane == 0) {
            best_value[warp] = best;
            best_index[warp] = best_at;
        }
        double norm = sqrt(imprint_block_sum_d(sum_sq, scratch));
        double total_neg_h = imprint_block_sum_d(neg_h, scratch);
        double total_log_sum = imprint_block_sum_d(log_sum, scratch);
        if (threadIdx.x == 0) {
            int warps = blockDim.x >> 5;
            for (int w = 1; w < warps; ++w) {
                imprint_argmax_merge(best, best_at, best_value[w], best_index[w]);
            }
            if (norm_out) {
                norm_out[row] = norm;
            }
            if (argmax_out) {
                argmax_out[row] = best_at;
            }
            if (distribution && neg_entropy_out) {
                neg_entropy_out[row] = total_neg_h;
            }
            if (distribution && log_sum_out) {
                log_sum_out[row] = total_log_sum;
            }
        }
        if (unit_out || unit_bf16_out) {
            for (int k = threadIdx.x; k < dim; k += blockDim.x) {
                float u = (float) ((double) x[k] / norm);
                if (unit_out) {
                    unit_out[base + k] = u;
                }
                if (unit_bf16_out) {
                    unit_bf16_out[base + k] = imprint_bf16_from_float(u);
                }
            }
        }
        __syncthreads();
    }
}
