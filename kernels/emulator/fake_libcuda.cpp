// A fake libcuda.so.1 for running the CUDA backend's Java tests on a host without a GPU: the
// handful of driver calls JCuda makes for Imprint, backed by host memory, with kernel launches
// running kernels/ compiled for the CPU through cuda_emulation.h. Built and used by
// kernels/emulator/run-emulated-tests.sh; never shipped.
#include "cuda_emulation.h"

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

thread_local dim3 threadIdx;
thread_local dim3 blockIdx;
dim3 blockDim;
dim3 gridDim;
EmulatedBlock* emulated_block;

#include "imprint_kernels.cu"

namespace {
using Launcher = std::function<void(void**)>;

template <typename... Args, std::size_t... I>
void invoke(void (*f)(Args...), void** params, std::index_sequence<I...>) {
    f(*reinterpret_cast<std::remove_reference_t<Args>*>(params[I])...);
}

template <typename... Args>
Launcher launcher(void (*f)(Args...)) {
    return [f](void** params) { invoke(f, params, std::index_sequence_for<Args...>{}); };
}

struct Kernel {
    Launcher run;
    bool grid_stride;
};

std::map<std::string, Kernel>& kernels() {
    static std::map<std::string, Kernel> table = {
        {"imprint_prepare_rows", {launcher(imprint_prepare_rows), true}},
        {"imprint_fused_dots_1", {launcher(imprint_fused_dots_1), true}},
        {"imprint_fused_dots_2", {launcher(imprint_fused_dots_2), true}},
        {"imprint_fused_dots_4", {launcher(imprint_fused_dots_4), true}},
        {"imprint_fused_dots_8", {launcher(imprint_fused_dots_8), true}},
        {"imprint_sgemm_tn", {launcher(imprint_sgemm_tn), false}},
        {"imprint_js", {launcher(imprint_js), true}},
        {"imprint_combine", {launcher(imprint_combine), true}},
    };
    return table;
}

/** Threads reused across blocks: one per thread of a block, started and joined by barriers. */
class ThreadPool {
public:
    static ThreadPool& of(unsigned threads) {
        static std::map<unsigned, std::unique_ptr<ThreadPool>> pools;
        auto& p = pools[threads];
        if (!p) {
            p.reset(new ThreadPool(threads));
        }
        return *p;
    }

    void run(dim3 block, std::function<void()> body) {
        block_ = block;
        body_ = std::move(body);
        start_.arrive_and_wait();
        finish_.arrive_and_wait();
    }

private:
    explicit ThreadPool(unsigned threads) : start_(threads + 1), finish_(threads + 1) {
        for (unsigned t = 0; t < threads; ++t) {
            std::thread([this, t] {
                threadIdx = dim3{t, 0, 0};
                for (;;) {
                    start_.arrive_and_wait();
                    blockIdx = block_;
                    body_();
                    finish_.arrive_and_wait();
                }
            }).detach();
        }
    }

    std::barrier<> start_;
    std::barrier<> finish_;
    dim3 block_;
    std::function<void()> body_;
};

size_t allocated = 0;
const size_t TOTAL = 8ull << 30;
std::map<unsigned long long, size_t> sizes;
}  // namespace

extern "C" {
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

CUresult cuInit(unsigned) { return 0; }
CUresult cuDeviceGetCount(int* count) {
    *count = 1;
    return 0;
}
CUresult cuDeviceGet(CUdevice* d, int ordinal) {
    *d = ordinal;
    return ordinal == 0 ? 0 : 101;
}
CUresult cuDeviceGetName(char* name, int len, CUdevice) {
    std::snprintf(name, len, "Emulated GPU (kernels on the CPU)");
    return 0;
}
CUresult cuDeviceGetAttribute(int* v, int attribute, CUdevice) {
    // 75/76: compute capability major/minor; 16: multiprocessors.
    *v = attribute == 75 ? 9 : attribute == 76 ? 0 : attribute == 16 ? 1 : 0;
    return 0;
}
CUresult cuDriverGetVersion(int* v) {
    *v = 13000;
    return 0;
}
CUresult cuDevicePrimaryCtxRetain(void** ctx, CUdevice) {
    *ctx = reinterpret_cast<void*>(0x1);
    return 0;
}
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice) { return 0; }
CUresult cuCtxSetCurrent(void*) { return 0; }
CUresult cuCtxSynchronize() { return 0; }
CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
    *free = TOTAL - allocated;
    *total = TOTAL;
    return 0;
}
CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
    if (allocated + bytes > TOTAL) {
        return 2;  // CUDA_ERROR_OUT_OF_MEMORY
    }
    // Poison fresh memory so a kernel reading what nobody wrote shows up as NaN.
    void* m = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
    std::memset(m, 0xff, bytes);
    allocated += bytes;
    *p = reinterpret_cast<CUdeviceptr>(m);
    sizes[*p] = bytes;
    return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
    allocated -= sizes[p];
    sizes.erase(p);
    std::free(reinterpret_cast<void*>(p));
    return 0;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) {
    std::memcpy(reinterpret_cast<void*>(dst), src, n);
    return 0;
}
CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) {
    std::memcpy(dst, reinterpret_cast<void*>(src), n);
    return 0;
}
CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) {
    std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<void*>(src), n);
    return 0;
}
CUresult cuModuleLoadData(void** module, const void*) {
    *module = reinterpret_cast<void*>(0x2);
    return 0;
}
CUresult cuModuleGetFunction(void** f, void*, const char* name) {
    auto it = kernels().find(name);
    if (it == kernels().end()) {
        return 500;  // CUDA_ERROR_NOT_FOUND
    }
    *f = &it->second;
    return 0;
}
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned, void*, void** params, void**) {
    Kernel* k = static_cast<Kernel*>(f);
    if (by != 1 || bz != 1 || bx % 32 != 0) {
        return 1;  // CUDA_ERROR_INVALID_VALUE
    }
    // Grid-stride kernels get a small grid, which also exercises their loops.
    gridDim = dim3{k->grid_stride ? std::min(gx, 3u) : gx, gy, gz};
    blockDim = dim3{bx, 1, 1};
    EmulatedBlock block;
    block.block = std::make_unique<std::barrier<>>(bx);
    for (unsigned w = 0; w < bx / 32; ++w) {
        block.warps[w] = std::make_unique<std::barrier<>>(32);
    }
    emulated_block = &block;
    ThreadPool& pool = ThreadPool::of(bx);
    for (unsigned z = 0; z < gridDim.z; ++z) {
        for (unsigned y = 0; y < gridDim.y; ++y) {
            for (unsigned x = 0; x < gridDim.x; ++x) {
                pool.run(dim3{x, y, z}, [k, params] { k->run(params); });
            }
        }
    }
    return 0;
}
CUresult cuGetErrorName(CUresult, const char** s) {
    *s = "CUDA_ERROR_EMULATED";
    return 0;
}
CUresult cuGetErrorString(CUresult, const char** s) {
    *s = "emulated";
    return 0;
}
}
