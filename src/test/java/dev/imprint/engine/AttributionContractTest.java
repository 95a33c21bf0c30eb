package dev.imprint.engine;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.engine.cuda.CudaBackend;
import dev.imprint.engine.cuda.CudaOptions;
import dev.imprint.engine.cuda.CudaUnavailableException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link AttributionContract} on each backend. */
class AttributionContractTest {
    @Test
    void cpuCoefficientsEqualTheFloat64Definition() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            AttributionContract.check(cpu);
        }
    }

    @Test
    @Tag("gpu")
    void cudaCoefficientsEqualTheFloat64Definition() {
        CudaBackend gpu;
        try {
            gpu = CudaBackend.open(CudaOptions.defaults());
        } catch (CudaUnavailableException e) {
            System.out.println("GPU test skipped: no usable CUDA device: " + e.getMessage());
            assumeTrue(false, "no usable CUDA device: " + e.getMessage());
            return;
        }
        try (gpu) {
            AttributionContract.check(gpu);
        }
    }
}
