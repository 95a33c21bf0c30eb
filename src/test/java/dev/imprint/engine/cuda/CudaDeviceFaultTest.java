package dev.imprint.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.engine.BatchScores;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.SuspectBatch;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.testing.OracleAssertions;
import dev.imprint.testing.TestFingerprints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A kernel that fails on the device after its launch returned, as an illegal address does: the
 * failure reaches the scoring call through the lane's event instead of leaving it waiting, the
 * lanes are given back, and once the faulty context is released a new backend scores again.
 *
 * <p>Only the emulator (kernels/emulator/run-emulated-tests.sh) can fail a kernel on purpose: it
 * fails the kernel named in the file that IMPRINT_EMULATOR_FAULT_FILE points to. Elsewhere the
 * test is skipped with that reason.
 */
@Tag("gpu")
class CudaDeviceFaultTest {
    private static final String FAULT_FILE = System.getenv("IMPRINT_EMULATOR_FAULT_FILE");

    @Test
    void aKernelFailingOnTheDeviceFailsItsCallsAndAFreshBackendScoresAgain() throws Exception {
        assumeTrue(FAULT_FILE != null, "only the CUDA emulator (IMPRINT_EMULATOR_FAULT_FILE) can fail a kernel on purpose");
        ProbeSet set = new ProbeSet("fault", 5, 40, ProbeSetKind.DISTRIBUTION, 1e-6, "");
        TestFingerprints gen = new TestFingerprints(71);
        List<float[]> references = IntStream.range(0, 4).mapToObj(i -> gen.rows(set.kind(), 5, 40)).toList();
        List<String> ids = List.of("m0", "m1", "m2", "m3");
        SuspectBatch batch = new SuspectBatch(new int[] {0, 1, 2, 3, 4},
                List.of(gen.rows(set.kind(), 5, 40), gen.rows(set.kind(), 5, 40)));
        Set<Metric> metrics = Set.of(Metric.COSINE, Metric.KL_REF_SUSPECT);
        Path fault = Path.of(FAULT_FILE);

        CudaBackend faulty = CudaBackend.open(CudaOptions.defaults());
        try {
            ResidentReferences held = hold(faulty, set, ids, references);
            Files.writeString(fault, "imprint_combine\n");
            // More calls than lanes: each must fail, none may wait for a lane a failed call kept.
            for (int call = 0; call < 4; call++) {
                ImprintException e = assertTimeoutPreemptively(Duration.ofSeconds(60),
                        () -> assertThrows(ImprintException.class, () -> held.score(batch, ids, metrics, false)));
                assertEquals(ImprintException.Code.INTERNAL, e.code());
                assertTrue(e.getMessage().contains("CUDA_ERROR_ILLEGAL_ADDRESS"), e.getMessage());
            }
        } finally {
            Files.deleteIfExists(fault);
            faulty.close();
        }

        try (CudaBackend fresh = CudaBackend.open(CudaOptions.defaults());
             CpuBackend cpu = new CpuBackend(1)) {
            BatchScores onGpu = hold(fresh, set, ids, references).score(batch, ids, metrics, false);
            BatchScores onCpu = hold(cpu, set, ids, references).score(batch, ids, metrics, false);
            for (Metric m : metrics) {
                for (int s = 0; s < batch.size(); s++) {
                    for (int r = 0; r < ids.size(); r++) {
                        OracleAssertions.assertClose(m, onCpu.value(m, s, r), onGpu.value(m, s, r), "after the fault");
                    }
                }
            }
        }
    }

    private static ResidentReferences hold(dev.imprint.engine.ScoringBackend backend, ProbeSet set, List<String> ids,
                                           List<float[]> references) {
        ResidentReferences held = backend.createResidentSet(set);
        for (int i = 0; i < ids.size(); i++) {
            held.put(ids.get(i), references.get(i));
        }
        return held;
    }
}
