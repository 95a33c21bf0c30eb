package dev.imprint.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ReferenceRole;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.store.ArrowFingerprintStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The committed real-network fixture: its ground truth, and the calibration contract on it. */
class RealnetScenariosTest {
    @TempDir
    Path tmp;

    @Test
    void loadsBothProbeSetsWithTheirGroundTruth() throws Exception {
        try (BufferAllocator allocator = new RootAllocator()) {
            List<Scenario> sets = RealnetScenarios.load(allocator, RealnetScenarios.DEFAULT_FIXTURE);
            assertEquals(List.of("realnet-a", "realnet-b"), sets.stream().map(Scenario::name).toList());
            for (Scenario s : sets) {
                assertEquals(22, s.references().size());
                assertEquals(4, s.references().stream().filter(r -> r.role() == ReferenceRole.BACKGROUND).count());
                assertEquals(65, s.suspects().size());
                assertEquals(38, s.suspects().stream().filter(x -> x.truth() == Truth.DISTILLED).count());
                assertEquals(16, s.suspects().stream().filter(x -> x.truth() == Truth.SHARES_A_BASE).count());
                assertEquals(11, s.suspects().stream().filter(x -> x.truth() == Truth.INDEPENDENT).count());
            }
        }
    }

    @Test
    void distilledFromIsGivenToNoMoreThanAlphaPlusOnePointOfTheNegatives() throws Exception {
        try (BufferAllocator allocator = new RootAllocator()) {
            for (Scenario s : RealnetScenarios.load(allocator, RealnetScenarios.DEFAULT_FIXTURE)) {
                Path dir = Files.createDirectory(tmp.resolve(s.name()));
                try (ImprintEngine engine = ImprintEngine.open(ArrowFingerprintStore.open(dir),
                        new SelectedBackend(new CpuBackend(2), "test"))) {
                    EvaluationReport report = new EvaluationReport(Evaluator.run(engine, s, 0.01, n -> { }), 0.01,
                            Map.of());
                    int[] fp = report.falsePositives();
                    assertTrue(report.calibrated(), s.name() + ": " + fp[0] + " of " + fp[1] + " negatives called "
                            + "DISTILLED_FROM\n" + report.render(s.name()));
                }
            }
        }
    }

    @Test
    void aDirectoryWithoutAManifestIsNotFound() {
        try (BufferAllocator allocator = new RootAllocator()) {
            ImprintException e = org.junit.jupiter.api.Assertions.assertThrows(ImprintException.class,
                    () -> RealnetScenarios.load(allocator, tmp));
            assertEquals(ImprintException.Code.NOT_FOUND, e.code());
            assertTrue(e.getMessage().contains("holds no manifest.json"), e.getMessage());
        }
    }
}
