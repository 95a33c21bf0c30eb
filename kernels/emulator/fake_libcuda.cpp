// A fake libcuda.so.1 for running the CUDA backend's Java tests on a host without a GPU: the
// handful of driver calls JCuda makes for Imprint, backed by host memory, with kernel launches
// running kernels/ compiled for the CPU through cuda_emulation.h. Built and used by
// kernels/emulator/run-emulated-tests.sh; never shipped.
#include <chrono>
#include "cuda_emulation.h"

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <ucontext.h>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

dim3 threadIdx;
dim3 blockIdx;
dim3 blockDim;
dim3 gridDim;
EmulatedBlock* emulated_block;

#include "common.cuh"
#include "prepare.cu"
#include "products.cu"
#include "combine.cu"
#include "select.cu"

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
        {"imprint_fused_cosine_bf16_1", {launcher(imprint_fused_cosine_bf16_1), true}},
        {"imprint_fused_cosine_bf16_2", {launcher(imprint_fused_cosine_bf16_2), true}},
        {"imprint_fused_cosine_bf16_4", {launcher(imprint_fused_cosine_bf16_4), true}},
        {"imprint_fused_cosine_bf16_8", {launcher(imprint_fused_cosine_bf16_8), true}},
        {"imprint_sgemm_tn", {launcher(imprint_sgemm_tn), false}},
        {"imprint_sgemm_tn_bf16", {launcher(imprint_sgemm_tn_bf16), false}},
        {"imprint_js", {launcher(imprint_js), true}},
        {"imprint_pointer_table", {launcher(imprint_pointer_table), true}},
        {"imprint_combine", {launcher(imprint_combine), true}},
        {"imprint_closest", {launcher(imprint_closest), true}},
        {"imprint_gather_kept", {launcher(imprint_gather_kept), true}},
    };
    return table;
}

/** The fibers of the block being run, and the scheduler that switches between them. */
struct Fiber {
    ucontext_t context;
    std::vector<char> stack;
    unsigned index = 0;
    bool done = false;
    FiberBarrier* waiting = nullptr;
    unsigned long generation = 0;
};
ucontext_t scheduler;
std::vector<Fiber> fibers;
Fiber* current = nullptr;
std::function<void()> block_body;

void fiber_entry() {
    block_body();
    current->done = true;
}

/** Runs every fiber of one block to completion, resuming each when its barrier opens. */
void run_block(unsigned threads) {
    if (fibers.size() != threads) {
        fibers = std::vector<Fiber>(threads);
        for (auto& f : fibers) {
            f.stack.resize(256 << 10);
        }
    }
    for (unsigned t = 0; t < threads; ++t) {
        Fiber& f = fibers[t];
        f.index = t;
        f.done = false;
        f.waiting = nullptr;
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = f.stack.data();
        f.context.uc_stack.ss_size = f.stack.size();
        f.context.uc_link = &scheduler;
        makecontext(&f.context, fiber_entry, 0);
    }
    for (;;) {
        bool progressed = false;
        bool all_done = true;
        for (auto& f : fibers) {
            if (f.done) {
                continue;
            }
            all_done = false;
            if (f.waiting && f.waiting->generation == f.generation) {
                continue;
            }
            f.waiting = nullptr;
            current = &f;
            threadIdx = dim3{f.index, 0, 0};
            swapcontext(&scheduler, &f.context);
            progressed = true;
        }
        if (all_done) {
            return;
        }
        if (!progressed) {
            std::fprintf(stderr, "fake libcuda: every thread of the block waits at a barrier no one else reaches\n");
            std::abort();
        }
    }
}
}  // namespace

void fiber_wait(FiberBarrier& barrier) {
    if (++barrier.arrived == barrier.expected) {
        barrier.arrived = 0;
        ++barrier.generation;
        return;
    }
    Fiber* self = current;
    self->waiting = &barrier;
    self->generation = barrier.generation;
    swapcontext(&self->context, &scheduler);
    threadIdx = dim3{self->index, 0, 0};
}

namespace {
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
CUresult cuMemAllocHost_v2(void** p, size_t bytes) {
    *p = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    return 0;
}
CUresult cuMemFreeHost(void* p) {
    std::free(p);
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
    block.block.expected = bx;
    for (unsigned w = 0; w < bx / 32; ++w) {
        block.warps[w].expected = 32;
    }
    emulated_block = &block;
    block_body = [k, params] { k->run(params); };
    for (unsigned z = 0; z < gridDim.z; ++z) {
        for (unsigned y = 0; y < gridDim.y; ++y) {
            for (unsigned x = 0; x < gridDim.x; ++x) {
                blockIdx = dim3{x, y, z};
                run_block(bx);
            }
        }
    }
    return 0;
}
// Events carry the host time they were recorded at: kernels run synchronously here.
CUresult cuEventCreate(void** e, unsigned) {
    *e = new std::chrono::steady_clock::time_point();
    return 0;
}
CUresult cuEventRecord(void* e, void*) {
    *static_cast<std::chrono::steady_clock::time_point*>(e) = std::chrono::steady_clock::now();
    return 0;
}
CUresult cuEventSynchronize(void*) { return 0; }
CUresult cuEventElapsedTime(float* ms, void* start, void* end) {
    auto* a = static_cast<std::chrono::steady_clock::time_point*>(start);
    auto* b = static_cast<std::chrono::steady_clock::time_point*>(end);
    *ms = std::chrono::duration<float, std::milli>(*b - *a).count();
    return 0;
}
CUresult cuEventDestroy_v2(void* e) {
    delete static_cast<std::chrono::steady_clock::time_point*>(e);
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
