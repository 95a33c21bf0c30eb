package dev.imprint.engine;


import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.engine.cuda.CudaBackend;
import dev.imprint.testing.CudaOrSkip;
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
        try (CudaBackend gpu = CudaOrSkip.open()) {
            AttributionContract.check(gpu);
        }
    }
}
