package dev.imprint.engine.cuda;

import dev.imprint.engine.SelectedBackend;

/**
 * Looks for a usable CUDA device and opens the backend on it: the step the backend provider tries
 * once, and which tests replace to simulate each way it can fail.
 */
@FunctionalInterface
public interface CudaProbe {

    /**
     * Opens the CUDA backend.
     *
     * @return the backend and a one-line description of its device
     * @throws CudaUnavailableException with the reason when no usable device is found
     */
    SelectedBackend open();

    /** The real probe: JCuda's natives, the driver, a device, the kernels and enough memory. */
    static CudaProbe of(CudaOptions options) {
        return () -> {
            CudaBackend backend;
            try {
                backend = CudaBackend.open(options);
            } catch (LinkageError e) {
                throw new CudaUnavailableException(CudaFailures.describeLinkage(e), e);
            }
            try {
                return new SelectedBackend(backend, "cuda: " + backend.describe());
            } catch (RuntimeException e) {
                backend.close();
                throw e;
            }
        };
    }
}
