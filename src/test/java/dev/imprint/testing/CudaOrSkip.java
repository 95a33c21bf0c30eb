package dev.imprint.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.imprint.engine.cuda.CudaBackend;
import dev.imprint.engine.cuda.CudaOptions;
import dev.imprint.engine.cuda.CudaUnavailableException;

/** The CUDA backend for a {@code @Tag("gpu")} test, or the test skipped, saying why, without a device. */
public final class CudaOrSkip {
    private CudaOrSkip() {}

    /** A CUDA backend with default options; the caller closes it. */
    public static CudaBackend open() {
        try {
            return CudaBackend.open(CudaOptions.defaults());
        } catch (CudaUnavailableException e) {
            System.out.println("GPU test skipped: no usable CUDA device: " + e.getMessage());
            assumeTrue(false, "no usable CUDA device: " + e.getMessage());
            throw new AssertionError("unreachable: the assumption aborts the test");
        }
    }
}
