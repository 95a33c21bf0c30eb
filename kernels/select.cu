// Selection: each suspect's k closest references under one metric, and the values of only those,
// so a top_k query downloads k pairs per suspect instead of every reference's.
//
// Order. Values are ranked exactly as dev.imprint.engine.Ranking does on the host: by
// Double.compare order of the value (ascending, or descending when higher_is_closer), ties to the
// lower reference index. Each double maps to a 64-bit key whose signed order is that order:
// key = bits ^ ((bits >> 63) & 0x7fff...), complemented when higher is closer.
//
// extern "C" imprint_closest(values, suspects, refs, k, higher_is_closer, kept_out)
//   values[s*refs + r]: the ranking metric's value for suspect s and reference r (a slice of
//   imprint_combine's means). kept_out[s*k + j] is the index r of suspect s's j-th closest
//   reference, j < k <= refs. k rounds per suspect, each a block-wide minimum over the references
//   ranked after the previous round's pick: O(k * refs / 256) reads per thread, for small k.
//   Launch: one block of 256 threads per suspect (grid-stride).
//
// extern "C" imprint_gather_kept(means, per_probe, metrics, suspects, refs, n, k, kept,
//                                kept_means_out, kept_per_probe_out)
//   For every metric ordinal m in the IMPRINT_* bits `metrics`, suspect s and rank j < k, with
//   r = kept[s*k + j] and pairs = suspects*refs:
//     kept_means_out[(m*suspects + s)*k + j]          = means[m*pairs + s*refs + r]
//     kept_per_probe_out[((m*suspects + s)*k + j)*n + i] = per_probe[(m*pairs + s*refs + r)*n + i]
//   (per-probe only when per_probe is not null), i < n. Launch: one thread per per-probe output
//   (or per mean without per-probe), grid-stride.
#include "common.cuh"

__device__ __forceinline__ long long imprint_order_key(double v, int higher_is_closer) {
    long long bits = __double_as_longlong(v);
    long long key = bits ^ ((bits >> 63) & 0x7fffffffffffffffLL);
    return higher_is_closer ? ~key : key;
}

// Whether (key a, index ia) ranks before (key b, index ib).
__device__ __forceinline__ bool imprint_ranks_before(long long a, int ia, long long b, int ib) {
    return a < b || (a == b && ia < ib);
}

extern "C" __global__ void __launch_bounds__(256) imprint_closest(
        const double* __restrict__ values, int suspects, int refs, int k, int higher_is_closer,
        int* __restrict__ kept_out) {
    __shared__ long long warp_key[32];
    __shared__ int warp_index[32];
    __shared__ long long pick_key;
    __shared__ int pick_index;
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int warps = blockDim.x >> 5;
    const long long none_key = 0x7fffffffffffffffLL;
    for (int s = blockIdx.x; s < suspects; s += gridDim.x) {
        const double* v = values + (long long) s * refs;
        // Before the first round nothing is picked: every reference ranks after this.
        long long prev_key = -0x7fffffffffffffffLL - 1;
        int prev_index = -1;
        for (int j = 0; j < k; ++j) {
            long long best_key = none_key;
            int best_index = 0x7fffffff;
            for (int r = threadIdx.x; r < refs; r += blockDim.x) {
                long long key = imprint_order_key(v[r], higher_is_closer);
                if (imprint_ranks_before(prev_key, prev_index, key, r)
                        && imprint_ranks_before(key, r, best_key, best_index)) {
                    best_key = key;
                    best_index = r;
                }
            }
            for (int o = 16; o > 0; o >>= 1) {
                long long other_key = __shfl_xor_sync(IMPRINT_FULL_MASK, best_key, o);
                int other_index = __shfl_xor_sync(IMPRINT_FULL_MASK, best_index, o);
                if (imprint_ranks_before(other_key, other_index, best_key, best_index)) {
                    best_key = other_key;
                    best_index = other_index;
                }
            }
            if (lane == 0) {
                warp_key[warp] = best_key;
                warp_index[warp] = best_index;
            }
            __syncthreads();
            if (threadIdx.x == 0) {
                for (int w = 1; w < warps; ++w) {
                    if (imprint_ranks_before(warp_key[w], warp_index[w], best_key, best_index)) {
                        best_key = warp_key[w];
                        best_index = warp_index[w];
                    }
                }
                pick_key = best_key;
                pick_index = best_index;
                kept_out[(long long) s * k + j] = best_index;
            }
            __syncthreads();
            prev_key = pick_key;
            prev_index = pick_index;
            __syncthreads();
        }
    }
}

extern "C" __global__ void imprint_gather_kept(
        const double* __restrict__ means, const double* __restrict__ per_probe, int metrics, int suspects, int refs,
        int n, int k, const int* __restrict__ kept, double* __restrict__ kept_means_out,
        double* __restrict__ kept_per_probe_out) {
    long long pairs = (long long) suspects * refs;
    long long per_metric = (long long) suspects * k;
    long long inner = per_probe ? n : 1;
    long long total = IMPRINT_METRIC_COUNT * per_metric * inner;
    for (long long t = (long long) blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (long long) gridDim.x * blockDim.x) {
        int m = (int) (t / (per_metric * inner));
        if ((metrics & (1 << m)) == 0) {
            continue;
        }
        long long rest = t % (per_metric * inner);
        long long sj = rest / inner;
        int i = (int) (rest % inner);
        int s = (int) (sj / k);
        long long pair = (long long) s * refs + kept[sj];
        if (i == 0) {
            kept_means_out[(long long) m * per_metric + sj] = means[(long long) m * pairs + pair];
        }
        if (per_probe) {
            kept_per_probe_out[((long long) m * per_metric + sj) * n + i] = per_probe[((long long) m * pairs + pair) * n + i];
        }
    }
}
