// A fake libcublas.so.12 for the emulated GPU tests: the calls JCublas2 makes for Imprint, with
// "device" memory being host memory (see fake_libcuda.cpp). Built with libcublas.version so its
// symbols carry the version JCublas2 asks for, and linked against the fake libcuda.so.1, whose
// streams run the products in order with the other work issued to them.
#include <cstddef>
#include <cstdio>
#include <memory>

extern "C" {
int imprint_emulator_enqueue(void* stream, int (*fn)(void* arg, int faulted), void* arg);
int imprint_emulator_addressable(const void* p, size_t bytes);

typedef int cublasStatus_t;
}

namespace {
const cublasStatus_t SUCCESS = 0;
const cublasStatus_t INVALID_VALUE = 7;
const cublasStatus_t EXECUTION_FAILED = 13;
const int ILLEGAL_ADDRESS = 700;

struct Handle {
    void* stream = nullptr;  // the legacy stream until cublasSetStream
};

/** A batched product as cublasSgemmBatched was called: scalars by value, the tables read when it runs. */
struct Gemm {
    int transa, transb, m, n, k;
    float alpha, beta;
    const float* const* a;
    int lda;
    const float* const* b;
    int ldb;
    float* const* c;
    int ldc;
    int batch;
};

/** Bytes a column-major rows x cols matrix with leading dimension ld spans. */
size_t span(int rows, int cols, int ld) {
    return rows == 0 || cols == 0 ? 0 : ((size_t) (cols - 1) * ld + rows) * sizeof(float);
}

/**
 * Checks the tables and the matrices they point at, as a GPU faults on an address it does not map:
 * a table the host never filled (or freed) holds poison, and must end in a sticky error, not a crash.
 */
bool addressable(const Gemm& g) {
    size_t table = (size_t) g.batch * sizeof(void*);
    if (!imprint_emulator_addressable(g.a, table) || !imprint_emulator_addressable(g.b, table)
            || !imprint_emulator_addressable(g.c, table)) {
        std::fprintf(stderr, "fake libcublas: cublasSgemmBatched's pointer tables are not device memory\n");
        return false;
    }
    for (int i = 0; i < g.batch; ++i) {
        bool ok = imprint_emulator_addressable(g.a[i], g.transa ? span(g.k, g.m, g.lda) : span(g.m, g.k, g.lda))
                && imprint_emulator_addressable(g.b[i], g.transb ? span(g.n, g.k, g.ldb) : span(g.k, g.n, g.ldb))
                && imprint_emulator_addressable(g.c[i], span(g.m, g.n, g.ldc));
        if (!ok) {
            std::fprintf(stderr, "fake libcublas: cublasSgemmBatched's operands of entry %d are not device memory "
                    "(A %p, B %p, C %p)\n", i, (const void*) g.a[i], (const void*) g.b[i], (const void*) g.c[i]);
            return false;
        }
    }
    return true;
}

// Column-major C_i = op(A_i) op(B_i) * alpha + beta * C_i; op 0 = N, 1 = T.
int run_gemm(void* arg, int faulted) {
    std::unique_ptr<Gemm> owned(static_cast<Gemm*>(arg));
    const Gemm& g = *owned;
    if (faulted) {
        return 0;
    }
    if (!addressable(g)) {
        return ILLEGAL_ADDRESS;
    }
    for (int i = 0; i < g.batch; ++i) {
        for (int col = 0; col < g.n; ++col) {
            for (int row = 0; row < g.m; ++row) {
                float acc = 0.0f;
                for (int kk = 0; kk < g.k; ++kk) {
                    float av = g.transa ? g.a[i][kk + (long long) row * g.lda] : g.a[i][row + (long long) kk * g.lda];
                    float bv = g.transb ? g.b[i][col + (long long) kk * g.ldb] : g.b[i][kk + (long long) col * g.ldb];
                    acc += av * bv;
                }
                float* out = &g.c[i][row + (long long) col * g.ldc];
                *out = g.alpha * acc + (g.beta == 0.0f ? 0.0f : g.beta * *out);
            }
        }
    }
    return 0;
}
}  // namespace

extern "C" {
cublasStatus_t cublasCreate_v2(void** handle) {
    *handle = new Handle;
    return SUCCESS;
}
cublasStatus_t cublasDestroy_v2(void* handle) {
    delete static_cast<Handle*>(handle);
    return SUCCESS;
}
cublasStatus_t cublasGetVersion_v2(void*, int* version) {
    *version = 120600;
    return SUCCESS;
}
cublasStatus_t cublasSetMathMode(void*, int) { return SUCCESS; }
cublasStatus_t cublasSetStream_v2(void* handle, void* stream) {
    static_cast<Handle*>(handle)->stream = stream;
    return SUCCESS;
}
cublasStatus_t cublasGetStream_v2(void* handle, void** stream) {
    *stream = static_cast<Handle*>(handle)->stream;
    return SUCCESS;
}

// Pointer mode host: alpha and beta are read now; the tables are device memory, read in stream order.
cublasStatus_t cublasSgemmBatched(void* handle, int transa, int transb, int m, int n, int k, const float* alpha,
                                  const float* const a[], int lda, const float* const b[], int ldb, const float* beta,
                                  float* const c[], int ldc, int batch) {
    if (m < 0 || n < 0 || k < 0 || batch < 0) {
        return INVALID_VALUE;
    }
    auto* g = new Gemm{transa, transb, m, n, k, *alpha, *beta, a, lda, b, ldb, c, ldc, batch};
    if (imprint_emulator_enqueue(static_cast<Handle*>(handle)->stream, run_gemm, g) != 0) {
        delete g;  // never queued
        return EXECUTION_FAILED;
    }
    return SUCCESS;
}
}
