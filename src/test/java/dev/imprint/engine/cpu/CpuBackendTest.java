package dev.imprint.engine.cpu;

import static dev.imprint.testing.OracleAssertions.assertMatchesOracle;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.engine.BatchScores;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.SuspectBatch;
import dev.imprint.testing.TestFingerprints;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class CpuBackendTest {
    private static CpuBackend backend;

    @BeforeAll
    static void startBackend() {
        // The Vector API kernels, EMBEDDING panels included, on any JVM that loads the module: the
        // panels' tests check what they compute, wherever the JIT would compile them slowly.
        backend = new CpuBackend(2, CpuBackend.vectorKernelsUsable());
    }

    @AfterAll
    static void stopBackend() {
        backend.close();
    }

    static Stream<Arguments> awkwardSizes() {
        List<Arguments> cases = new ArrayList<>();
        int[][] shapes = { // probes, dim, references
            {1, 1, 3}, {7, 3, 5}, {7, 31, 4}, {7, 32, 4}, {7, 33, 4}, {3, 1000, 3}, {2, 4097, 2},
            {1, 32768, 2}, {256, 8, 3}, {1000, 5, 2}, {5, 77, 9}};
        for (ProbeSetKind kind : ProbeSetKind.values()) {
            for (int[] s : shapes) {
                // Skinny batches on the Vector API, and through BLAS as a JVM without the module scores them.
                cases.add(Arguments.of(kind, s[0], s[1], s[2], true));
                cases.add(Arguments.of(kind, s[0], s[1], s[2], false));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} P={1} D={2} M={3} vector={4}")
    @MethodSource("awkwardSizes")
    void matchesFloat64OracleOnEveryMetricForAllAndMaskedProbes(ProbeSetKind kind, int probes, int dim, int refs,
                                                               boolean vectorProducts) {
        assertTrue(CpuBackend.vectorKernelsUsable(), "the tests run with --add-modules=jdk.incubator.vector (pom.xml)");
        ProbeSet set = probeSet(kind, probes, dim);
        TestFingerprints gen = new TestFingerprints(31L * probes + dim + kind.ordinal());
        try (CpuBackend products = new CpuBackend(2, vectorProducts)) {
            Fixture f = new Fixture(set, gen, refs, products);
            Set<Metric> metrics = supported(kind);

            List<float[]> all = List.of(
                    gen.near(kind, f.rows.get("m0"), dim, 0.02),
                    gen.near(kind, f.rows.get(f.ids.get(refs - 1)), dim, 0.3),
                    gen.rows(kind, probes, dim));
            SuspectBatch full = new SuspectBatch(allProbes(probes), all);
            assertMatchesOracle(set, f.rows, f.ids, full, metrics, true, f.resident.score(full, f.ids, metrics, true));
            // One suspect: the skinny product of every kind (at S=3 a DISTRIBUTION set's is a matrix product).
            SuspectBatch one = new SuspectBatch(allProbes(probes), all.subList(0, 1));
            assertMatchesOracle(set, f.rows, f.ids, one, metrics, false, f.resident.score(one, f.ids, metrics, false));

            int[] masked = gen.shuffledSubset(probes, Math.max(1, probes / 2));
            List<float[]> subset = all.stream().map(rows -> TestFingerprints.selectRows(rows, dim, masked)).toList();
            SuspectBatch part = new SuspectBatch(masked, subset);
            assertMatchesOracle(set, f.rows, f.ids, part, metrics, false,
                    f.resident.score(part, f.ids, metrics, false));
            f.resident.close();
        }
    }

    @Test
    void scoresOnlyTheRequestedMetricsAndPerProbeValuesOnlyWhenAsked() {
        Fixture f = new Fixture(probeSet(ProbeSetKind.DISTRIBUTION, 5, 40), 7, 3);
        SuspectBatch batch = randomSuspect(f.set, f.gen);
        Set<Metric> asked = EnumSet.of(Metric.KL_SUSPECT_REF, Metric.TOP1_AGREEMENT);

        BatchScores scores = f.resident.score(batch, f.ids, asked, false);

        for (Metric m : Metric.values()) {
            assertEquals(asked.contains(m), scores.has(m), m.name());
            assertFalse(scores.hasPerProbe(m), m.name());
        }
        assertMatchesOracle(f.set, f.rows, f.ids, batch, asked, false, scores);
    }

    /**
     * Each DISTRIBUTION metric alone, with and without per-probe values: the suspect's smoothed
     * logs and values then go to the product operands or, where no product reads them, to room
     * of their own, and every arrangement must give the oracle's sums.
     */
    @ParameterizedTest
    @MethodSource("distributionMetrics")
    void eachDistributionMetricAloneMatchesTheOracle(Metric metric) {
        Fixture f = new Fixture(probeSet(ProbeSetKind.DISTRIBUTION, 6, 37), 11, 4);
        List<float[]> suspects = List.of(f.gen.near(ProbeSetKind.DISTRIBUTION, f.rows.get("m1"), 37, 0.05),
                f.gen.rows(ProbeSetKind.DISTRIBUTION, 6, 37));
        SuspectBatch batch = new SuspectBatch(allProbes(6), suspects);
        Set<Metric> asked = EnumSet.of(metric);
        for (boolean perProbe : new boolean[] {false, true}) {
            assertMatchesOracle(f.set, f.rows, f.ids, batch, asked, perProbe,
                    f.resident.score(batch, f.ids, asked, perProbe));
        }
    }

    static Stream<Metric> distributionMetrics() {
        return Stream.of(Metric.values());
    }

    @Test
    void scoresTheNamedReferencesInTheGivenOrder() {
        Fixture f = new Fixture(probeSet(ProbeSetKind.EMBEDDING, 4, 17), 11, 6);
        List<String> some = List.of("m4", "m0", "m2");
        SuspectBatch batch = new SuspectBatch(allProbes(4), List.of(f.gen.rows(f.set.kind(), 4, 17),
                f.gen.rows(f.set.kind(), 4, 17)));

        BatchScores scores = f.resident.score(batch, some, supported(f.set.kind()), true);

        assertMatchesOracle(f.set, f.rows, some, batch, supported(f.set.kind()), true, scores);
    }

    @Test
    void scoresNoReferencesAsAnEmptyTable() {
        ProbeSet set = probeSet(ProbeSetKind.DISTRIBUTION, 3, 9);
        ResidentReferences resident = backend.createResidentSet(set);
        SuspectBatch batch = new SuspectBatch(allProbes(3), List.of(new TestFingerprints(3).rows(set.kind(), 3, 9)));

        BatchScores scores = resident.score(batch, List.of(), supported(set.kind()), true);

        assertEquals(0, scores.references());
        assertEquals(0, scores.values(Metric.COSINE).length);
        assertEquals(0, resident.size());
    }

    @Test
    void replacingAReferenceScoresItsNewRows() {
        Fixture f = new Fixture(probeSet(ProbeSetKind.DISTRIBUTION, 6, 50), 13, 3);
        float[] replacement = f.gen.rows(f.set.kind(), 6, 50);
        f.resident.put("m1", replacement);
        f.rows.put("m1", replacement);
        SuspectBatch batch = new SuspectBatch(allProbes(6), List.of(f.gen.near(f.set.kind(), replacement, 50, 0.1)));

        BatchScores scores = f.resident.score(batch, f.ids, supported(f.set.kind()), true);

        assertEquals(3, f.resident.size());
        assertMatchesOracle(f.set, f.rows, f.ids, batch, supported(f.set.kind()), true, scores);
    }

    @Test
    void removingFromTheMiddleKeepsEveryOtherReferenceIntact() {
        Fixture f = new Fixture(probeSet(ProbeSetKind.DISTRIBUTION, 4, 33), 17, 5);
        f.resident.remove("m1");
        f.resident.remove("m3");
        f.resident.remove("absent");
        List<String> left = List.of("m0", "m2", "m4");
        SuspectBatch batch = randomSuspect(f.set, f.gen);

        assertEquals(3, f.resident.size());
        assertMatchesOracle(f.set, f.rows, left, batch, supported(f.set.kind()), true,
                f.resident.score(batch, left, supported(f.set.kind()), true));

        float[] back = f.gen.rows(f.set.kind(), 4, 33);
        f.resident.put("m1", back);
        f.rows.put("m1", back);
        List<String> after = List.of("m0", "m1", "m2", "m4");
        assertMatchesOracle(f.set, f.rows, after, batch, supported(f.set.kind()), false,
                f.resident.score(batch, after, supported(f.set.kind()), false));
    }

    @Test
    void embeddingReferencesInPanelsSurviveRemovalsAcrossPanelsAndShrinking() {
        // Three panels' worth (PanelProduct): each removal moves the last slot into the hole, from
        // the last panel into an earlier one, and emptying most of the set shrinks its arrays.
        int count = 2 * PanelProduct.WIDTH + 5;
        Fixture f = new Fixture(probeSet(ProbeSetKind.EMBEDDING, 3, 21), 29, count);
        SuspectBatch batch = new SuspectBatch(allProbes(3), IntStream.range(0, 6)
                .mapToObj(s -> f.gen.rows(ProbeSetKind.EMBEDDING, 3, 21)).toList());
        List<String> left = new ArrayList<>(f.ids);
        for (int i = 0; i < count; i += 3) {
            f.resident.remove("m" + i);
            left.remove("m" + i);
        }
        assertEquals(left.size(), f.resident.size());
        for (int suspects : new int[] {1, 6}) {
            SuspectBatch some = new SuspectBatch(batch.probeIndices(), batch.suspects().subList(0, suspects));
            assertMatchesOracle(f.set, f.rows, left, some, supported(f.set.kind()), true,
                    f.resident.score(some, left, supported(f.set.kind()), true));
        }

        while (left.size() > 2) {
            f.resident.remove(left.remove(0));
        }
        float[] back = f.gen.rows(ProbeSetKind.EMBEDDING, 3, 21);
        f.resident.put("m0", back);
        f.rows.put("m0", back);
        left.add("m0");
        assertMatchesOracle(f.set, f.rows, left, batch, supported(f.set.kind()), false,
                f.resident.score(batch, left, supported(f.set.kind()), false));
    }

    @Test
    void growsAsReferencesArriveAndReleasesMemoryWhenEmptiedOrClosed() {
        Fixture f = new Fixture(probeSet(ProbeSetKind.DISTRIBUTION, 3, 10), 19, 20);
        long full = f.resident.bytesHeld();
        assertTrue(full >= 20L * 3 * 10 * 2 * Float.BYTES, "bytesHeld=" + full);
        for (String id : f.ids) {
            f.resident.remove(id);
        }
        assertEquals(0, f.resident.size());
        assertEquals(0, f.resident.bytesHeld());

        Fixture g = new Fixture(f.set, f.gen, 2);
        g.resident.close();
        assertEquals(0, g.resident.bytesHeld());
        assertEquals(0, g.resident.size());
    }

    @Test
    void anEmbeddingSuspectScoresTheSameBitsAloneAndInAnyBatch() {
        // PanelProduct sums each value in order of k whatever the tile: one column, four, or the
        // repeats past the last four. D past the 1024 block, and references in three panels.
        Fixture f = new Fixture(probeSet(ProbeSetKind.EMBEDDING, 20, 1100), 31, 2 * PanelProduct.WIDTH + 3);
        List<float[]> suspects = IntStream.range(0, 9)
                .mapToObj(s -> f.gen.near(ProbeSetKind.EMBEDDING, f.rows.get("m" + s), 1100, 0.2)).toList();
        for (boolean perProbe : new boolean[] {false, true}) {
            for (int count : new int[] {2, 5, 9}) {
                BatchScores batch = f.resident.score(new SuspectBatch(allProbes(20), suspects.subList(0, count)),
                        f.ids, EnumSet.of(Metric.COSINE), perProbe);
                for (int s = 0; s < count; s++) {
                    BatchScores alone = f.resident.score(new SuspectBatch(allProbes(20), List.of(suspects.get(s))),
                            f.ids, EnumSet.of(Metric.COSINE), perProbe);
                    for (int r = 0; r < f.ids.size(); r++) {
                        assertEquals(alone.value(Metric.COSINE, 0, r), batch.value(Metric.COSINE, s, r), 0.0,
                                "suspect " + s + " of " + count + ", reference " + r + ", perProbe " + perProbe);
                    }
                }
            }
        }
    }

    @Test
    void concurrentScoresAgreeWithASingleScore() throws Exception {
        Fixture f = new Fixture(probeSet(ProbeSetKind.DISTRIBUTION, 16, 64), 23, 8);
        SuspectBatch batch = new SuspectBatch(allProbes(16), List.of(f.gen.rows(f.set.kind(), 16, 64),
                f.gen.rows(f.set.kind(), 16, 64)));
        Set<Metric> metrics = supported(f.set.kind());
        BatchScores alone = f.resident.score(batch, f.ids, metrics, false);

        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<BatchScores>> runs = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                runs.add(pool.submit(() -> f.resident.score(batch, f.ids, metrics, false)));
            }
            for (Future<BatchScores> run : runs) {
                BatchScores got = run.get();
                for (Metric m : metrics) {
                    assertArrayEquals(alone.values(m), got.values(m), m.name());
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void panelsAreAskedForWithTheVectorApiAndChosenOnlyWhereTheirKernelCompiles() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new CpuBackend(1, false, true, false));
        assertTrue(e.getMessage().contains("panelProducts needs vectorProducts"), e.getMessage());
        // JDK 17 compiled the panels' kernel to the Vector API's Java fallback (README, Performance).
        assertEquals(CpuBackend.vectorKernelsUsable() && Runtime.version().feature() >= 25,
                CpuBackend.panelKernelsCompiled());
        // Rows or panels, an EMBEDDING set scores the same within float rounding.
        ProbeSet set = probeSet(ProbeSetKind.EMBEDDING, 5, 40);
        Fixture panels = new Fixture(set, 37, 35);
        try (CpuBackend rowsBackend = new CpuBackend(2, CpuBackend.vectorKernelsUsable(), false, false)) {
            Fixture rows = new Fixture(set, new TestFingerprints(37), 35, rowsBackend);
            SuspectBatch batch = randomSuspect(set, new TestFingerprints(38));
            BatchScores x = panels.resident.score(batch, panels.ids, supported(set.kind()), true);
            BatchScores y = rows.resident.score(batch, rows.ids, supported(set.kind()), true);
            assertEquals(panels.ids, rows.ids);
            for (int r = 0; r < panels.ids.size(); r++) {
                assertEquals(x.value(Metric.COSINE, 0, r), y.value(Metric.COSINE, 0, r), 1e-6);
            }
            assertMatchesOracle(set, rows.rows, rows.ids, batch, supported(set.kind()), true, y);
        }
    }

    @Test
    void aSingleWorkerGivesTheSameScoresAsMany() {
        Fixture f = new Fixture(probeSet(ProbeSetKind.DISTRIBUTION, 9, 21), 29, 4);
        SuspectBatch batch = randomSuspect(f.set, f.gen);
        try (CpuBackend single = new CpuBackend(1)) {
            ResidentReferences one = single.createResidentSet(f.set);
            f.rows.forEach(one::put);
            BatchScores a = one.score(batch, f.ids, supported(f.set.kind()), false);
            BatchScores b = f.resident.score(batch, f.ids, supported(f.set.kind()), false);
            assertMatchesOracle(f.set, f.rows, f.ids, batch, supported(f.set.kind()), false, a);
            for (Metric m : supported(f.set.kind())) {
                // Chunks sum float products in a different order, so only rounding may differ.
                assertArrayEquals(a.values(m), b.values(m), 1e-5, m.name());
            }
        }
    }

    @Test
    void namesTheBlasImplementationItUses() {
        assertTrue(CpuBackend.blasImplementation().startsWith("dev.ludovic.netlib.blas."),
                CpuBackend.blasImplementation());
        assertEquals("cpu", backend.name());
    }

    private static ProbeSet probeSet(ProbeSetKind kind, int probes, int dim) {
        return new ProbeSet("ps", probes, dim, kind, kind == ProbeSetKind.DISTRIBUTION ? 1e-6 : 0, "");
    }

    private static Set<Metric> supported(ProbeSetKind kind) {
        EnumSet<Metric> all = EnumSet.allOf(Metric.class);
        all.removeIf(m -> !m.supports(kind));
        return all;
    }

    /** A batch of one random suspect answering every probe of {@code set}. */
    private static SuspectBatch randomSuspect(ProbeSet set, TestFingerprints gen) {
        return new SuspectBatch(allProbes(set.numProbes()), List.of(gen.rows(set.kind(), set.numProbes(), set.dim())));
    }

    private static int[] allProbes(int probes) {
        int[] all = new int[probes];
        for (int p = 0; p < probes; p++) {
            all[p] = p;
        }
        return all;
    }

    /** References m0..m{n-1} of random rows, held by a fresh resident set of the shared backend. */
    private static final class Fixture {
        final ProbeSet set;
        final TestFingerprints gen;
        final Map<String, float[]> rows = new LinkedHashMap<>();
        final List<String> ids = new ArrayList<>();
        final ResidentReferences resident;

        Fixture(ProbeSet set, long seed, int count) {
            this(set, new TestFingerprints(seed), count);
        }

        Fixture(ProbeSet set, TestFingerprints gen, int count) {
            this(set, gen, count, backend);
        }

        Fixture(ProbeSet set, TestFingerprints gen, int count, CpuBackend holder) {
            this.set = set;
            this.gen = gen;
            resident = holder.createResidentSet(set);
            for (int i = 0; i < count; i++) {
                String id = "m" + i;
                float[] r = gen.rows(set.kind(), set.numProbes(), set.dim());
                rows.put(id, r);
                ids.add(id);
                resident.put(id, r);
            }
        }
    }
}
