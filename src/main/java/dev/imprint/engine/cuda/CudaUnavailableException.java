package dev.imprint.engine.cuda;

/**
 * No usable CUDA device: the message says why in one line (no JCuda natives, no libcuda.so.1,
 * CUDA_ERROR_NO_DEVICE, kernels that do not load, not enough device memory...) and what to do.
 */
public final class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String reason) {
        super(reason);
    }

    public CudaUnavailableException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
