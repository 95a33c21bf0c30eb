package dev.imprint.engine.cuda;

import static dev.imprint.testing.OracleAssertions.assertClose;
import static dev.imprint.testing.OracleAssertions.assertMatchesOracle;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import dev.imprint.testing.TestFingerprints;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CUDA backend against the CPU backend (the source of truth) and the float64 oracle. Needs a
 * GPU: every test is skipped, with the reason, where no usable device is found.
 */
@Tag("gpu")
class CudaBackendTest {
    /** The backend as deployed: cuBLAS for large products where it loads. */
    private static CudaBackend gpu;
    /** Our own SGEMM kernel for every large product. */
    private static CudaBackend ownSgemm;
    private static String unavailable;
    private static CpuBackend cpu;

    @BeforeAll
    static void openBackends() {
        try {
            gpu = CudaBackend.open(CudaOptions.defaults());
            ownSgemm = CudaBackend.open(CudaOptions.defaults().withCublas(false));
            System.out.println("CUDA device: " + gpu.describe());
        } catch (CudaUnavailableException e) {
            unavailable = e.getMessage();
            // Surefire counts skips but does not print assumption messages: say once, plainly, why.
            System.out.println("GPU tests skipped: no usable CUDA device: " + unavailable);
        }
        cpu = new CpuBackend(Math.min(8, Runtime.getRuntime().availableProcessors()));
    }

    @AfterAll
    static void closeBackends() {
        if (gpu != null) {
            gpu.close();
            ownSgemm.close();
        }
        cpu.close();
    }

    private static void requireGpu() {
        assumeTrue(gpu != null, () -> "no usable CUDA device: " + unavailable);
    }

    /** Every kind at the contract's awkward sizes: {probes, dim, references}. */
    static Stream<Arguments> awkwardSizes() {
        int[][] shapes = {{1, 1, 3}, {7, 3, 5}, {7, 31, 4}, {7, 32, 4}, {7, 33, 4}, {3, 1000, 3}, {2, 4097, 2},
            {1, 32768, 2}, {256, 8, 3}, {256, 1000, 2}, {256, 32768, 1}};
        return Stream.of(ProbeSetKind.values())
                .flatMap(kind -> Stream.of(shapes).map(s -> Arguments.of(kind, s[0], s[1], s[2])));
    }

    @ParameterizedTest(name = "{0} P={1} D={2} M={3}")
    @MethodSource("awkwardSizes")
    void matchesTheCpuAndTheOracleOnEveryMetricForAllAndMaskedProbes(ProbeSetKind kind, int probes, int dim,
                                                                      int refs) {
        requireGpu();
        ProbeSet set = probeSet(kind, probes, dim);
        TestFingerprints gen = new TestFingerprints(41L * probes + dim + kind.ordinal());
        try (Pair f = new Pair(set, gen, refs, gpu)) {
            Set<Metric> metrics = supported(kind);
            List<float[]> suspects = List.of(
                    gen.near(kind, f.rows.get("m0"), dim, 0.02),
                    gen.near(kind, f.rows.get(f.ids.get(refs - 1)), dim, 0.3),
                    gen.rows(kind, probes, dim));
            SuspectBatch full = new SuspectBatch(allProbes(probes), suspects);
            f.assertAgree(full, f.ids, metrics, true);
            f.assertAgree(new SuspectBatch(allProbes(probes), suspects.subList(0, 1)), f.ids, metrics, true);

            int[] masked = gen.shuffledSubset(probes, Math.max(1, probes / 2));
            List<float[]> subset = suspects.stream().map(rows -> TestFingerprints.selectRows(rows, dim, masked)).toList();
            f.assertAgree(new SuspectBatch(masked, subset), f.ids, metrics, false);
        }
    }

    /** Batches past the fused kernels' width, with cuBLAS and without: {suspects, dim, references}. */
    static Stream<Arguments> manySuspects() {
        int[][] shapes = {{9, 33, 130}, {70, 1000, 3}, {70, 4097, 2}, {5, 31, 1}};
        return Stream.of(false, true).flatMap(cublas -> Stream.of(ProbeSetKind.values())
                .flatMap(kind -> Stream.of(shapes).map(s -> Arguments.of(cublas, kind, s[0], s[1], s[2]))));
    }

    @ParameterizedTest(name = "cuBLAS={0} {1} S={2} D={3} M={4}")
    @MethodSource("manySuspects")
    void manySuspectsMatchWithAndWithoutCublas(boolean cublas, ProbeSetKind kind, int suspects, int dim, int refs) {
        requireGpu();
        if (cublas) {
            assumeTrue(gpu.blas() != null, () -> "cuBLAS unavailable: " + gpu.blasStatus());
        }
        int probes = 7;
        ProbeSet set = probeSet(kind, probes, dim);
        TestFingerprints gen = new TestFingerprints(43L * suspects + dim);
        try (Pair f = new Pair(set, gen, refs, cublas ? gpu : ownSgemm)) {
            List<float[]> rows = IntStream.range(0, suspects)
                    .mapToObj(s -> gen.near(kind, f.rows.get(f.ids.get(s % refs)), dim, 0.1)).toList();
            f.assertAgree(new SuspectBatch(allProbes(probes), rows), f.ids, supported(kind), true);
            int[] masked = gen.shuffledSubset(probes, 3);
            List<String> everyOtherBackwards = IntStream.iterate(refs - 1, r -> r >= 0, r -> r - 2)
                    .mapToObj(f.ids::get).toList();
            f.assertAgree(new SuspectBatch(masked, rows.stream().map(r -> TestFingerprints.selectRows(r, dim, masked)).toList()),
                    everyOtherBackwards, supported(kind), false);
        }
    }

    /** Top-k shapes: {suspects, references, k}; the fused and the SGEMM paths, k from 1 to all but one. */
    static Stream<Arguments> closestShapes() {
        int[][] shapes = {{1, 40, 1}, {3, 40, 5}, {9, 70, 39}, {12, 300, 10}, {2, 2, 1}};
        return Stream.of(ProbeSetKind.values())
                .flatMap(kind -> Stream.of(shapes).map(s -> Arguments.of(kind, s[0], s[1], s[2])));
    }

    @ParameterizedTest(name = "{0} S={1} M={2} k={3}")
    @MethodSource("closestShapes")
    void ranksTheClosestOnTheDeviceAsTheHostRanksEveryPair(ProbeSetKind kind, int suspects, int refs, int k) {
        requireGpu();
        int probes = 5;
        int dim = 24;
        ProbeSet set = probeSet(kind, probes, dim);
        TestFingerprints gen = new TestFingerprints(53L * refs + k + kind.ordinal());
        try (Pair f = new Pair(set, gen, refs, gpu)) {
            // Copies of one reference tie exactly: the lower index (earlier model id) must rank first.
            for (int c = 0; c < Math.min(3, refs); c++) {
                f.put(f.ids.get(refs - 1 - c), f.rows.get(f.ids.get(0)));
            }
            List<float[]> rows = IntStream.range(0, suspects)
                    .mapToObj(s -> gen.near(kind, f.rows.get(f.ids.get((7 * s) % refs)), dim, 0.3)).toList();
            SuspectBatch batch = new SuspectBatch(allProbes(probes), rows);
            Set<Metric> metrics = supported(kind);
            for (Metric order : metrics) {
                BatchScores every = f.gpuSet.score(batch, f.ids, metrics, true);
                BatchScores kept = f.gpuSet.scoreClosest(batch, f.ids, metrics, true, order, k);
                for (int s = 0; s < suspects; s++) {
                    int[] expected = closestFirst(every, order, s, refs, k);
                    assertArrayEquals(expected, kept.kept(s), order + " suspect " + s);
                    for (int r : expected) {
                        for (Metric m : metrics) {
                            assertEquals(every.value(m, s, r), kept.value(m, s, r), m + " of kept pair " + r);
                            assertArrayEquals(every.perProbe(m, s, r), kept.perProbe(m, s, r), m + " per probe of " + r);
                        }
                    }
                }
            }
        }
    }

    /** Reference indices by the host's rule: Double.compare order of the metric, closest first, ties to the lower index. */
    private static int[] closestFirst(BatchScores scores, Metric order, int s, int refs, int k) {
        java.util.Comparator<Integer> byValue = (a, b) -> Double.compare(scores.value(order, s, a), scores.value(order, s, b));
        if (order.higherIsCloser()) {
            byValue = byValue.reversed();
        }
        return IntStream.range(0, refs).boxed().sorted(byValue.thenComparing(i -> i)).limit(k)
                .mapToInt(Integer::intValue).toArray();
    }

    @Test
    void aSmallScratchScoresLargeBatchesInSeveralPassesWithTheSameResults() {
        requireGpu();
        ProbeSet set = probeSet(ProbeSetKind.DISTRIBUTION, 7, 1000);
        TestFingerprints gen = new TestFingerprints(47);
        try (CudaBackend small = CudaBackend.open(CudaOptions.defaults().withScratch(1 << 20));
             Pair f = new Pair(set, gen, 5, small)) {
            List<float[]> rows = IntStream.range(0, 70).mapToObj(s -> gen.rows(set.kind(), 7, 1000)).toList();
            f.assertAgree(new SuspectBatch(allProbes(7), rows), f.ids, supported(set.kind()), true);
        }
    }

    @Test
    void scoresOnlyTheRequestedMetricsAndNamedReferencesInTheGivenOrder() {
        requireGpu();
        ProbeSet set = probeSet(ProbeSetKind.DISTRIBUTION, 5, 40);
        TestFingerprints gen = new TestFingerprints(53);
        try (Pair f = new Pair(set, gen, 6, gpu)) {
            SuspectBatch batch = new SuspectBatch(allProbes(5), List.of(gen.rows(set.kind(), 5, 40)));
            for (Set<Metric> asked : List.of(EnumSet.of(Metric.KL_SUSPECT_REF, Metric.TOP1_AGREEMENT),
                    EnumSet.of(Metric.KL_REF_SUSPECT), EnumSet.of(Metric.JS), EnumSet.of(Metric.COSINE))) {
                BatchScores scores = f.gpuSet.score(batch, List.of("m4", "m0", "m2"), asked, false);
                for (Metric m : Metric.values()) {
                    assertEquals(asked.contains(m), scores.has(m), m.name());
                    assertFalse(scores.hasPerProbe(m), m.name());
                }
                assertMatchesOracle(set, f.rows, List.of("m4", "m0", "m2"), batch, asked, false, scores);
            }
        }
    }

    @Test
    void zeroOneAndManyReferences() {
        requireGpu();
        ProbeSet set = probeSet(ProbeSetKind.DISTRIBUTION, 4, 64);
        TestFingerprints gen = new TestFingerprints(59);
        SuspectBatch batch = new SuspectBatch(allProbes(4), List.of(gen.rows(set.kind(), 4, 64), gen.rows(set.kind(), 4, 64)));
        try (Pair none = new Pair(set, gen, 0, gpu)) {
            BatchScores scores = none.gpuSet.score(batch, List.of(), supported(set.kind()), true);
            assertEquals(0, scores.references());
            assertEquals(0, scores.values(Metric.COSINE).length);
        }
        for (int refs : new int[] {1, 300}) {
            try (Pair f = new Pair(set, gen, refs, gpu)) {
                f.assertAgree(batch, f.ids, supported(set.kind()), true);
            }
        }
    }

    @Test
    void putReplaceRemoveAndCompactionKeepEveryReferenceIntact() {
        requireGpu();
        ProbeSet set = probeSet(ProbeSetKind.DISTRIBUTION, 6, 50);
        TestFingerprints gen = new TestFingerprints(61);
        try (Pair f = new Pair(set, gen, 9, gpu)) {
            SuspectBatch batch = new SuspectBatch(allProbes(6), List.of(gen.rows(set.kind(), 6, 50)));
            float[] replacement = gen.rows(set.kind(), 6, 50);
            f.put("m1", replacement);
            f.remove("m3");
            f.remove("m0");
            f.remove("absent");
            assertEquals(7, f.gpuSet.size());
            f.assertAgree(batch, f.ids, supported(set.kind()), true);

            for (String id : List.copyOf(f.ids)) {
                if (!id.equals("m5")) {
                    f.remove(id);
                }
            }
            CudaResidentSet resident = (CudaResidentSet) f.gpuSet;
            assertEquals(1, resident.size());
            assertTrue(resident.capacity() <= 4, "capacity " + resident.capacity() + " after compaction");
            f.assertAgree(batch, f.ids, supported(set.kind()), true);
            f.put("m9", gen.rows(set.kind(), 6, 50));
            f.assertAgree(batch, f.ids, supported(set.kind()), false);
            f.remove("m5");
            f.remove("m9");
            assertEquals(0, f.gpuSet.bytesHeld());
        }
    }

    @Test
    void aPutPastTheMemoryBudgetIsResourceExhaustedAndChangesNothing() {
        requireGpu();
        ProbeSet set = probeSet(ProbeSetKind.DISTRIBUTION, 3, 100);
        long perSlot = 3L * 100 * Float.BYTES * 2 + 3L * (Double.BYTES * 2 + Integer.BYTES);
        TestFingerprints gen = new TestFingerprints(67);
        try (CudaBackend tight = CudaBackend.open(CudaOptions.defaults().withReferenceBudget(5 * perSlot));
             Pair f = new Pair(set, gen, 5, tight)) {
            assertEquals(5 * perSlot, f.gpuSet.bytesHeld(), "grown to exactly the budget");
            ImprintException e = assertThrows(ImprintException.class,
                    () -> f.gpuSet.put("m5", gen.rows(set.kind(), 3, 100)));
            assertEquals(ImprintException.Code.RESOURCE_EXHAUSTED, e.code());
            assertTrue(e.getMessage().contains(Long.toString(5 * perSlot)), e.getMessage());
            assertEquals(5, f.gpuSet.size());
            SuspectBatch batch = new SuspectBatch(allProbes(3), List.of(gen.rows(set.kind(), 3, 100)));
            f.assertAgree(batch, f.ids, supported(set.kind()), false);

            f.remove("m2");
            f.put("m5", gen.rows(set.kind(), 3, 100));
            f.assertAgree(batch, f.ids, supported(set.kind()), false);
        }
    }

    @Test
    void scoresFromManyThreadsAtOnceAgreeWithASingleScore() throws Exception {
        requireGpu();
        ProbeSet set = probeSet(ProbeSetKind.DISTRIBUTION, 16, 64);
        TestFingerprints gen = new TestFingerprints(71);
        ForkJoinPool callers = new ForkJoinPool(4);
        try (Pair f = new Pair(set, gen, 8, gpu)) {
            SuspectBatch batch = new SuspectBatch(allProbes(16), List.of(gen.rows(set.kind(), 16, 64)));
            Set<Metric> metrics = supported(set.kind());
            BatchScores alone = f.gpuSet.score(batch, f.ids, metrics, false);
            List<BatchScores> together = callers.submit(() -> IntStream.range(0, 16).parallel()
                    .mapToObj(i -> f.gpuSet.score(batch, f.ids, metrics, false)).toList()).get();
            for (BatchScores got : together) {
                metrics.forEach(m -> assertArrayEquals(alone.values(m), got.values(m), m.name()));
            }
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void profilingTimesEachStageOfEveryCallOnlyWhileEnabled() {
        requireGpu();
        ProbeSet set = probeSet(ProbeSetKind.DISTRIBUTION, 7, 33);
        TestFingerprints gen = new TestFingerprints(53);
        try (CudaBackend own = CudaBackend.open(CudaOptions.defaults().withCublas(false));
             Pair f = new Pair(set, gen, 3, own)) {
            List<float[]> rows = List.of(gen.rows(set.kind(), 7, 33), gen.rows(set.kind(), 7, 33));
            SuspectBatch batch = new SuspectBatch(allProbes(7), rows);
            f.gpuSet.score(batch, f.ids, supported(set.kind()), false);
            assertTrue(own.stages().summary().isEmpty(), "nothing is recorded while profiling is off");

            own.stages().enable(true);
            for (int call = 0; call < 3; call++) {
                f.assertAgree(batch, f.ids, supported(set.kind()), call == 0);
            }
            own.stages().enable(false);
            f.gpuSet.score(batch, f.ids, supported(set.kind()), false);

            Map<String, CudaStages.Stage> byName = new LinkedHashMap<>();
            own.stages().summary().forEach(s -> byName.put(s.name(), s));
            // The caller's own stages (host only) around the worker's, which the lane's events time.
            assertEquals(List.of("look_up_slots", "wait_for_lane", "upload_slots_and_probes", "upload_suspects",
                    "prepare_suspects_kernel", "fused_products_kernel", "js_kernel", "combine_kernel", "download_scores",
                    "pack_suspects_on_caller", "enqueue_on_worker", "wait_for_device", "decode_scores"),
                    List.copyOf(byName.keySet()));
            assertEquals(3, byName.get("download_scores").calls(), "each call downloads its scores once");
            assertEquals(3, byName.get("fused_products_kernel").calls());
            CudaStages.Stage enqueue = byName.get("enqueue_on_worker");
            assertTrue(Double.isNaN(enqueue.deviceMsMedian()), "the caller's side has no device time");
            double lapsSum = byName.values().stream().filter(s -> !Double.isNaN(s.deviceMsMedian()))
                    .mapToDouble(CudaStages.Stage::hostMsMedian).sum();
            assertTrue(lapsSum > 0 && lapsSum <= 3 * enqueue.hostMsMedian(),
                    "worker stages " + lapsSum + " ms within a hand-off of " + enqueue.hostMsMedian() + " ms");
            assertTrue(byName.get("combine_kernel").deviceMsMedian() >= 0);

            own.stages().reset();
            assertTrue(own.stages().summary().isEmpty());
        }
    }

    @Test
    void describesTheDevice() {
        requireGpu();
        String line = gpu.describe();
        assertTrue(line.matches(".+ \\(sm_\\d+, \\d+ SMs\\), driver \\d+\\.\\d+, .+ GiB total, .+ GiB free, .+"), line);
        assertEquals("cuda", gpu.name());
        dev.imprint.engine.DeviceInfo info = gpu.deviceInfo();
        assertTrue(line.startsWith(info.name() + " (" + info.computeCapability() + ", "), line + " vs " + info);
        assertTrue(info.computeCapability().matches("sm_\\d+") && info.driverVersion().matches("\\d+\\.\\d+"),
                info.toString());
        assertTrue(info.freeBytes() > 0 && info.freeBytes() <= info.totalBytes(), info.toString());
    }

    private static ProbeSet probeSet(ProbeSetKind kind, int probes, int dim) {
        return new ProbeSet("gpu", probes, dim, kind, kind == ProbeSetKind.DISTRIBUTION ? 1e-6 : 0, "");
    }

    private static Set<Metric> supported(ProbeSetKind kind) {
        return EnumSet.copyOf(Stream.of(Metric.values()).filter(m -> m.supports(kind)).toList());
    }

    /**
     * Passes whose suspects or scores overflow the lane's page-locked buffer (16 KiB here) go the
     * synchronous way, uploaded from the heap or downloaded after the pass: the same scores, for
     * every pair and for the kept pairs of a top_k query.
     */
    @ParameterizedTest(name = "S={0} M={1} per-probe={2}")
    @CsvSource({"1,3,false", "3,3,false", "3,40,true", "1,40,true"})
    void passesLargerThanTheLaneBufferCopySynchronouslyWithTheSameScores(int suspects, int refs, boolean perProbe) {
        requireGpu();
        ProbeSet set = probeSet(ProbeSetKind.DISTRIBUTION, 7, 300);
        TestFingerprints gen = new TestFingerprints(61L * suspects + refs);
        try (CudaBackend tight = CudaBackend.open(CudaOptions.defaults().withCublas(false).withLaneBuffer(16 << 10));
             Pair f = new Pair(set, gen, refs, tight)) {
            List<float[]> rows = IntStream.range(0, suspects).mapToObj(s -> gen.rows(set.kind(), 7, 300)).toList();
            SuspectBatch batch = new SuspectBatch(allProbes(7), rows);
            Set<Metric> metrics = supported(set.kind());
            f.assertAgree(batch, f.ids, metrics, perProbe);
            BatchScores every = f.gpuSet.score(batch, f.ids, metrics, perProbe);
            BatchScores kept = f.gpuSet.scoreClosest(batch, f.ids, metrics, perProbe, Metric.KL_REF_SUSPECT, 2);
            for (int s = 0; s < suspects; s++) {
                int[] expected = closestFirst(every, Metric.KL_REF_SUSPECT, s, refs, 2);
                assertArrayEquals(expected, kept.kept(s), "suspect " + s);
                for (int r : expected) {
                    for (Metric m : metrics) {
                        assertEquals(every.value(m, s, r), kept.value(m, s, r), m + " of kept pair " + r);
                        if (perProbe) {
                            assertArrayEquals(every.perProbe(m, s, r), kept.perProbe(m, s, r), m + " per probe of " + r);
                        }
                    }
                }
            }
        }
    }

    private static int[] allProbes(int probes) {
        return IntStream.range(0, probes).toArray();
    }

    /** The same references held by a GPU resident set and a CPU one. */
    private static final class Pair implements AutoCloseable {
        final Map<String, float[]> rows = new LinkedHashMap<>();
        final List<String> ids = new ArrayList<>();
        final ProbeSet set;
        final ResidentReferences gpuSet;
        final ResidentReferences cpuSet;

        Pair(ProbeSet set, TestFingerprints gen, int count, CudaBackend backend) {
            this.set = set;
            gpuSet = backend.createResidentSet(set);
            cpuSet = cpu.createResidentSet(set);
            for (int i = 0; i < count; i++) {
                put("m" + i, gen.rows(set.kind(), set.numProbes(), set.dim()));
            }
        }

        void put(String id, float[] r) {
            gpuSet.put(id, r);
            cpuSet.put(id, r);
            if (rows.put(id, r) == null) {
                ids.add(id);
            }
        }

        void remove(String id) {
            gpuSet.remove(id);
            cpuSet.remove(id);
            rows.remove(id);
            ids.remove(id);
        }

        /** GPU scores equal the oracle's, and the CPU's within the contract's tolerance. */
        void assertAgree(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe) {
            BatchScores onGpu = gpuSet.score(batch, modelIds, metrics, perProbe);
            BatchScores onCpu = cpuSet.score(batch, modelIds, metrics, perProbe);
            assertMatchesOracle(set, rows, modelIds, batch, metrics, perProbe, onGpu);
            for (Metric m : metrics) {
                for (int s = 0; s < batch.size(); s++) {
                    for (int r = 0; r < modelIds.size(); r++) {
                        assertClose(m, onCpu.value(m, s, r), onGpu.value(m, s, r),
                                "gpu vs cpu, suspect " + s + " vs " + modelIds.get(r));
                    }
                }
            }
        }

        @Override
        public void close() {
            gpuSet.close();
            cpuSet.close();
        }
    }
}
