package dev.imprint.engine.cuda;

import dev.imprint.core.ImprintException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasMath;
import jcuda.jcublas.cublasOperation;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;

/**
 * cuBLAS through JCublas2, for the large products: an optional accelerator, used only where
 * libcublas.so.12 loads (a host with only CUDA 13 libraries has libcublas.so.13, which JCublas
 * 12.6 cannot use). Created and used on the device's worker thread; fp32 without TF32. One
 * handle serves every lane: each call sets the stream it runs on.
 */
final class CudaBlas implements AutoCloseable {
    /** What loading JCublas2's natives gave: null until tried, "" on success, else the reason. */
    private static String nativesFailure;

    private final cublasHandle handle;
    private final String version;

    private CudaBlas(cublasHandle handle, String version) {
        this.handle = handle;
        this.version = version;
    }

    /**
     * Opens cuBLAS in the current context.
     *
     * @throws CudaUnavailableException with the reason when cuBLAS cannot be used
     */
    static CudaBlas open() {
        String natives = loadNatives();
        if (!natives.isEmpty()) {
            throw new CudaUnavailableException(natives);
        }
        cublasHandle handle = new cublasHandle();
        int status = JCublas2.cublasCreate(handle);
        if (status != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new CudaUnavailableException("cublasCreate failed: " + cublasStatus.stringFor(status));
        }
        // The default math mode keeps fp32 products in fp32 (no TF32), which the KL bounds need.
        JCublas2.cublasSetMathMode(handle, cublasMath.CUBLAS_DEFAULT_MATH);
        int[] v = new int[1];
        JCublas2.cublasGetVersion(handle, v);
        return new CudaBlas(handle, "cuBLAS " + v[0] / 10000 + "." + (v[0] % 10000) / 100);
    }

    private static synchronized String loadNatives() {
        if (nativesFailure == null) {
            try {
                JCublas2.setExceptionsEnabled(false);
                nativesFailure = "";
            } catch (LinkageError e) {
                String line = CudaFailures.lineMentioning(e, "libcublas");
                nativesFailure = "no libcublas.so.12 (" + (line != null ? line : CudaFailures.lineMentioning(e, "")) + ")";
            }
        }
        return nativesFailure;
    }

    /** "cuBLAS 12.6", for logs. */
    String version() {
        return version;
    }

    /**
     * For each of {@code batch} probes, {@code C_i = A_i^T B_i} in column-major terms: A_i is
     * k×m with leading dimension lda, B_i k×n (ldb), C_i m×n (ldc); the tables hold each
     * operand's device address per probe. Enqueued on {@code stream}.
     */
    void sgemmBatchedTn(CUstream stream, int m, int n, int k, CUdeviceptr aTable, int lda, CUdeviceptr bTable,
                        int ldb, CUdeviceptr cTable, int ldc, int batch) {
        int status = JCublas2.cublasSetStream(handle, new cudaStream_t(stream));
        if (status != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new ImprintException(ImprintException.Code.INTERNAL,
                    "cuBLAS cublasSetStream failed: " + cublasStatus.stringFor(status));
        }
        status = JCublas2.cublasSgemmBatched(handle, cublasOperation.CUBLAS_OP_T, cublasOperation.CUBLAS_OP_N,
                m, n, k, Pointer.to(new float[] {1f}), aTable, lda, bTable, ldb, Pointer.to(new float[] {0f}), cTable,
                ldc, batch);
        if (status != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new ImprintException(ImprintException.Code.INTERNAL,
                    "cuBLAS cublasSgemmBatched failed: " + cublasStatus.stringFor(status));
        }
    }

    @Override
    public void close() {
        JCublas2.cublasDestroy(handle);
    }
}
