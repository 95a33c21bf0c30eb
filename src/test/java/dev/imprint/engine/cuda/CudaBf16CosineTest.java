package dev.imprint.engine.cuda;

import static dev.imprint.testing.OracleAssertions.assertMatchesOracle;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.engine.BatchScores;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.SuspectBatch;
import dev.imprint.testing.Bf16Oracle;
import dev.imprint.testing.Float64Metrics;
import dev.imprint.testing.HeldReferences;
import dev.imprint.testing.TestFingerprints;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CUDA backend with {@link CudaOptions#bf16Cosine} on, against the float64 oracle within the
 * bound bf16 storage allows, and against itself with the mode off. Needs a GPU: every test is
 * skipped, with the reason, where no usable device is found.
 *
 * <p>The bound is {@link Bf16Oracle}'s.
 */
@Tag("gpu")
class CudaBf16CosineTest {
    private static final double ROUNDING = Bf16Oracle.ROUNDING;
    private static final Set<Metric> COSINE = EnumSet.of(Metric.COSINE);

    /** bf16 EMBEDDING rows, cuBLAS allowed (it must not be used for them). */
    private static CudaBackend bf16;
    /** The defaults: fp32 everywhere. */
    private static CudaBackend fp32;
    private static String unavailable;

    @BeforeAll
    static void openBackends() {
        try {
            bf16 = CudaBackend.open(CudaOptions.defaults().withBf16Cosine(true));
            fp32 = CudaBackend.open(CudaOptions.defaults());
            System.out.println("CUDA device, bf16 COSINE: " + bf16.describe());
        } catch (CudaUnavailableException e) {
            unavailable = e.getMessage();
            System.out.println("GPU tests skipped: no usable CUDA device: " + unavailable);
        }
    }

    @AfterAll
    static void closeBackends() {
        if (bf16 != null) {
            bf16.close();
            fp32.close();
        }
    }

    private static void requireGpu() {
        assumeTrue(bf16 != null, () -> "no usable CUDA device: " + unavailable);
    }

    @Test
    void theModeIsOffByDefault() {
        assertFalse(CudaOptions.defaults().bf16Cosine());
        assertTrue(CudaOptions.defaults().withBf16Cosine(true).bf16Cosine());
        requireGpu();
        assertTrue(fp32.describe().endsWith("EMBEDDING rows fp32"), fp32.describe());
        assertTrue(bf16.describe().endsWith("EMBEDDING rows bf16 (COSINE by own kernels, never cuBLAS)"),
                bf16.describe());
        ProbeSet set = embeddingSet(7, 9);
        TestFingerprints gen = new TestFingerprints(101);
        try (HeldReferences<CudaResidentSet> f = held(set, gen, 4, fp32)) {
            long perSlot = 7L * 12 * Float.BYTES + 7L * (Double.BYTES + Integer.BYTES);
            assertEquals(4 * perSlot, f.resident.bytesHeld(), "fp32 rows padded to 12");
            SuspectBatch batch = new SuspectBatch(allProbes(7), List.of(gen.near(set.kind(), f.rows.get("m1"), 9, 0.1)));
            f.assertWithin(batch, f.ids, true, 0);
        }
    }

    /**
     * Reads every stored value back exactly: the cosine with a one-hot suspect e_j is b_j, one
     * product and no rounding after it. Probe 0's row has norm 1024, so its unit values are exact
     * and two of them, 385/1024 and -387/1024 (9 significant bits), lie halfway between two bf16
     * values: one tie goes down to the even 384, the other up to the even 388. Probe 1's row is
     * random.
     */
    @Test
    void storesEachUnitValueAsTheNearestBf16TiesToEven() {
        requireGpu();
        int dim = 8;
        ProbeSet set = embeddingSet(2, dim);
        int[] rest = threeSquares(1024 * 1024 - 385 * 385 - 387 * 387);
        float[] ref = new float[2 * dim];
        float[] tied = {385, -387, rest[0], rest[1], rest[2], 0, 0, 0};
        System.arraycopy(tied, 0, ref, 0, dim);
        System.arraycopy(new TestFingerprints(131).embedding(1, dim), 0, ref, dim, dim);
        List<float[]> oneHot = new ArrayList<>();
        for (int j = 0; j < dim; j++) {
            float[] e = new float[2 * dim];
            e[j] = 1;
            e[dim + j] = 1;
            oneHot.add(e);
        }
        ResidentReferences resident = bf16.createResidentSet(set);
        try (resident) {
            resident.put("m0", ref);
            BatchScores scores = resident.score(new SuspectBatch(allProbes(2), oneHot), List.of("m0"), COSINE, true);
            int ties = 0;
            for (int p = 0; p < 2; p++) {
                double norm = 0;
                for (int k = 0; k < dim; k++) {
                    norm += (double) ref[p * dim + k] * ref[p * dim + k];
                }
                norm = Math.sqrt(norm);
                for (int j = 0; j < dim; j++) {
                    float unit = (float) (ref[p * dim + j] / norm);
                    ties += Bf16Oracle.isTie(unit) ? 1 : 0;
                    assertEquals(Bf16Oracle.nearest(unit), scores.perProbe(Metric.COSINE, j, 0)[p], 0.0,
                            "probe " + p + " element " + j + " unit value " + unit);
                }
            }
            assertTrue(ties >= 2, ties + " ties; the constructed row has at least two");
        }
    }

    /** b, c, d with b^2 + c^2 + d^2 = n, b largest first. */
    private static int[] threeSquares(int n) {
        for (int b = (int) Math.sqrt(n); b >= 0; b--) {
            for (int c = (int) Math.sqrt(n - b * b); c >= 0; c--) {
                int d = (int) Math.round(Math.sqrt(n - b * b - c * c));
                if (b * b + c * c + d * d == n) {
                    return new int[] {b, c, d};
                }
            }
        }
        throw new IllegalArgumentException("n=" + n + " is not a sum of three squares");
    }

    /** {probes, dim, references} over the awkward sizes. */
    static Stream<Arguments> awkwardSizes() {
        int[][] shapes = {{1, 1, 3}, {7, 3, 5}, {7, 7, 4}, {7, 8, 4}, {7, 9, 4}, {7, 31, 4}, {7, 33, 4}, {3, 768, 3},
            {3, 1000, 3}, {2, 4097, 2}, {1, 32768, 2}, {256, 8, 3}, {256, 768, 2}, {256, 32768, 1}};
        return Stream.of(shapes).map(s -> Arguments.of(s[0], s[1], s[2]));
    }

    @ParameterizedTest(name = "P={0} D={1} M={2}")
    @MethodSource("awkwardSizes")
    void fusedCosineIsWithinTheBf16BoundForAllAndMaskedProbes(int probes, int dim, int refs) {
        requireGpu();
        ProbeSet set = embeddingSet(probes, dim);
        TestFingerprints gen = new TestFingerprints(83L * probes + dim);
        try (HeldReferences<CudaResidentSet> f = held(set, gen, refs, bf16)) {
            List<float[]> suspects = List.of(
                    gen.near(set.kind(), f.rows.get("m0"), dim, 0.02),
                    gen.near(set.kind(), f.rows.get(f.ids.get(refs - 1)), dim, 0.3),
                    gen.rows(set.kind(), probes, dim));
            f.assertWithinBound(new SuspectBatch(allProbes(probes), suspects), f.ids, true);
            f.assertWithinBound(new SuspectBatch(allProbes(probes), suspects.subList(0, 1)), f.ids, true);
            int[] masked = gen.shuffledSubset(probes, Math.max(1, probes / 2));
            List<float[]> subset = suspects.stream().map(rows -> TestFingerprints.selectRows(rows, dim, masked)).toList();
            f.assertWithinBound(new SuspectBatch(masked, subset), f.ids, false);
        }
    }

    /** Past the fused kernels' width: {suspects, probes, dim, references}. */
    static Stream<Arguments> manySuspects() {
        int[][] shapes = {{9, 7, 33, 130}, {70, 7, 1000, 3}, {70, 3, 4097, 2}, {9, 7, 768, 5}, {12, 7, 1, 3}};
        return Stream.of(shapes).map(s -> Arguments.of(s[0], s[1], s[2], s[3]));
    }

    @ParameterizedTest(name = "S={0} P={1} D={2} M={3}")
    @MethodSource("manySuspects")
    void sgemmCosineIsWithinTheBf16BoundForAllAndMaskedProbes(int suspects, int probes, int dim, int refs) {
        requireGpu();
        ProbeSet set = embeddingSet(probes, dim);
        TestFingerprints gen = new TestFingerprints(89L * suspects + dim);
        try (HeldReferences<CudaResidentSet> f = held(set, gen, refs, bf16)) {
            List<float[]> rows = IntStream.range(0, suspects)
                    .mapToObj(s -> gen.near(set.kind(), f.rows.get(f.ids.get(s % refs)), dim, 0.1)).toList();
            f.assertWithinBound(new SuspectBatch(allProbes(probes), rows), f.ids, true);
            int[] masked = gen.shuffledSubset(probes, Math.min(probes, 3));
            List<String> everyOtherBackwards = IntStream.iterate(refs - 1, r -> r >= 0, r -> r - 2)
                    .mapToObj(f.ids::get).toList();
            f.assertWithinBound(new SuspectBatch(masked,
                    rows.stream().map(r -> TestFingerprints.selectRows(r, dim, masked)).toList()), everyOtherBackwards, false);
        }
    }

    @Test
    void zeroOneAndManyReferences() {
        requireGpu();
        ProbeSet set = embeddingSet(4, 37);
        TestFingerprints gen = new TestFingerprints(97);
        List<float[]> two = List.of(gen.rows(set.kind(), 4, 37), gen.rows(set.kind(), 4, 37));
        List<float[]> many = IntStream.range(0, 10).mapToObj(s -> gen.rows(set.kind(), 4, 37)).toList();
        try (HeldReferences<CudaResidentSet> none = held(set, gen, 0, bf16)) {
            BatchScores scores = none.resident.score(new SuspectBatch(allProbes(4), two), List.of(), COSINE, true);
            assertEquals(0, scores.references());
            assertEquals(0, none.resident.bytesHeld());
        }
        for (int refs : new int[] {1, 300}) {
            try (HeldReferences<CudaResidentSet> f = held(set, gen, refs, bf16)) {
                f.assertWithinBound(new SuspectBatch(allProbes(4), two), f.ids, true);
                f.assertWithinBound(new SuspectBatch(allProbes(4), many), f.ids, false);
            }
        }
    }

    @Test
    void putReplaceRemoveAndCompactionKeepEveryBf16ReferenceIntact() {
        requireGpu();
        ProbeSet set = embeddingSet(6, 50);
        TestFingerprints gen = new TestFingerprints(103);
        try (HeldReferences<CudaResidentSet> f = held(set, gen, 9, bf16)) {
            SuspectBatch one = new SuspectBatch(allProbes(6), List.of(gen.rows(set.kind(), 6, 50)));
            SuspectBatch nine = new SuspectBatch(allProbes(6),
                    IntStream.range(0, 9).mapToObj(s -> gen.rows(set.kind(), 6, 50)).toList());
            f.put("m1", gen.rows(set.kind(), 6, 50));
            f.remove("m3");
            f.remove("m0");
            f.remove("absent");
            assertEquals(7, f.resident.size());
            f.assertWithinBound(one, f.ids, true);
            f.assertWithinBound(nine, f.ids, false);

            for (String id : List.copyOf(f.ids)) {
                if (!id.equals("m5")) {
                    f.remove(id);
                }
            }
            assertEquals(1, f.resident.size());
            assertTrue(f.resident.capacity() <= 4, "capacity " + f.resident.capacity() + " after compaction");
            assertEquals(f.resident.capacity() * bf16SlotBytes(6, 50), f.resident.bytesHeld());
            f.assertWithinBound(one, f.ids, true);
            f.put("m9", gen.rows(set.kind(), 6, 50));
            f.assertWithinBound(nine, f.ids, false);
            f.remove("m5");
            f.remove("m9");
            assertEquals(0, f.resident.bytesHeld());
        }
    }

    @Test
    void anEmbeddingSetHoldsHalfTheBytesWithTheModeOn() {
        requireGpu();
        ProbeSet set = embeddingSet(7, 768);
        TestFingerprints gen = new TestFingerprints(107);
        try (HeldReferences<CudaResidentSet> on = held(set, gen, 5, bf16); HeldReferences<CudaResidentSet> off = held(on, fp32)) {
            assertEquals(on.resident.capacity(), off.resident.capacity());
            long meta = 7L * (Double.BYTES + Integer.BYTES);
            assertEquals(off.resident.capacity() * (7L * 768 * Float.BYTES + meta), off.resident.bytesHeld());
            assertEquals(on.resident.capacity() * (7L * 768 * Short.BYTES + meta), on.resident.bytesHeld());
            double ratio = on.resident.bytesHeld() / (double) off.resident.bytesHeld();
            assertTrue(ratio > 0.5 && ratio < 0.51, "bf16/fp32 bytes held " + ratio);
        }
    }

    @Test
    void theBudgetCountsTheBf16Bytes() {
        requireGpu();
        ProbeSet set = embeddingSet(3, 100);
        long perSlot = bf16SlotBytes(3, 100);
        TestFingerprints gen = new TestFingerprints(109);
        try (CudaBackend tight = CudaBackend.open(CudaOptions.defaults().withBf16Cosine(true)
                .withReferenceBudget(5 * perSlot));
             HeldReferences<CudaResidentSet> f = held(set, gen, 5, tight)) {
            assertEquals(5 * perSlot, f.resident.bytesHeld(), "grown to exactly the budget");
            ImprintException e = assertThrows(ImprintException.class, () -> f.resident.put("m5",
                    gen.rows(set.kind(), 3, 100)));
            assertEquals(ImprintException.Code.RESOURCE_EXHAUSTED, e.code());
            assertTrue(e.getMessage().contains(Long.toString(5 * perSlot)), e.getMessage());
            f.assertWithinBound(new SuspectBatch(allProbes(3), List.of(gen.rows(set.kind(), 3, 100))), f.ids, false);
        }
    }

    /** {suspects, dim}: the fused path and the SGEMM path. */
    static Stream<Arguments> distributionShapes() {
        return Stream.of(Arguments.of(3, 33), Arguments.of(9, 1000));
    }

    @ParameterizedTest(name = "S={0} D={1}")
    @MethodSource("distributionShapes")
    void distributionSetsIgnoreTheModeAndScoreExactlyAsBefore(int suspects, int dim) {
        requireGpu();
        ProbeSet set = new ProbeSet("gpu", 5, dim, ProbeSetKind.DISTRIBUTION, 1e-6, "");
        Set<Metric> all = EnumSet.allOf(Metric.class);
        TestFingerprints gen = new TestFingerprints(113L + dim);
        try (HeldReferences<CudaResidentSet> on = held(set, gen, 4, bf16); HeldReferences<CudaResidentSet> off = held(on, fp32)) {
            assertEquals(off.resident.bytesHeld(), on.resident.bytesHeld());
            SuspectBatch batch = new SuspectBatch(allProbes(5),
                    IntStream.range(0, suspects).mapToObj(s -> gen.rows(set.kind(), 5, dim)).toList());
            BatchScores a = on.resident.score(batch, on.ids, all, true);
            BatchScores b = off.resident.score(batch, off.ids, all, true);
            for (Metric m : all) {
                assertArrayEquals(b.values(m), a.values(m), m.name());
                assertArrayEquals(b.perProbe(m), a.perProbe(m), m.name());
            }
            assertMatchesOracle(set, on.rows, on.ids, batch, all, true, a);
        }
    }

    /**
     * Prints the error of bf16 COSINE against float64 and whether each suspect's best reference
     * changes against fp32 (the figures of kernels/PERF-NOTES.md), and checks each against the
     * bound: 1000 references of one probe, half the suspects random (near-ties for the best
     * reference: the rows' offsets dominate), half near a reference.
     */
    @ParameterizedTest(name = "D={0}")
    @MethodSource("measuredDims")
    void measuresTheErrorAgainstFloat64AndTheTopReferenceAgainstFp32(int dim) {
        requireGpu();
        int refs = 1000;
        int suspects = 32;
        ProbeSet set = embeddingSet(1, dim);
        TestFingerprints gen = new TestFingerprints(127L + dim);
        try (HeldReferences<CudaResidentSet> on = held(set, gen, refs, bf16); HeldReferences<CudaResidentSet> off = held(on, fp32)) {
            List<float[]> rows = new ArrayList<>();
            for (int s = 0; s < suspects; s++) {
                float[] near = on.rows.get(on.ids.get(37 * s % refs));
                rows.add(s % 2 == 0 ? gen.rows(set.kind(), 1, dim) : gen.near(set.kind(), near, dim, 0.5));
            }
            SuspectBatch batch = new SuspectBatch(new int[] {0}, rows);
            double[][] exact = new double[suspects][refs];
            double[][] bound = new double[suspects][refs];
            double closestGap = Double.POSITIVE_INFINITY;
            for (int s = 0; s < suspects; s++) {
                for (int r = 0; r < refs; r++) {
                    float[] ref = on.rows.get(on.ids.get(r));
                    exact[s][r] = Float64Metrics.perProbe(set, Metric.COSINE, ref, 0, rows.get(s), 0);
                    bound[s][r] = ROUNDING * Bf16Oracle.absDotOverNorm(ref, 0, rows.get(s), 0, dim)
                            + Float64Metrics.tolerance(Metric.COSINE, exact[s][r]);
                }
                double[] sorted = exact[s].clone();
                Arrays.sort(sorted);
                closestGap = Math.min(closestGap, sorted[refs - 1] - sorted[refs - 2]);
            }
            double[] fp32Values = off.resident.score(batch, off.ids, COSINE, false).values(Metric.COSINE);
            double[] sgemm = on.resident.score(batch, on.ids, COSINE, false).values(Metric.COSINE);
            double[] fused = new double[suspects * refs];
            for (int first = 0; first < suspects; first += 8) {
                SuspectBatch eight = new SuspectBatch(new int[] {0}, rows.subList(first, first + 8));
                System.arraycopy(on.resident.score(eight, on.ids, COSINE, false).values(Metric.COSINE), 0, fused,
                        first * refs, 8 * refs);
            }
            for (Map.Entry<String, double[]> path : List.of(Map.entry("fused", fused), Map.entry("sgemm", sgemm))) {
                double[] got = path.getValue();
                double[] errors = new double[suspects * refs];
                double worstShare = 0;
                int sameTopAsFp32 = 0;
                int sameTopAsExact = 0;
                int fp32SameTopAsExact = 0;
                for (int s = 0; s < suspects; s++) {
                    for (int r = 0; r < refs; r++) {
                        double error = Math.abs(got[s * refs + r] - exact[s][r]);
                        errors[s * refs + r] = error;
                        worstShare = Math.max(worstShare, error / bound[s][r]);
                        if (!(error <= bound[s][r])) {
                            fail(String.format(Locale.ROOT, "%s D=%d suspect %d vs %s: error %.3g > bound %.3g",
                                    path.getKey(), dim, s, on.ids.get(r), error, bound[s][r]));
                        }
                    }
                    int top = best(got, s, refs);
                    int topFp32 = best(fp32Values, s, refs);
                    int topExact = bestOf(exact[s]);
                    sameTopAsFp32 += top == topFp32 ? 1 : 0;
                    sameTopAsExact += top == topExact ? 1 : 0;
                    fp32SameTopAsExact += topFp32 == topExact ? 1 : 0;
                }
                double max = Arrays.stream(errors).max().orElseThrow();
                System.out.printf(Locale.ROOT, "bf16 COSINE accuracy D=%d path=%s pairs=%d max_abs_error=%.3g "
                                + "median_abs_error=%.3g max_error_over_bound=%.3f top1_same_as_fp32=%d/%d "
                                + "top1_same_as_float64=%d/%d (fp32: %d/%d) closest_top2_gap_float64=%.3g%n", dim,
                        path.getKey(), errors.length, max, CudaStages.median(errors), worstShare, sameTopAsFp32, suspects,
                        sameTopAsExact, suspects, fp32SameTopAsExact, suspects, closestGap);
                assertTrue(max > Float64Metrics.tolerance(Metric.COSINE, 0),
                        "max error " + max + " within the fp32 tolerance: the rows are not held as bf16");
            }
        }
    }

    static Stream<Integer> measuredDims() {
        return Stream.of(768, 4096);
    }

    /** The best reference of {@code suspect} in suspect-major COSINE values of {@code refs} references. */
    private static int best(double[] values, int suspect, int refs) {
        return bestOf(Arrays.copyOfRange(values, suspect * refs, (suspect + 1) * refs));
    }

    /** The index of the largest value, ties to the lowest. */
    private static int bestOf(double[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Device bytes of one bf16 EMBEDDING slot: rows padded to a multiple of 8, norm and argmax. */
    private static long bf16SlotBytes(int probes, int dim) {
        return (long) probes * ((dim + 7) & ~7) * Short.BYTES + (long) probes * (Double.BYTES + Integer.BYTES);
    }

    private static ProbeSet embeddingSet(int probes, int dim) {
        return new ProbeSet("gpu", probes, dim, ProbeSetKind.EMBEDDING, 0, "");
    }

    private static int[] allProbes(int probes) {
        return IntStream.range(0, probes).toArray();
    }

    /** {@code count} generated references held by {@code backend}. */
    private static HeldReferences<CudaResidentSet> held(ProbeSet set, TestFingerprints gen, int count,
                                                        CudaBackend backend) {
        return new HeldReferences<>(set, (CudaResidentSet) backend.createResidentSet(set), gen, count);
    }

    /** The references of {@code source}, in its order, held by {@code backend}. */
    private static HeldReferences<CudaResidentSet> held(HeldReferences<?> source, CudaBackend backend) {
        return new HeldReferences<>(source, (CudaResidentSet) backend.createResidentSet(source.set));
    }
}
