// Checks the fake libcuda's streams, events and faults (and the fake libcublas on a stream) the
// way the Java backend uses them, so that an emulator that hides ordering mistakes fails here
// before any Java test runs. Linked against the fake libraries by run-emulated-tests.sh:
//
//   stream_selftest      (IMPRINT_EMULATOR_STREAM_DELAY_US defaults to 200 here,
//                         IMPRINT_EMULATOR_FAULT_FILE to a file under /tmp it removes again)
//
// A gate (host work queued with imprint_emulator_enqueue that waits until the test opens it)
// holds a stream still, so what must not have run yet can be checked without relying on timing.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

extern "C" {
typedef int CUresult;
typedef unsigned long long CUdeviceptr;
CUresult cuInit(unsigned);
CUresult cuDevicePrimaryCtxRetain(void** ctx, int device);
CUresult cuDevicePrimaryCtxRelease_v2(int device);
CUresult cuCtxSetCurrent(void* ctx);
CUresult cuCtxSynchronize();
CUresult cuStreamCreate(void** stream, unsigned flags);
CUresult cuStreamDestroy_v2(void* stream);
CUresult cuStreamSynchronize(void* stream);
CUresult cuStreamQuery(void* stream);
CUresult cuMemGetInfo_v2(size_t* free, size_t* total);
CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes);
CUresult cuMemFree_v2(CUdeviceptr p);
CUresult cuMemAllocHost_v2(void** p, size_t bytes);
CUresult cuMemFreeHost(void* p);
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n);
CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n);
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, void* stream);
CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, void* stream);
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void* stream);
CUresult cuModuleLoadData(void** module, const void* image);
CUresult cuModuleGetFunction(void** f, void* module, const char* name);
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void* stream, void** params, void** extra);
CUresult cuEventCreate(void** e, unsigned flags);
CUresult cuEventRecord(void* e, void* stream);
CUresult cuEventQuery(void* e);
CUresult cuEventSynchronize(void* e);
CUresult cuEventElapsedTime(float* ms, void* start, void* end);
CUresult cuEventDestroy_v2(void* e);
int imprint_emulator_enqueue(void* stream, int (*fn)(void* arg, int faulted), void* arg);

int cublasCreate_v2(void** handle);
int cublasDestroy_v2(void* handle);
int cublasSetStream_v2(void* handle, void* stream);
int cublasGetStream_v2(void* handle, void** stream);
int cublasSgemmBatched(void* handle, int transa, int transb, int m, int n, int k, const float* alpha,
                       const float* const a[], int lda, const float* const b[], int ldb, const float* beta,
                       float* const c[], int ldc, int batch);
}

namespace {
const CUresult NOT_READY = 600;
const CUresult ILLEGAL_ADDRESS = 700;

int failures = 0;
std::string fault_file;

#define EXPECT(cond)                                                                  \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "  FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                               \
        }                                                                             \
    } while (0)
#define EXPECT_RESULT(call, want)                                                                           \
    do {                                                                                                    \
        CUresult got_ = (call);                                                                             \
        if (got_ != (want)) {                                                                               \
            std::fprintf(stderr, "  FAILED %s:%d: %s returned %d, want %d\n", __FILE__, __LINE__, #call, got_, \
                         (int) (want));                                                                     \
            ++failures;                                                                                     \
        }                                                                                                   \
    } while (0)

struct Gate {
    std::atomic<bool> open{false};
};

int wait_at_gate(void* arg, int) {
    auto* gate = static_cast<Gate*>(arg);
    while (!gate->open) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return 0;
}

void hold(void* stream, Gate& gate) { EXPECT_RESULT(imprint_emulator_enqueue(stream, wait_at_gate, &gate), 0); }

void* kernel(const char* name) {
    void* module = nullptr;
    void* f = nullptr;
    cuModuleLoadData(&module, nullptr);
    EXPECT_RESULT(cuModuleGetFunction(&f, module, name), 0);
    return f;
}

/** Launches imprint_pointer_table: out[i] = base + i * stride floats, i < n. */
CUresult pointer_table(void* stream, CUdeviceptr out, CUdeviceptr base, int n, long long stride) {
    CUdeviceptr probes = 0;
    void* params[] = {&out, &base, &probes, &n, &stride};
    return cuLaunchKernel(kernel("imprint_pointer_table"), 1, 1, 1, 32, 1, 1, 0, stream, params, nullptr);
}

float device_float(CUdeviceptr p) {
    float v = 0;
    EXPECT_RESULT(cuMemcpyDtoH_v2(&v, p, sizeof v), 0);
    return v;
}

struct Order {
    std::vector<int>* seen;
    int index;
};

int note(void* arg, int) {
    auto* o = static_cast<Order*>(arg);
    o->seen->push_back(o->index);
    delete o;
    return 0;
}

void runsAStreamsOperationsInTheOrderIssued() {
    void* s = nullptr;
    EXPECT_RESULT(cuStreamCreate(&s, 0), 0);
    std::vector<int> seen;
    for (int i = 0; i < 100; ++i) {
        EXPECT_RESULT(imprint_emulator_enqueue(s, note, new Order{&seen, i}), 0);
    }
    // An upload, a device copy and a download, each reading what the one before wrote.
    const size_t n = 1000;
    float* in = nullptr;
    float* out = nullptr;
    EXPECT_RESULT(cuMemAllocHost_v2(reinterpret_cast<void**>(&in), n * sizeof(float)), 0);
    EXPECT_RESULT(cuMemAllocHost_v2(reinterpret_cast<void**>(&out), n * sizeof(float)), 0);
    for (size_t i = 0; i < n; ++i) {
        in[i] = (float) i;
    }
    CUdeviceptr a = 0, b = 0;
    EXPECT_RESULT(cuMemAlloc_v2(&a, n * sizeof(float)), 0);
    EXPECT_RESULT(cuMemAlloc_v2(&b, n * sizeof(float)), 0);
    EXPECT_RESULT(cuMemcpyHtoDAsync_v2(a, in, n * sizeof(float), s), 0);
    EXPECT_RESULT(cuMemcpyDtoDAsync_v2(b, a, n * sizeof(float), s), 0);
    EXPECT_RESULT(cuMemcpyDtoHAsync_v2(out, b, n * sizeof(float), s), 0);
    EXPECT_RESULT(cuStreamSynchronize(s), 0);
    EXPECT_RESULT(cuStreamQuery(s), 0);
    bool in_order = seen.size() == 100;
    for (int i = 0; in_order && i < 100; ++i) {
        in_order = seen[i] == i;
    }
    EXPECT(in_order);
    EXPECT(std::memcmp(in, out, n * sizeof(float)) == 0);
    EXPECT_RESULT(cuStreamCreate(&s, 2), 1);
    cuMemFree_v2(a);
    cuMemFree_v2(b);
    cuMemFreeHost(in);
    cuMemFreeHost(out);
}

void copiesPageLockedMemoryWhenTheStreamGetsToThem() {
    void* s = nullptr;
    EXPECT_RESULT(cuStreamCreate(&s, 0), 0);
    float* pinned = nullptr;
    EXPECT_RESULT(cuMemAllocHost_v2(reinterpret_cast<void**>(&pinned), sizeof(float)), 0);
    CUdeviceptr d = 0;
    EXPECT_RESULT(cuMemAlloc_v2(&d, sizeof(float)), 0);
    Gate gate;
    hold(s, gate);
    *pinned = 1.0f;
    EXPECT_RESULT(cuMemcpyHtoDAsync_v2(d, pinned, sizeof(float), s), 0);
    *pinned = 2.0f;  // the copy has not run: it must see this
    EXPECT_RESULT(cuStreamQuery(s), NOT_READY);
    gate.open = true;
    EXPECT_RESULT(cuStreamSynchronize(s), 0);
    *pinned = 3.0f;  // the copy has run: it must not see this
    EXPECT(device_float(d) == 2.0f);

    // Pageable memory: an upload reads it before returning, a download has landed on return.
    Gate second;
    hold(s, second);
    float pageable = 5.0f;
    EXPECT_RESULT(cuMemcpyHtoDAsync_v2(d, &pageable, sizeof(float), s), 0);
    pageable = 6.0f;
    std::thread opener([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        second.open = true;
    });
    float back = 0.0f;
    EXPECT_RESULT(cuMemcpyDtoHAsync_v2(&back, d, sizeof(float), s), 0);
    EXPECT(back == 5.0f);
    opener.join();
    EXPECT_RESULT(cuStreamDestroy_v2(s), 0);
    cuMemFree_v2(d);
    cuMemFreeHost(pinned);
}

void completesAnEventWhenItsStreamReachesIt() {
    void* s = nullptr;
    EXPECT_RESULT(cuStreamCreate(&s, 0), 0);
    void* start = nullptr;
    void* end = nullptr;
    EXPECT_RESULT(cuEventCreate(&start, 0), 0);
    EXPECT_RESULT(cuEventCreate(&end, 0), 0);
    EXPECT_RESULT(cuEventQuery(end), 0);  // never recorded
    EXPECT_RESULT(cuEventRecord(start, s), 0);
    Gate gate;
    hold(s, gate);
    EXPECT_RESULT(cuEventRecord(end, s), 0);
    EXPECT_RESULT(cuEventQuery(end), NOT_READY);
    float ms = -1;
    EXPECT_RESULT(cuEventElapsedTime(&ms, start, end), NOT_READY);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gate.open = true;
    EXPECT_RESULT(cuEventSynchronize(end), 0);
    EXPECT_RESULT(cuEventQuery(end), 0);
    EXPECT_RESULT(cuEventElapsedTime(&ms, start, end), 0);
    EXPECT(ms >= 15.0f);

    // Destroyed while pending, an event goes once its record has run.
    Gate third;
    hold(s, third);
    EXPECT_RESULT(cuEventRecord(end, s), 0);
    EXPECT_RESULT(cuEventDestroy_v2(end), 0);
    third.open = true;
    EXPECT_RESULT(cuStreamSynchronize(s), 0);
    EXPECT_RESULT(cuEventDestroy_v2(start), 0);
    EXPECT_RESULT(cuStreamDestroy_v2(s), 0);
}

/** Runs fn on another thread; whether it returned within the timeout. */
template <typename F>
bool returns_within(std::chrono::milliseconds timeout, F fn, std::thread& runner) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    runner = std::thread([fn, done] {
        fn();
        *done = true;
    });
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!*done && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return *done;
}

void ordersTheLegacyStreamWithBlockingStreamsOnly() {
    void* blocking = nullptr;
    void* other = nullptr;
    void* non_blocking = nullptr;
    EXPECT_RESULT(cuStreamCreate(&blocking, 0), 0);
    EXPECT_RESULT(cuStreamCreate(&other, 0), 0);
    EXPECT_RESULT(cuStreamCreate(&non_blocking, 1), 0);
    CUdeviceptr d = 0;
    EXPECT_RESULT(cuMemAlloc_v2(&d, sizeof(float)), 0);
    float one = 1.0f;

    // A synchronous copy waits for the work issued before to a blocking stream.
    Gate gate;
    hold(blocking, gate);
    std::thread runner;
    EXPECT(!returns_within(std::chrono::milliseconds(100), [&] { cuMemcpyHtoD_v2(d, &one, sizeof one); }, runner));
    // ... and what a blocking stream is given meanwhile waits for that copy.
    static std::atomic<int> seen_by_other{0};
    EXPECT_RESULT(imprint_emulator_enqueue(other, [](void* arg, int) {
        float v;
        std::memcpy(&v, arg, sizeof v);
        seen_by_other = v == 1.0f ? 1 : 2;
        return 0;
    }, reinterpret_cast<void*>(d)), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT(seen_by_other == 0);
    gate.open = true;
    runner.join();
    EXPECT_RESULT(cuStreamSynchronize(other), 0);
    EXPECT(seen_by_other == 1);

    // A non-blocking stream's work is not waited for.
    Gate held;
    hold(non_blocking, held);
    EXPECT(returns_within(std::chrono::seconds(5), [&] { cuMemcpyHtoD_v2(d, &one, sizeof one); }, runner));
    EXPECT_RESULT(cuStreamQuery(non_blocking), NOT_READY);
    held.open = true;
    runner.join();
    // cuCtxSynchronize waits for every stream.
    Gate last;
    hold(non_blocking, last);
    EXPECT(!returns_within(std::chrono::milliseconds(50), [] { cuCtxSynchronize(); }, runner));
    last.open = true;
    runner.join();
    EXPECT_RESULT(cuStreamQuery(non_blocking), 0);
    cuMemFree_v2(d);
    EXPECT_RESULT(cuStreamDestroy_v2(blocking), 0);
    EXPECT_RESULT(cuStreamDestroy_v2(other), 0);
    EXPECT_RESULT(cuStreamDestroy_v2(non_blocking), 0);
}

void copiesKernelArgumentsAtTheLaunch() {
    void* s = nullptr;
    EXPECT_RESULT(cuStreamCreate(&s, 0), 0);
    CUdeviceptr table = 0, base = 0;
    EXPECT_RESULT(cuMemAlloc_v2(&table, 4 * sizeof(void*)), 0);
    EXPECT_RESULT(cuMemAlloc_v2(&base, 64 * sizeof(float)), 0);
    Gate gate;
    hold(s, gate);
    {
        CUdeviceptr out = table, from = base, probes = 0;
        int n = 4;
        long long stride = 10;
        void* params[] = {&out, &from, &probes, &n, &stride};
        EXPECT_RESULT(cuLaunchKernel(kernel("imprint_pointer_table"), 1, 1, 1, 32, 1, 1, 0, s, params, nullptr), 0);
        // What JCuda's freed argument storage could hold by the time the kernel runs.
        out = from = probes = 0;
        n = 0;
        stride = 999;
        std::memset(params, 0, sizeof params);
    }
    gate.open = true;
    EXPECT_RESULT(cuStreamSynchronize(s), 0);
    CUdeviceptr got[4] = {};
    EXPECT_RESULT(cuMemcpyDtoH_v2(got, table, sizeof got), 0);
    for (int i = 0; i < 4; ++i) {
        EXPECT(got[i] == base + i * 10 * sizeof(float));
    }
    EXPECT_RESULT(cuLaunchKernel(kernel("imprint_pointer_table"), 1, 1, 1, 33, 1, 1, 0, s, nullptr, nullptr), 1);
    EXPECT_RESULT(cuStreamDestroy_v2(s), 0);
    cuMemFree_v2(table);
    cuMemFree_v2(base);
}

void runsBatchedProductsInTheirStreamsOrder() {
    void* s = nullptr;
    EXPECT_RESULT(cuStreamCreate(&s, 0), 0);
    void* handle = nullptr;
    EXPECT_RESULT(cublasCreate_v2(&handle), 0);
    EXPECT_RESULT(cublasSetStream_v2(handle, s), 0);
    void* got_stream = nullptr;
    EXPECT_RESULT(cublasGetStream_v2(handle, &got_stream), 0);
    EXPECT(got_stream == s);
    // C_i (m x n) = A_i^T (A_i is k x m) * B_i (k x n), column-major, as the backend asks.
    const int m = 2, n = 3, k = 4, batch = 2;
    std::vector<float> a(batch * k * m), b(batch * k * n), want(batch * m * n);
    for (size_t i = 0; i < a.size(); ++i) {
        a[i] = (float) (i % 7) - 3.0f;
    }
    for (size_t i = 0; i < b.size(); ++i) {
        b[i] = (float) (i % 5) * 0.5f;
    }
    for (int i = 0; i < batch; ++i) {
        for (int col = 0; col < n; ++col) {
            for (int row = 0; row < m; ++row) {
                float acc = 0;
                for (int kk = 0; kk < k; ++kk) {
                    acc += a[i * k * m + row * k + kk] * b[i * k * n + col * k + kk];
                }
                want[i * m * n + col * m + row] = 2.0f * acc;
            }
        }
    }
    CUdeviceptr da = 0, db = 0, dc = 0, ta = 0, tb = 0, tc = 0;
    EXPECT_RESULT(cuMemAlloc_v2(&da, a.size() * sizeof(float)), 0);
    EXPECT_RESULT(cuMemAlloc_v2(&db, b.size() * sizeof(float)), 0);
    EXPECT_RESULT(cuMemAlloc_v2(&dc, want.size() * sizeof(float)), 0);
    for (CUdeviceptr* t : {&ta, &tb, &tc}) {
        EXPECT_RESULT(cuMemAlloc_v2(t, batch * sizeof(void*)), 0);
    }
    EXPECT_RESULT(cuMemcpyHtoD_v2(da, a.data(), a.size() * sizeof(float)), 0);
    EXPECT_RESULT(cuMemcpyHtoD_v2(db, b.data(), b.size() * sizeof(float)), 0);
    Gate gate;
    hold(s, gate);
    // The tables hold poison until these run: a product run before them would fault.
    EXPECT_RESULT(pointer_table(s, ta, da, batch, k * m), 0);
    EXPECT_RESULT(pointer_table(s, tb, db, batch, k * n), 0);
    EXPECT_RESULT(pointer_table(s, tc, dc, batch, m * n), 0);
    float alpha = 2.0f, beta = 0.0f;
    EXPECT_RESULT(cublasSgemmBatched(handle, 1, 0, m, n, k, &alpha, reinterpret_cast<const float* const*>(ta), k,
                                     reinterpret_cast<const float* const*>(tb), k, &beta,
                                     reinterpret_cast<float* const*>(tc), m, batch), 0);
    alpha = 100.0f;  // read at the call
    gate.open = true;
    EXPECT_RESULT(cuStreamSynchronize(s), 0);
    std::vector<float> got(want.size());
    EXPECT_RESULT(cuMemcpyDtoH_v2(got.data(), dc, got.size() * sizeof(float)), 0);
    EXPECT(got == want);
    EXPECT_RESULT(cublasDestroy_v2(handle), 0);
    EXPECT_RESULT(cuStreamDestroy_v2(s), 0);
    for (CUdeviceptr p : {da, db, dc, ta, tb, tc}) {
        cuMemFree_v2(p);
    }
}

void poisonsFreedMemoryThatPendingWorkReads() {
    void* s = nullptr;
    EXPECT_RESULT(cuStreamCreate(&s, 0), 0);
    size_t free_before = 0, free_after = 0, total = 0;
    EXPECT_RESULT(cuMemGetInfo_v2(&free_before, &total), 0);
    CUdeviceptr d = 0;
    EXPECT_RESULT(cuMemAlloc_v2(&d, 1024 * sizeof(float)), 0);
    std::vector<float> ones(1024, 1.0f);
    EXPECT_RESULT(cuMemcpyHtoD_v2(d, ones.data(), ones.size() * sizeof(float)), 0);
    float* pinned = nullptr;
    EXPECT_RESULT(cuMemAllocHost_v2(reinterpret_cast<void**>(&pinned), ones.size() * sizeof(float)), 0);
    Gate gate;
    hold(s, gate);
    EXPECT_RESULT(cuMemcpyDtoHAsync_v2(pinned, d, ones.size() * sizeof(float), s), 0);
    EXPECT_RESULT(cuMemFree_v2(d), 0);  // does not wait for the download
    EXPECT_RESULT(cuMemGetInfo_v2(&free_after, &total), 0);
    EXPECT(free_after == free_before);
    EXPECT_RESULT(cuMemcpyHtoD_v2(d, ones.data(), sizeof(float)), 1);  // freed: not device memory any more
    EXPECT_RESULT(cuMemFree_v2(d), 1);
    gate.open = true;
    EXPECT_RESULT(cuStreamSynchronize(s), 0);
    EXPECT(std::isnan(pinned[0]) && std::isnan(pinned[1023]));
    EXPECT_RESULT(cuStreamDestroy_v2(s), 0);
    cuMemFreeHost(pinned);
}

void makesAFaultStickyUntilTheContextIsReleased() {
    void* s = nullptr;
    EXPECT_RESULT(cuStreamCreate(&s, 0), 0);
    void* e = nullptr;
    EXPECT_RESULT(cuEventCreate(&e, 0), 0);
    CUdeviceptr table = 0, base = 0;
    EXPECT_RESULT(cuMemAlloc_v2(&table, 4 * sizeof(void*)), 0);
    EXPECT_RESULT(cuMemAlloc_v2(&base, 64 * sizeof(float)), 0);
    std::FILE* f = std::fopen(fault_file.c_str(), "w");
    std::fputs("imprint_pointer_table\n", f);
    std::fclose(f);
    Gate gate;
    hold(s, gate);
    EXPECT_RESULT(pointer_table(s, table, base, 4, 10), 0);  // faults later, as a GPU does
    EXPECT_RESULT(cuEventRecord(e, s), 0);
    gate.open = true;
    EXPECT_RESULT(cuStreamSynchronize(s), ILLEGAL_ADDRESS);
    std::remove(fault_file.c_str());
    EXPECT_RESULT(cuEventQuery(e), ILLEGAL_ADDRESS);
    EXPECT_RESULT(cuEventSynchronize(e), ILLEGAL_ADDRESS);
    EXPECT_RESULT(cuStreamQuery(s), ILLEGAL_ADDRESS);
    EXPECT_RESULT(cuCtxSynchronize(), ILLEGAL_ADDRESS);
    float v = 0;
    EXPECT_RESULT(cuMemcpyDtoH_v2(&v, base, sizeof v), ILLEGAL_ADDRESS);
    EXPECT_RESULT(pointer_table(nullptr, table, base, 4, 10), ILLEGAL_ADDRESS);
    unsigned long long first = 0;
    std::memcpy(&first, reinterpret_cast<void*>(table), sizeof first);  // "device" memory is host memory
    EXPECT(first == ~0ull);  // the kernel did not run: still the poison of a fresh allocation

    // Released as often as retained, the context starts over.
    EXPECT_RESULT(cuDevicePrimaryCtxRelease_v2(0), 0);
    void* ctx = nullptr;
    EXPECT_RESULT(cuDevicePrimaryCtxRetain(&ctx, 0), 0);
    EXPECT_RESULT(cuCtxSynchronize(), 0);
    EXPECT_RESULT(pointer_table(s, table, base, 4, 10), 0);
    EXPECT_RESULT(cuStreamSynchronize(s), 0);
    std::memcpy(&first, reinterpret_cast<void*>(table), sizeof first);
    EXPECT(first == base);

    // A product whose pointer tables hold poison faults rather than crashing.
    CUdeviceptr unset = 0;
    EXPECT_RESULT(cuMemAlloc_v2(&unset, 4 * sizeof(void*)), 0);
    void* handle = nullptr;
    EXPECT_RESULT(cublasCreate_v2(&handle), 0);
    EXPECT_RESULT(cublasSetStream_v2(handle, s), 0);
    float alpha = 1.0f, beta = 0.0f;
    auto* poisoned = reinterpret_cast<const float* const*>(unset);
    EXPECT_RESULT(cublasSgemmBatched(handle, 1, 0, 2, 2, 2, &alpha, poisoned, 2, poisoned, 2, &beta,
                                     reinterpret_cast<float* const*>(unset), 2, 4), 0);
    EXPECT_RESULT(cuStreamSynchronize(s), ILLEGAL_ADDRESS);
    EXPECT_RESULT(cuDevicePrimaryCtxRelease_v2(0), 0);
    EXPECT_RESULT(cuDevicePrimaryCtxRetain(&ctx, 0), 0);
    EXPECT_RESULT(cuCtxSynchronize(), 0);
    cublasDestroy_v2(handle);
    cuEventDestroy_v2(e);
    EXPECT_RESULT(cuStreamDestroy_v2(s), 0);
    for (CUdeviceptr p : {table, base, unset}) {
        cuMemFree_v2(p);
    }
}

int count_up(void* arg, int) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    ++*static_cast<std::atomic<int>*>(arg);
    return 0;
}

void drainsAStreamItDestroys() {
    void* s = nullptr;
    EXPECT_RESULT(cuStreamCreate(&s, 1), 0);
    std::atomic<int> count{0};
    for (int i = 0; i < 20; ++i) {
        EXPECT_RESULT(imprint_emulator_enqueue(s, count_up, &count), 0);
    }
    EXPECT_RESULT(cuStreamDestroy_v2(s), 0);
    EXPECT(count == 20);
    EXPECT_RESULT(cuStreamQuery(s), 400);
}

int sleep_a_second(void*, int) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    return 0;
}
}  // namespace

int main() {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    setenv("IMPRINT_EMULATOR_STREAM_DELAY_US", "200", 0);
    fault_file = std::getenv("IMPRINT_EMULATOR_FAULT_FILE") ? std::getenv("IMPRINT_EMULATOR_FAULT_FILE")
                                                           : "/tmp/imprint-selftest-fault-" + std::to_string(getpid());
    setenv("IMPRINT_EMULATOR_FAULT_FILE", fault_file.c_str(), 1);
    std::remove(fault_file.c_str());
    void* ctx = nullptr;
    cuInit(0);
    EXPECT_RESULT(cuDevicePrimaryCtxRetain(&ctx, 0), 0);
    cuCtxSetCurrent(ctx);
    struct {
        const char* name;
        void (*run)();
    } tests[] = {
        {"runsAStreamsOperationsInTheOrderIssued", runsAStreamsOperationsInTheOrderIssued},
        {"copiesPageLockedMemoryWhenTheStreamGetsToThem", copiesPageLockedMemoryWhenTheStreamGetsToThem},
        {"completesAnEventWhenItsStreamReachesIt", completesAnEventWhenItsStreamReachesIt},
        {"ordersTheLegacyStreamWithBlockingStreamsOnly", ordersTheLegacyStreamWithBlockingStreamsOnly},
        {"copiesKernelArgumentsAtTheLaunch", copiesKernelArgumentsAtTheLaunch},
        {"runsBatchedProductsInTheirStreamsOrder", runsBatchedProductsInTheirStreamsOrder},
        {"poisonsFreedMemoryThatPendingWorkReads", poisonsFreedMemoryThatPendingWorkReads},
        {"makesAFaultStickyUntilTheContextIsReleased", makesAFaultStickyUntilTheContextIsReleased},
        {"drainsAStreamItDestroys", drainsAStreamItDestroys},
    };
    for (auto& t : tests) {
        int before = failures;
        t.run();
        std::printf("%s %s\n", failures == before ? "ok  " : "FAIL", t.name);
    }
    std::remove(fault_file.c_str());
    // Exiting with a stream still busy must neither wait for it nor crash.
    void* busy = nullptr;
    cuStreamCreate(&busy, 0);
    imprint_emulator_enqueue(busy, sleep_a_second, nullptr);
    std::printf("stream self-test: %s (%d failed checks)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
