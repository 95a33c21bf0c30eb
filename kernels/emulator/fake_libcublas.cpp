// A fake libcublas.so.12 for the emulated GPU tests: the calls JCublas2 makes for Imprint, with
// "device" memory being host memory (see fake_libcuda.cpp). Built with libcublas.version so its
// symbols carry the version JCublas2 asks for.
#include <cstdio>

extern "C" {
typedef int cublasStatus_t;

cublasStatus_t cublasCreate_v2(void** handle) {
    *handle = reinterpret_cast<void*>(0x3);
    return 0;
}
cublasStatus_t cublasDestroy_v2(void*) { return 0; }
cublasStatus_t cublasGetVersion_v2(void*, int* version) {
    *version = 120600;
    return 0;
}
cublasStatus_t cublasSetMathMode(void*, int) { return 0; }

// Column-major C_i = op(A_i) op(B_i) * alpha + beta * C_i; op 0 = N, 1 = T. Pointer mode host.
cublasStatus_t cublasSgemmBatched(void*, int transa, int transb, int m, int n, int k, const float* alpha,
                                  const float* const a[], int lda, const float* const b[], int ldb, const float* beta,
                                  float* const c[], int ldc, int batch) {
    for (int i = 0; i < batch; ++i) {
        for (int col = 0; col < n; ++col) {
            for (int row = 0; row < m; ++row) {
                float acc = 0.0f;
                for (int kk = 0; kk < k; ++kk) {
                    float av = transa ? a[i][kk + (long long) row * lda] : a[i][row + (long long) kk * lda];
                    float bv = transb ? b[i][col + (long long) kk * ldb] : b[i][kk + (long long) col * ldb];
                    acc += av * bv;
                }
                float* out = &c[i][row + (long long) col * ldc];
                *out = *alpha * acc + (*beta == 0.0f ? 0.0f : *beta * *out);
            }
        }
    }
    return 0;
}
}
