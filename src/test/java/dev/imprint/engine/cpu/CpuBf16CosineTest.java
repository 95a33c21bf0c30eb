package dev.imprint.engine.cpu;

import static dev.imprint.testing.OracleAssertions.assertMatchesOracle;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU backend with bf16 EMBEDDING rows ({@code --cpu-bf16-cosine}) against the float64 oracle
 * within {@link Bf16Oracle}'s bound, on the Vector API and on BLAS, and against itself in fp32.
 */
class CpuBf16CosineTest {
    private static CpuBackend vector;
    private static CpuBackend blas;
    private static CpuBackend fp32;

    @BeforeAll
    static void open() {
        assertTrue(CpuBackend.vectorKernelsUsable(), "the tests run with --add-modules=jdk.incubator.vector (pom.xml)");
        vector = new CpuBackend(2, true, true);
        blas = new CpuBackend(2, false, true);
        fp32 = new CpuBackend(2, true, false);
    }

    @AfterAll
    static void close() {
        vector.close();
        blas.close();
        fp32.close();
    }

    @Test
    void roundsToTheNearestBf16TiesToEvenAsTheCudaKernelsDo() {
        SplittableRandom rng = new SplittableRandom(5);
        int ties = 0;
        for (int i = 0; i < 200_000; i++) {
            float f = (float) (rng.nextDouble(-1, 1) * Math.pow(2, rng.nextInt(-30, 30)));
            if (i % 3 == 0) {
                // Exactly halfway: a kept part and the dropped half set to 0x8000.
                f = Float.intBitsToFloat((Float.floatToRawIntBits(f) & 0xffff0000) | 0x8000);
            }
            ties += Bf16Oracle.isTie(f) ? 1 : 0;
            assertEquals(Bf16Oracle.nearest(f), Bf16.toFloat(Bf16.fromFloat(f)), "f=" + f);
        }
        assertTrue(ties > 60_000, ties + " ties");
    }

    static Stream<Arguments> shapes() {
        // {probes, dim, references}: tails of the 16-lane loop, D past the 1024 block, many references.
        int[][] shapes = {{1, 1, 3}, {7, 3, 5}, {7, 16, 4}, {7, 17, 6}, {5, 33, 9}, {3, 768, 7}, {2, 2500, 3},
            {64, 8, 130}};
        return Stream.of(shapes).map(s -> Arguments.of(s[0], s[1], s[2]));
    }

    @ParameterizedTest(name = "P={0} D={1} M={2}")
    @MethodSource("shapes")
    void cosineIsWithinTheBf16BoundOnBothPathsForAllAndMaskedProbes(int probes, int dim, int refs) {
        ProbeSet set = embeddingSet(probes, dim);
        for (CpuBackend backend : List.of(vector, blas)) {
            TestFingerprints gen = new TestFingerprints(41L * probes + dim);
            try (HeldReferences<ResidentReferences> f = held(set, gen, refs, backend)) {
                List<float[]> suspects = new ArrayList<>();
                for (int s = 0; s < 9; s++) {
                    suspects.add(s % 3 == 2 ? gen.rows(set.kind(), probes, dim)
                            : gen.near(set.kind(), f.rows.get(f.ids.get(s % refs)), dim, 0.05 + 0.1 * s));
                }
                // One suspect and three (the skinny products), nine (BLAS on the widened rows).
                for (int count : new int[] {1, 3, 9}) {
                    f.assertWithinBound(new SuspectBatch(allProbes(probes), suspects.subList(0, count)), f.ids, true);
                }
                int[] masked = gen.shuffledSubset(probes, Math.max(1, probes / 2));
                List<float[]> subset = suspects.stream().map(r -> TestFingerprints.selectRows(r, dim, masked)).toList();
                List<String> backwards = IntStream.iterate(refs - 1, r -> r >= 0, r -> r - 2).mapToObj(f.ids::get)
                        .toList();
                f.assertWithinBound(new SuspectBatch(masked, subset.subList(0, 1)), backwards, false);
                f.assertWithinBound(new SuspectBatch(masked, subset), backwards, false);
            }
        }
    }

    @Test
    void theStoredValuesAreTheNearestBf16OfTheUnitRows() {
        int dim = 40;
        ProbeSet set = embeddingSet(1, dim);
        float[] ref = new TestFingerprints(7).embedding(1, dim);
        double norm = 0;
        for (float v : ref) {
            norm += (double) v * v;
        }
        norm = Math.sqrt(norm);
        List<float[]> oneHot = new ArrayList<>();
        for (int j = 0; j < dim; j++) {
            float[] e = new float[dim];
            e[j] = 1;
            oneHot.add(e);
        }
        for (CpuBackend backend : List.of(vector, blas)) {
            try (ResidentReferences resident = backend.createResidentSet(set)) {
                resident.put("m0", ref);
                for (int count : new int[] {1, dim}) {
                    BatchScores scores = resident.score(new SuspectBatch(new int[] {0}, oneHot.subList(0, count)),
                            List.of("m0"), EnumSet.of(Metric.COSINE), false);
                    for (int j = 0; j < count; j++) {
                        float unit = (float) (ref[j] / norm);
                        assertEquals(Bf16Oracle.nearest(unit), scores.value(Metric.COSINE, j, 0), 0.0, "element " + j);
                    }
                }
            }
        }
    }

    @Test
    void putReplaceAndRemoveKeepEveryReferenceIntact() {
        ProbeSet set = embeddingSet(6, 50);
        TestFingerprints gen = new TestFingerprints(103);
        // Three panels' worth (PanelProduct), so that removals move slots between panels.
        int count = 2 * PanelProduct.WIDTH + 5;
        try (HeldReferences<ResidentReferences> f = held(set, gen, count, vector)) {
            SuspectBatch one = new SuspectBatch(allProbes(6), List.of(gen.rows(set.kind(), 6, 50)));
            SuspectBatch nine = new SuspectBatch(allProbes(6),
                    IntStream.range(0, 9).mapToObj(s -> gen.rows(set.kind(), 6, 50)).toList());
            f.put("m1", gen.rows(set.kind(), 6, 50));
            f.remove("m3");
            f.remove("m0");
            assertEquals(count - 2, f.resident.size());
            f.assertWithinBound(one, f.ids, true);
            f.assertWithinBound(nine, f.ids, false);
            for (String id : List.copyOf(f.ids)) {
                if (!id.equals("m5")) {
                    f.remove(id);
                }
            }
            f.assertWithinBound(one, f.ids, true);
            f.put("m9", gen.rows(set.kind(), 6, 50));
            f.assertWithinBound(nine, f.ids, false);
        }
    }

    @Test
    void anEmbeddingSetHoldsHalfTheRowBytesAndADistributionSetIgnoresTheMode() {
        ProbeSet embedding = embeddingSet(7, 768);
        TestFingerprints gen = new TestFingerprints(107);
        try (HeldReferences<ResidentReferences> on = held(embedding, gen, 5, vector); HeldReferences<ResidentReferences> off = held(on, fp32)) {
            long meta = 7L * (Double.BYTES + Integer.BYTES);
            long capacity = off.resident.bytesHeld() / (7L * 768 * Float.BYTES + meta);
            assertEquals(capacity * (7L * 768 * Short.BYTES + meta), on.resident.bytesHeld());
        }
        ProbeSet distribution = new ProbeSet("cpu", 5, 33, ProbeSetKind.DISTRIBUTION, 1e-6, "");
        Set<Metric> all = EnumSet.allOf(Metric.class);
        try (HeldReferences<ResidentReferences> on = held(distribution, gen, 4, vector); HeldReferences<ResidentReferences> off = held(on, fp32)) {
            assertEquals(off.resident.bytesHeld(), on.resident.bytesHeld());
            SuspectBatch batch = new SuspectBatch(allProbes(5),
                    IntStream.range(0, 3).mapToObj(s -> gen.rows(distribution.kind(), 5, 33)).toList());
            BatchScores a = on.resident.score(batch, on.ids, all, true);
            BatchScores b = off.resident.score(batch, off.ids, all, true);
            for (Metric m : all) {
                assertArrayEquals(b.values(m), a.values(m), m.name());
                assertArrayEquals(b.perProbe(m), a.perProbe(m), m.name());
            }
            assertMatchesOracle(distribution, on.rows, on.ids, batch, all, true, a);
        }
    }

    /**
     * Prints the error of bf16 COSINE against float64 for README: 1000 references of one probe at
     * D=768, 16 suspects, half random and half near a reference; each within the bound, and the
     * largest above the fp32 tolerance (else the rows would not be held as bf16).
     */
    @Test
    void measuresTheErrorAgainstFloat64() {
        int dim = 768;
        int refs = 1000;
        ProbeSet set = embeddingSet(1, dim);
        TestFingerprints gen = new TestFingerprints(127);
        try (HeldReferences<ResidentReferences> on = held(set, gen, refs, vector)) {
            List<float[]> rows = new ArrayList<>();
            for (int s = 0; s < 16; s++) {
                rows.add(s % 2 == 0 ? gen.rows(set.kind(), 1, dim)
                        : gen.near(set.kind(), on.rows.get(on.ids.get(37 * s % refs)), dim, 0.5));
            }
            double[] errors = new double[rows.size() * refs];
            for (int s = 0; s < rows.size(); s++) {
                double[] got = on.resident.score(new SuspectBatch(new int[] {0}, rows.subList(s, s + 1)), on.ids,
                        EnumSet.of(Metric.COSINE), false).values(Metric.COSINE);
                for (int r = 0; r < refs; r++) {
                    float[] ref = on.rows.get(on.ids.get(r));
                    double exact = Float64Metrics.perProbe(set, Metric.COSINE, ref, 0, rows.get(s), 0);
                    double bound = Bf16Oracle.ROUNDING * Bf16Oracle.absDotOverNorm(ref, 0, rows.get(s), 0, dim)
                            + Float64Metrics.tolerance(Metric.COSINE, exact);
                    errors[s * refs + r] = Math.abs(got[r] - exact);
                    assertTrue(errors[s * refs + r] <= bound, "error " + errors[s * refs + r] + " > bound " + bound);
                }
            }
            Arrays.sort(errors);
            System.out.printf(Locale.ROOT, "cpu bf16 COSINE accuracy D=%d pairs=%d max_abs_error=%.3g "
                    + "median_abs_error=%.3g%n", dim, errors.length, errors[errors.length - 1], errors[errors.length / 2]);
            assertTrue(errors[errors.length - 1] > Float64Metrics.tolerance(Metric.COSINE, 0),
                    "max error " + errors[errors.length - 1] + " within the fp32 tolerance: the rows are not bf16");
        }
    }

    private static ProbeSet embeddingSet(int probes, int dim) {
        return new ProbeSet("cpu", probes, dim, ProbeSetKind.EMBEDDING, 0, "");
    }

    private static int[] allProbes(int probes) {
        return IntStream.range(0, probes).toArray();
    }

    /** {@code count} generated references held by {@code backend}. */
    private static HeldReferences<ResidentReferences> held(ProbeSet set, TestFingerprints gen, int count,
                                                           CpuBackend backend) {
        return new HeldReferences<>(set, backend.createResidentSet(set), gen, count);
    }

    /** The references of {@code source}, in its order, held by {@code backend}. */
    private static HeldReferences<ResidentReferences> held(HeldReferences<?> source, CpuBackend backend) {
        return new HeldReferences<>(source, backend.createResidentSet(source.set));
    }
}
