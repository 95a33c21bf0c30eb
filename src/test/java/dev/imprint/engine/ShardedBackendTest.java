package dev.imprint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.testing.TestFingerprints;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * References sharded over several backends score exactly as on one: an engine over
 * {@link ShardedBackend} of CPU shards against an engine over one CPU backend, same references,
 * same suspects, every query shape (all metrics, per probe, top-k, selections, attribution).
 * {@code ShardedCudaTest} runs the same comparison over two (emulated) devices.
 */
class ShardedBackendTest {
    private static final int P = 12;
    private static final int D = 16;
    private static final int MODELS = 9;

    @TempDir
    Path dir;

    /**
     * The same references and ranks, values within float rounding: a CPU shard multiplies fewer
     * references at once, and BLAS may then sum a product in another order, so a value can move
     * by an ulp of float (verdicts and p-values are compared as well).
     */
    @ParameterizedTest
    @EnumSource(ProbeSetKind.class)
    void twoAndThreeShardsScoreAsOneBackend(ProbeSetKind kind) {
        for (int shards = 2; shards <= 3; shards++) {
            int n = shards;
            ShardedComparison.check(dir.resolve(kind + "-" + n), kind, () -> new CpuBackend(1),
                    () -> new ShardedBackend(cpuShards(n)), 1e-6);
        }
    }

    @Test
    void referencesSpreadOverTheShardsAndAFullShardSpillsToTheNext() {
        CappedBackend small = new CappedBackend(new CpuBackend(1), 3);
        CpuBackend large = new CpuBackend(1);
        try (ShardedBackend sharded = new ShardedBackend(List.of(small, large))) {
            ProbeSet set = new ProbeSet("s", P, D, ProbeSetKind.EMBEDDING, 0, "");
            TestFingerprints gen = new TestFingerprints(5);
            try (ResidentReferences refs = sharded.createResidentSet(set)) {
                for (int m = 0; m < 8; m++) {
                    refs.put("m" + m, gen.embedding(P, D));
                }
                assertEquals(8, refs.size());
                assertEquals(3, small.held.size(), "the small shard holds what fits");
                // A replaced reference stays on its shard; a removed one frees it for the next.
                String onSmall = small.held.iterator().next();
                refs.put(onSmall, gen.embedding(P, D));
                assertTrue(small.held.contains(onSmall));
                refs.remove(onSmall);
                assertEquals(7, refs.size());
                assertEquals(2, small.held.size());
                refs.put("m8", gen.embedding(P, D));
                assertTrue(small.held.contains("m8"), "a new reference went past the emptier shard");
            }
        }
    }

    @Test
    void aShardFailureFailsTheScoreAndLeavesTheOthersUsable() {
        CappedBackend failing = new CappedBackend(new CpuBackend(1), Long.MAX_VALUE);
        try (ShardedBackend sharded = new ShardedBackend(List.of(failing, new CpuBackend(1)))) {
            ProbeSet set = new ProbeSet("s", P, D, ProbeSetKind.EMBEDDING, 0, "");
            TestFingerprints gen = new TestFingerprints(6);
            try (ResidentReferences refs = sharded.createResidentSet(set)) {
                refs.put("a", gen.embedding(P, D));
                refs.put("b", gen.embedding(P, D));
                SuspectBatch batch = new SuspectBatch(new int[0], List.of(gen.embedding(P, D)));
                failing.failScores = true;
                ImprintException e = assertThrows(ImprintException.class,
                        () -> refs.score(batch, List.of("a", "b"), EnumSet.of(Metric.COSINE), false));
                assertEquals(ImprintException.Code.UNAVAILABLE, e.code());
                failing.failScores = false;
                assertEquals(2, refs.score(batch, List.of("a", "b"), EnumSet.of(Metric.COSINE), false).references());
            }
        }
    }

    @Test
    void oneShardIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ShardedBackend(List.of(new CpuBackend(1))));
    }

    static List<ScoringBackend> cpuShards(int n) {
        List<ScoringBackend> shards = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            shards.add(new CpuBackend(1));
        }
        return shards;
    }

    /** A shard that holds at most {@code capacity} references, as a device with little memory, and can be made to fail. */
    private static final class CappedBackend extends ForwardingBackend {
        final long capacity;
        final java.util.Set<String> held = new java.util.LinkedHashSet<>();
        volatile boolean failScores;

        CappedBackend(ScoringBackend delegate, long capacity) {
            super(delegate);
            this.capacity = capacity;
        }

        @Override
        public ResidentReferences createResidentSet(ProbeSet set) {
            ResidentReferences inner = delegate.createResidentSet(set);
            return new ForwardingResidentReferences(inner) {
                @Override
                public void put(String modelId, float[] rows) {
                    if (!held.contains(modelId) && held.size() >= capacity) {
                        throw ImprintException.resourceExhausted("shard full");
                    }
                    super.put(modelId, rows);
                    held.add(modelId);
                }

                @Override
                public void remove(String modelId) {
                    super.remove(modelId);
                    held.remove(modelId);
                }

                @Override
                public BatchScores score(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics,
                                         boolean perProbe) {
                    if (failScores) {
                        throw new ImprintException(ImprintException.Code.UNAVAILABLE, "device lost");
                    }
                    return super.score(batch, modelIds, metrics, perProbe);
                }
            };
        }
    }

    private static void assertClose(double expected, double actual, double tolerance, String what) {
        if (Double.isNaN(expected) || Double.isInfinite(expected)) {
            assertEquals(expected, actual, what);
        } else {
            assertEquals(expected, actual, tolerance * Math.max(1, Math.abs(expected)), what);
        }
    }

    /** The comparison itself, shared with the CUDA variant. */
    static final class ShardedComparison {
        private ShardedComparison() {}

        /**
         * Opens an engine over {@code single()} and one over {@code sharded()} in two directories
         * under {@code dir}, puts the same references into both and scores the same suspects with
         * every query shape: the same matches in the same order, values within {@code tolerance}
         * (relative, at least absolute), the same verdicts.
         */
        static void check(Path dir, ProbeSetKind kind, Supplier<ScoringBackend> single,
                          Supplier<ScoringBackend> sharded, double tolerance) {
            try (ImprintEngine one = ImprintEngine.open(ArrowFingerprintStore.open(dir.resolve("one")),
                    new SelectedBackend(single.get(), "one"));
                 ImprintEngine many = ImprintEngine.open(ArrowFingerprintStore.open(dir.resolve("many")),
                         new SelectedBackend(sharded.get(), "sharded"))) {
                ProbeSet set = new ProbeSet("s", P, D, kind, kind == ProbeSetKind.DISTRIBUTION ? 1e-6 : 0, "");
                one.createProbeSet(set);
                many.createProbeSet(set);
                TestFingerprints gen = new TestFingerprints(20261206L + kind.ordinal());
                float[][] refs = new float[MODELS][];
                for (int m = 0; m < MODELS; m++) {
                    refs[m] = gen.rows(kind, P, D);
                    Map<String, String> labels = Map.of("family", "f" + (m % 3), "tier", m % 2 == 0 ? "even" : "odd");
                    ReferenceRole role = m < 6 ? ReferenceRole.PROTECTED : ReferenceRole.BACKGROUND;
                    one.putReference("s", "model-" + m, labels, role, refs[m], false);
                    many.putReference("s", "model-" + m, labels, role, refs[m], false);
                }
                List<Suspect> suspects = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    suspects.add(new Suspect(gen.near(kind, refs[i % MODELS], D, 0.05 * (i + 1)), new int[0]));
                }
                suspects.add(new Suspect(TestFingerprints.selectRows(gen.rows(kind, P, D), D, new int[] {1, 3, 5, 7}),
                        new int[] {1, 3, 5, 7}));
                ScoreQuery all = ScoreQuery.resolve(set, EnumSet.noneOf(Metric.class), null, 0, List.of(), Map.of(),
                        true);
                List<ScoreQuery> queries = List.of(all, all.withTopK(1), all.withTopK(4),
                        ScoreQuery.resolve(set, EnumSet.copyOf(Metric.defaultsFor(kind)), null, 3,
                                List.of("model-8", "model-2", "model-5"), Map.of(), false),
                        ScoreQuery.resolve(set, EnumSet.noneOf(Metric.class), null, 2, List.of(), Map.of("tier", "odd"),
                                false),
                        ScoreQuery.defaults(set).withAttribution(0.05),
                        ScoreQuery.defaults(set).withTopK(2).withAttribution(0.05));
                for (ScoreQuery query : queries) {
                    List<ScoreResult> expected = one.scoreAll(one.getProbeSet("s"), suspects, query);
                    List<ScoreResult> actual = many.scoreAll(many.getProbeSet("s"), suspects, query);
                    assertEquals(expected.size(), actual.size());
                    for (int i = 0; i < expected.size(); i++) {
                        assertSame(expected.get(i), actual.get(i), tolerance, query + " suspect " + i);
                    }
                }
                assertEquals(one.info().referenceCount(), many.info().referenceCount());
            }
        }

        private static void assertSame(ScoreResult expected, ScoreResult actual, double tolerance, String what) {
            assertEquals(expected.matches().size(), actual.matches().size(), what);
            assertEquals(expected.referencesScored(), actual.referencesScored(), what);
            for (int m = 0; m < expected.matches().size(); m++) {
                var e = expected.matches().get(m);
                var a = actual.matches().get(m);
                assertEquals(e.modelId(), a.modelId(), what + " rank " + (m + 1));
                assertEquals(e.values().keySet(), a.values().keySet(), what);
                for (Metric metric : e.values().keySet()) {
                    double ev = e.values().get(metric);
                    double av = a.values().get(metric);
                    assertClose(ev, av, tolerance, what + " " + metric + " of " + e.modelId());
                }
                assertEquals(e.perProbe().keySet(), a.perProbe().keySet(), what);
                for (Metric metric : e.perProbe().keySet()) {
                    double[] ep = e.perProbe().get(metric);
                    double[] ap = a.perProbe().get(metric);
                    for (int i = 0; i < ep.length; i++) {
                        assertClose(ep[i], ap[i], tolerance, what + " per-probe " + metric + " of " + e.modelId());
                    }
                }
                assertClose(e.pValue(), a.pValue(), tolerance, what + " p-value of " + e.modelId());
            }
            assertEquals(expected.attribution() == null, actual.attribution() == null, what);
            if (expected.attribution() != null) {
                assertEquals(expected.attribution().verdict(), actual.attribution().verdict(), what);
                assertEquals(expected.attribution().modelId(), actual.attribution().modelId(), what);
                assertClose(expected.attribution().pValue(), actual.attribution().pValue(), tolerance, what + " p");
            }
        }
    }
}
