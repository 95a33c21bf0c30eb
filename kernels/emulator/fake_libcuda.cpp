// A fake libcuda.so.1 for running the CUDA backend's Java tests on a host without a GPU: the
// handful of driver calls JCuda makes for Imprint, backed by host memory, with kernel launches
// running kernels/ compiled for the CPU through cuda_emulation.h. Built and used by
// kernels/emulator/run-emulated-tests.sh; never shipped.
//
// Streams are asynchronous, as on a GPU, so that the host's ordering mistakes give wrong results
// here too: each created stream has a host thread that runs its operations in FIFO order, after a
// pseudo-random delay of 0..IMPRINT_EMULATOR_STREAM_DELAY_US microseconds (default 0). The legacy
// NULL stream runs its operations on the caller's thread, once the blocking streams (flags 0) have
// finished what was issued to them before; what is issued to a blocking stream meanwhile waits for
// it. Kernels share the emulation's globals (threadIdx, fibers, __shared__ statics), so one runs at
// a time; copies run beside them.
//
// Faults, for the host's error paths: when the file IMPRINT_EMULATOR_FAULT_FILE names exists as a
// kernel is about to run and its first line is that kernel's name, the kernel does not run and the
// context takes the sticky error 700 (illegal address), which every later synchronizing call
// returns until the primary context is released as often as it was retained.
//
// Devices: IMPRINT_EMULATOR_DEVICES (default 1, at most 8) devices, each with its own memory,
// streams, primary context and sticky error. A thread works on the device whose context it made
// current (cuCtxSetCurrent), a stream's thread on its stream's device. Kernels still run one at a
// time across all of them, as they share the emulation's globals.
#include <chrono>
#include "cuda_emulation.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <ucontext.h>
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

// State that stream threads use is allocated once and never destroyed: at process exit, static
// destructors run while those threads may still be blocked or mid-kernel.
namespace {
/** A kernel call with its argument values, ready to run. */
using Thunk = std::function<void()>;

/** Copies the kernel's arguments out of params now: the caller may free params on return. */
template <typename... Args, std::size_t... I>
Thunk bind_arguments(void (*f)(Args...), void** params, std::index_sequence<I...>) {
    std::tuple<std::decay_t<Args>...> values{*static_cast<std::decay_t<Args>*>(params[I])...};
    return [f, values] { std::apply(f, values); };
}

template <typename... Args>
std::function<Thunk(void**)> binder(void (*f)(Args...)) {
    return [f](void** params) { return bind_arguments(f, params, std::index_sequence_for<Args...>{}); };
}

struct Kernel {
    std::string name;
    std::function<Thunk(void**)> bind;
    bool grid_stride;
};

#define IMPRINT_KERNEL(f, grid_stride) {#f, Kernel{#f, binder(f), grid_stride}}
std::map<std::string, Kernel>& kernels() {
    static auto* table = new std::map<std::string, Kernel>{
        IMPRINT_KERNEL(imprint_prepare_rows, true),
        IMPRINT_KERNEL(imprint_fused_dots_1, true),
        IMPRINT_KERNEL(imprint_fused_dots_2, true),
        IMPRINT_KERNEL(imprint_fused_dots_4, true),
        IMPRINT_KERNEL(imprint_fused_dots_8, true),
        IMPRINT_KERNEL(imprint_fused_cosine_bf16_1, true),
        IMPRINT_KERNEL(imprint_fused_cosine_bf16_2, true),
        IMPRINT_KERNEL(imprint_fused_cosine_bf16_4, true),
        IMPRINT_KERNEL(imprint_fused_cosine_bf16_8, true),
        IMPRINT_KERNEL(imprint_sgemm_tn, false),
        IMPRINT_KERNEL(imprint_sgemm_tn_bf16, false),
        IMPRINT_KERNEL(imprint_js, true),
        IMPRINT_KERNEL(imprint_pointer_table, true),
        IMPRINT_KERNEL(imprint_combine, true),
        IMPRINT_KERNEL(imprint_closest, true),
        IMPRINT_KERNEL(imprint_gather_kept, true),
    };
    return *table;
}
#undef IMPRINT_KERNEL

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
std::vector<Fiber>& fibers = *new std::vector<Fiber>;
Fiber* current = nullptr;
Thunk& block_body = *new Thunk;

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

extern "C" {
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
}

namespace {
const CUresult INVALID_VALUE = 1;
const CUresult OUT_OF_MEMORY = 2;
const CUresult INVALID_HANDLE = 400;
const CUresult NOT_READY = 600;
const CUresult ILLEGAL_ADDRESS = 700;
const size_t TOTAL = 8ull << 30;

/** An operation queued on a stream. */
struct Op {
    Thunk run;
    // The legacy-stream operations issued before this one (ids up to here) that it must follow;
    // 0 on non-blocking streams, which follow none.
    uint64_t after_legacy;
};

struct Stream {
    uint64_t id;
    int device;  // the ordinal of the device it belongs to
    bool blocking;
    uint64_t issued = 0;  // operations queued so far
    uint64_t done = 0;    // operations finished, the running one not yet
    std::deque<Op> queue;
    bool stopping = false;
    std::thread thread;
};

/** "Stream `stream` has finished its first `ops` operations", or has gone. */
struct Ticket {
    uint64_t stream;
    uint64_t ops;
};

struct Event {
    unsigned pending = 0;  // records issued that have not run yet
    std::chrono::steady_clock::time_point stamp;
    bool destroyed = false;  // deleted once pending reaches 0
};

struct Block {
    size_t bytes;
    bool pinned;   // cuMemAllocHost, else cuMemAlloc
    bool retired;  // freed, kept (poisoned) until the work pending at the free has finished
};

struct Retired {
    uintptr_t address;
    std::vector<Ticket> after;  // the streams' work issued before the free
    uint64_t after_legacy;      // and the legacy-stream operations, which run on other host threads
};

/** The device's bookkeeping; `mutex` guards all but `sticky`, which running work reads without it. */
struct Device {
    std::mutex mutex;
    std::condition_variable changed;  // any stream, event or legacy operation progressed
    std::vector<Stream*> streams;
    uint64_t stream_ids = 0;
    uint64_t legacy_issued = 0;             // ids handed to legacy-stream operations
    std::vector<uint64_t> legacy_running;   // ids of those not yet finished
    std::atomic<CUresult> sticky{0};
    int retained = 0;
    size_t allocated = 0;
    std::map<uintptr_t, Block> blocks;
    std::vector<Retired> quarantine;
};

constexpr int MAX_DEVICES = 8;

int device_count() {
    static const int count = [] {
        const char* v = std::getenv("IMPRINT_EMULATOR_DEVICES");
        int n = v ? std::atoi(v) : 1;
        return n < 1 ? 1 : n > MAX_DEVICES ? MAX_DEVICES : n;
    }();
    return count;
}

/** The device this thread works on: the one whose context it made current, or its stream's. */
thread_local int current_device = 0;

Device& device(int ordinal) {
    static Device* devices[MAX_DEVICES] = {new Device, new Device, new Device, new Device,
                                           new Device, new Device, new Device, new Device};
    return *devices[ordinal];
}

Device& device() {
    return device(current_device);
}

/** Kernels share the emulation's globals, so one runs at a time on every device together. */
std::mutex kernel_mutex;

unsigned stream_delay_us() {
    static const unsigned us = [] {
        const char* v = std::getenv("IMPRINT_EMULATOR_STREAM_DELAY_US");
        return v ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : 0u;
    }();
    return us;
}

/** Gives the context a sticky error (the first one stays) and says why on stderr. */
void fault(CUresult error, const std::string& why) {
    CUresult none = 0;
    device().sticky.compare_exchange_strong(none, error);
    std::fprintf(stderr, "fake libcuda: %s; the context's sticky error is now %d\n", why.c_str(), device().sticky.load());
}

bool is_legacy(void* stream) {
    return stream == nullptr || stream == reinterpret_cast<void*>(0x1);  // CU_STREAM_LEGACY
}

Stream* find_stream(Device& d, void* handle) {
    auto it = std::find(d.streams.begin(), d.streams.end(), static_cast<Stream*>(handle));
    return it == d.streams.end() ? nullptr : *it;
}

/** Tickets for the work issued so far to every stream (or every blocking one) still busy. */
std::vector<Ticket> busy_streams(Device& d, bool blocking_only) {
    std::vector<Ticket> tickets;
    for (Stream* s : d.streams) {
        if (s->done < s->issued && (s->blocking || !blocking_only)) {
            tickets.push_back({s->id, s->issued});
        }
    }
    return tickets;
}

bool reached(const Device& d, const Ticket& t) {
    for (const Stream* s : d.streams) {
        if (s->id == t.stream) {
            return s->done >= t.ops;
        }
    }
    return true;
}

/** Whether a legacy-stream operation with an id up to `last` is still running. */
bool legacy_running(const Device& d, uint64_t last) {
    return std::any_of(d.legacy_running.begin(), d.legacy_running.end(), [&](uint64_t id) { return id <= last; });
}

void wait_for(Device& d, std::unique_lock<std::mutex>& lock, const std::vector<Ticket>& tickets) {
    d.changed.wait(lock, [&] {
        return std::all_of(tickets.begin(), tickets.end(), [&](const Ticket& t) { return reached(d, t); });
    });
}

/** Frees the retired blocks whose pending work has finished. */
void reclaim(Device& d) {
    for (auto it = d.quarantine.begin(); it != d.quarantine.end();) {
        std::erase_if(it->after, [&](const Ticket& t) { return reached(d, t); });
        if (it->after.empty() && !legacy_running(d, it->after_legacy)) {
            std::free(reinterpret_cast<void*>(it->address));
            d.blocks.erase(it->address);
            it = d.quarantine.erase(it);
        } else {
            ++it;
        }
    }
}

/**
 * Frees a block as cuMemFree does, without waiting for the streams: poisoned so that pending work
 * reading it sees NaN, and held until that work has finished so that it reads no other data.
 */
void retire(Device& d, uintptr_t address) {
    Block& b = d.blocks.at(address);
    std::memset(reinterpret_cast<void*>(address), 0xff, b.bytes);
    b.retired = true;
    d.quarantine.push_back({address, busy_streams(d, false), d.legacy_issued});
    reclaim(d);
}

/** The block, live or retired, that holds [p, p + n), or nullptr. */
const Block* block_holding(const Device& d, const void* p, size_t n) {
    auto address = reinterpret_cast<uintptr_t>(p);
    auto it = d.blocks.upper_bound(address);
    if (it == d.blocks.begin()) {
        return nullptr;
    }
    --it;
    const Block& b = it->second;
    return n <= b.bytes && address - it->first <= b.bytes - n ? &b : nullptr;  // no sum to overflow
}

bool device_range(const void* p, size_t n) {
    Device& d = device();
    std::lock_guard lock(d.mutex);
    const Block* b = block_holding(d, p, n);
    return n == 0 || (b && !b->pinned && !b->retired);
}

bool pinned_range(const void* p, size_t n) {
    Device& d = device();
    std::lock_guard lock(d.mutex);
    const Block* b = block_holding(d, p, n);
    return b && b->pinned && !b->retired;
}

/** A stream's thread: runs its operations in order, each once the legacy operations before it finished. */
void serve(Stream* s) {
    current_device = s->device;
    Device& d = device();
    std::minstd_rand random(static_cast<unsigned>(s->id));
    std::uniform_int_distribution<unsigned> delay(0, stream_delay_us());
    std::unique_lock lock(d.mutex);
    for (;;) {
        d.changed.wait(lock, [&] {
            if (s->queue.empty()) {
                return s->stopping;
            }
            return !legacy_running(d, s->queue.front().after_legacy);
        });
        if (s->queue.empty()) {
            return;
        }
        Op op = std::move(s->queue.front());
        s->queue.pop_front();
        lock.unlock();
        if (unsigned us = delay(random)) {
            std::this_thread::sleep_for(std::chrono::microseconds(us));
        }
        op.run();
        lock.lock();
        ++s->done;
        reclaim(d);
        d.changed.notify_all();
    }
}

/**
 * Issues `work` to a stream. On a created stream it is queued for the stream's thread; on the
 * legacy stream it runs now on the caller's thread, after the work issued before to every blocking
 * stream. `accepted` runs under the lock once the work is sure to run. Returns the sticky error
 * (then the work never runs), INVALID_HANDLE for an unknown stream, or 0.
 */
CUresult issue(void* stream, Thunk work, const std::function<void()>& accepted = {}) {
    Device& d = device();
    std::unique_lock lock(d.mutex);
    if (CUresult sticky = d.sticky) {
        return sticky;
    }
    if (!is_legacy(stream)) {
        Stream* s = find_stream(d, stream);
        if (!s || s->stopping) {
            return INVALID_HANDLE;
        }
        if (accepted) {
            accepted();
        }
        s->queue.push_back({std::move(work), s->blocking ? d.legacy_issued : 0});
        ++s->issued;
        d.changed.notify_all();
        return 0;
    }
    uint64_t id = ++d.legacy_issued;
    d.legacy_running.push_back(id);
    wait_for(d, lock, busy_streams(d, true));
    CUresult sticky = d.sticky;  // the work waited for may have faulted
    if (!sticky) {
        if (accepted) {
            accepted();
        }
        lock.unlock();
        work();
        lock.lock();
    }
    std::erase(d.legacy_running, id);
    reclaim(d);
    d.changed.notify_all();
    return sticky;
}

/** Waits until a stream (or, for the legacy stream, every blocking one) has run what was issued to it. */
CUresult synchronize(void* stream) {
    Device& d = device();
    std::unique_lock lock(d.mutex);
    if (is_legacy(stream)) {
        wait_for(d, lock, busy_streams(d, true));
    } else if (Stream* s = find_stream(d, stream)) {
        wait_for(d, lock, {{s->id, s->issued}});
    } else {
        return INVALID_HANDLE;
    }
    return d.sticky;
}

/** A copy run when its stream gets to it; nothing moves once the context has faulted. */
Thunk copy(void* dst, const void* src, size_t n) {
    return [dst, src, n] {
        if (!device().sticky) {
            std::memmove(dst, src, n);
        }
    };
}

/** Whether the fault file exists and names this kernel. */
bool fault_file_names(const std::string& kernel) {
    const char* path = std::getenv("IMPRINT_EMULATOR_FAULT_FILE");
    std::FILE* f = path && *path ? std::fopen(path, "r") : nullptr;
    if (!f) {
        return false;
    }
    char line[256] = {};
    bool named = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    std::string first(line);
    while (!first.empty() && std::isspace(static_cast<unsigned char>(first.back()))) {
        first.pop_back();
    }
    return named && first == kernel;
}

struct Launch {
    const Kernel* kernel;
    dim3 grid;
    unsigned threads;
    Thunk call;
};

void run_kernel(const Launch& launch) {
    Device& d = device();
    std::lock_guard guard(kernel_mutex);
    if (d.sticky) {
        return;  // a GPU runs nothing more once the context has faulted
    }
    if (fault_file_names(launch.kernel->name)) {
        fault(ILLEGAL_ADDRESS, "the fault file names " + launch.kernel->name + ", which did not run");
        return;
    }
    gridDim = launch.grid;
    blockDim = dim3{launch.threads, 1, 1};
    EmulatedBlock block;
    block.block.expected = launch.threads;
    for (unsigned w = 0; w < launch.threads / 32; ++w) {
        block.warps[w].expected = 32;
    }
    emulated_block = &block;
    block_body = launch.call;
    for (unsigned z = 0; z < gridDim.z; ++z) {
        for (unsigned y = 0; y < gridDim.y; ++y) {
            for (unsigned x = 0; x < gridDim.x; ++x) {
                blockIdx = dim3{x, y, z};
                run_block(launch.threads);
            }
        }
    }
}

void record_done(Event* e) {
    Device& d = device();
    std::lock_guard lock(d.mutex);
    e->stamp = std::chrono::steady_clock::now();
    if (--e->pending == 0 && e->destroyed) {
        delete e;
    }
    d.changed.notify_all();
}
}  // namespace

extern "C" {
CUresult cuInit(unsigned) { return 0; }
CUresult cuDeviceGetCount(int* count) {
    *count = device_count();
    return 0;
}
CUresult cuDeviceGet(CUdevice* d, int ordinal) {
    *d = ordinal;
    return ordinal >= 0 && ordinal < device_count() ? 0 : 101;
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
CUresult cuDevicePrimaryCtxRetain(void** ctx, CUdevice dev) {
    Device& d = device(dev);
    std::lock_guard lock(d.mutex);
    ++d.retained;
    *ctx = reinterpret_cast<void*>(static_cast<uintptr_t>(dev) + 1);
    return 0;
}
// The last release ends the context: its streams finish their work and its sticky error goes,
// so the next retain starts a fresh one.
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
    Device& d = device(dev);
    std::unique_lock lock(d.mutex);
    if (d.retained > 0 && --d.retained == 0) {
        wait_for(d, lock, busy_streams(d, false));
        d.sticky = 0;
    }
    return 0;
}
CUresult cuCtxSetCurrent(void* ctx) {
    current_device = ctx ? static_cast<int>(reinterpret_cast<uintptr_t>(ctx) - 1) : 0;
    return 0;
}
CUresult cuCtxSynchronize() {
    Device& d = device();
    std::unique_lock lock(d.mutex);
    wait_for(d, lock, busy_streams(d, false));
    return d.sticky;
}
CUresult cuStreamCreate(void** stream, unsigned flags) {
    if (flags > 1) {  // CU_STREAM_DEFAULT (blocking) or CU_STREAM_NON_BLOCKING
        return INVALID_VALUE;
    }
    Device& d = device();
    std::lock_guard lock(d.mutex);
    auto* s = new Stream;
    s->id = ++d.stream_ids;
    s->device = current_device;
    s->blocking = flags == 0;
    d.streams.push_back(s);
    s->thread = std::thread(serve, s);
    *stream = s;
    return 0;
}
CUresult cuStreamDestroy_v2(void* stream) {
    Device& d = device();
    std::unique_lock lock(d.mutex);
    Stream* s = find_stream(d, stream);
    if (!s || s->stopping) {
        return INVALID_HANDLE;
    }
    s->stopping = true;
    d.changed.notify_all();
    lock.unlock();
    s->thread.join();
    lock.lock();
    std::erase(d.streams, s);
    reclaim(d);
    delete s;
    return 0;
}
CUresult cuStreamSynchronize(void* stream) { return synchronize(stream); }
CUresult cuStreamQuery(void* stream) {
    Device& d = device();
    std::lock_guard lock(d.mutex);
    if (CUresult sticky = d.sticky) {
        return sticky;
    }
    if (is_legacy(stream)) {
        return busy_streams(d, true).empty() ? 0 : NOT_READY;
    }
    Stream* s = find_stream(d, stream);
    return !s ? INVALID_HANDLE : s->done == s->issued ? 0 : NOT_READY;
}
CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
    Device& d = device();
    std::lock_guard lock(d.mutex);
    *free = TOTAL - d.allocated;
    *total = TOTAL;
    return 0;
}
CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
    Device& d = device();
    std::lock_guard lock(d.mutex);
    if (d.allocated + bytes > TOTAL) {
        return OUT_OF_MEMORY;
    }
    // Poison fresh memory so a kernel reading what nobody wrote shows up as NaN.
    void* m = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
    std::memset(m, 0xff, bytes);
    d.allocated += bytes;
    d.blocks[reinterpret_cast<uintptr_t>(m)] = {bytes, false, false};
    *p = reinterpret_cast<CUdeviceptr>(m);
    return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
    if (p == 0) {
        return 0;
    }
    Device& d = device();
    std::lock_guard lock(d.mutex);
    auto it = d.blocks.find(p);
    if (it == d.blocks.end() || it->second.pinned || it->second.retired) {
        return INVALID_VALUE;
    }
    d.allocated -= it->second.bytes;
    retire(d, p);
    return 0;
}
CUresult cuMemAllocHost_v2(void** p, size_t bytes) {
    Device& d = device();
    std::lock_guard lock(d.mutex);
    *p = std::aligned_alloc(4096, (std::max<size_t>(bytes, 1) + 4095) / 4096 * 4096);
    d.blocks[reinterpret_cast<uintptr_t>(*p)] = {bytes, true, false};
    return 0;
}
CUresult cuMemFreeHost(void* p) {
    if (p == nullptr) {
        return 0;
    }
    Device& d = device();
    std::lock_guard lock(d.mutex);
    auto it = d.blocks.find(reinterpret_cast<uintptr_t>(p));
    if (it == d.blocks.end() || !it->second.pinned || it->second.retired) {
        return INVALID_VALUE;
    }
    retire(d, it->first);
    return 0;
}

// Copies check their device range at call time, as the driver rejects addresses it did not hand out.
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) {
    auto* to = reinterpret_cast<void*>(dst);
    return device_range(to, n) ? issue(nullptr, copy(to, src, n)) : INVALID_VALUE;
}
CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) {
    auto* from = reinterpret_cast<const void*>(src);
    return device_range(from, n) ? issue(nullptr, copy(dst, from, n)) : INVALID_VALUE;
}
CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) {
    auto* to = reinterpret_cast<void*>(dst);
    auto* from = reinterpret_cast<const void*>(src);
    return device_range(to, n) && device_range(from, n) ? issue(nullptr, copy(to, from, n)) : INVALID_VALUE;
}
// As the driver does with pageable (not cuMemAllocHost) memory: an upload reads the source before
// returning, and a download returns once it has landed; only page-locked memory moves in stream order.
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, void* stream) {
    auto* to = reinterpret_cast<void*>(dst);
    if (!device_range(to, n)) {
        return INVALID_VALUE;
    }
    if (is_legacy(stream) || pinned_range(src, n)) {
        return issue(stream, copy(to, src, n));
    }
    auto staged = std::make_shared<std::vector<char>>(static_cast<const char*>(src), static_cast<const char*>(src) + n);
    return issue(stream, [to, staged] {
        if (!device().sticky) {
            std::memcpy(to, staged->data(), staged->size());
        }
    });
}
CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, void* stream) {
    auto* from = reinterpret_cast<const void*>(src);
    if (!device_range(from, n)) {
        return INVALID_VALUE;
    }
    CUresult r = issue(stream, copy(dst, from, n));
    return r || is_legacy(stream) || pinned_range(dst, n) ? r : synchronize(stream);
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void* stream) {
    auto* to = reinterpret_cast<void*>(dst);
    auto* from = reinterpret_cast<const void*>(src);
    return device_range(to, n) && device_range(from, n) ? issue(stream, copy(to, from, n)) : INVALID_VALUE;
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
                        unsigned, void* stream, void** params, void**) {
    const Kernel* k = static_cast<const Kernel*>(f);
    if (by != 1 || bz != 1 || bx == 0 || bx > 1024 || bx % 32 != 0) {
        return INVALID_VALUE;
    }
    // Grid-stride kernels get a small grid, which also exercises their loops.
    Launch launch{k, dim3{k->grid_stride ? std::min(gx, 3u) : gx, gy, gz}, bx, k->bind(params)};
    return issue(stream, [launch] { run_kernel(launch); });
}
// An event holds the host time its latest record ran at; never recorded, it counts as complete.
CUresult cuEventCreate(void** e, unsigned) {
    *e = new Event;
    return 0;
}
CUresult cuEventRecord(void* event, void* stream) {
    Event* e = static_cast<Event*>(event);
    return issue(stream, [e] { record_done(e); }, [e] { ++e->pending; });
}
CUresult cuEventQuery(void* event) {
    Device& d = device();
    std::lock_guard lock(d.mutex);
    CUresult sticky = d.sticky;
    return sticky ? sticky : static_cast<Event*>(event)->pending ? NOT_READY : 0;
}
CUresult cuEventSynchronize(void* event) {
    Device& d = device();
    std::unique_lock lock(d.mutex);
    d.changed.wait(lock, [&] { return static_cast<Event*>(event)->pending == 0; });
    return d.sticky;
}
CUresult cuEventElapsedTime(float* ms, void* start, void* end) {
    Device& d = device();
    std::lock_guard lock(d.mutex);
    auto* a = static_cast<Event*>(start);
    auto* b = static_cast<Event*>(end);
    if (a->pending || b->pending) {
        return NOT_READY;
    }
    *ms = std::chrono::duration<float, std::milli>(b->stamp - a->stamp).count();
    return 0;
}
CUresult cuEventDestroy_v2(void* event) {
    Device& d = device();
    std::lock_guard lock(d.mutex);
    Event* e = static_cast<Event*>(event);
    if (e->pending) {
        e->destroyed = true;  // as in CUDA, its records still run; the last one deletes it
    } else {
        delete e;
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

// For the fake libcublas. Runs fn(arg, faulted) in stream order (now, on the legacy stream), exactly
// once if this returns 0 and never otherwise; faulted is nonzero when the context took a sticky
// error first, and fn should then only release arg. A nonzero result of fn becomes the sticky error.
int imprint_emulator_enqueue(void* stream, int (*fn)(void* arg, int faulted), void* arg) {
    return issue(stream, [fn, arg] {
        if (CUresult r = fn(arg, device().sticky != 0)) {
            fault(r, "host work on a stream failed");
        }
    });
}
// For the fake libcublas: whether [p, p + bytes) is device memory, freed memory whose pending work
// has not finished included (it reads as NaN rather than faulting, as a GPU's freed memory may).
int imprint_emulator_addressable(const void* p, size_t bytes) {
    Device& d = device();
    std::lock_guard lock(d.mutex);
    const Block* b = block_holding(d, p, bytes);
    return b && !b->pinned;
}
}
