package dev.imprint.engine;

import static dev.imprint.testing.OracleAssertions.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Reference;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.store.FingerprintStore;
import dev.imprint.store.LoadReport;
import dev.imprint.testing.Float64Metrics;
import dev.imprint.testing.TestFingerprints;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class ImprintEngineTest {
    private static final int P = 6;
    private static final int D = 40;

    @TempDir
    Path dataDir;

    private ImprintEngine engine;
    private final TestFingerprints gen = new TestFingerprints(41);
    private final Map<String, float[]> rows = new ConcurrentHashMap<>();
    private final ProbeSet dist = new ProbeSet("dist", P, D, ProbeSetKind.DISTRIBUTION, 1e-6, "next tokens");
    private final ProbeSet emb = new ProbeSet("emb", P, D, ProbeSetKind.EMBEDDING, 0, "answers");

    @BeforeEach
    void openEngine() {
        engine = open();
        engine.createProbeSet(dist);
        engine.createProbeSet(emb);
    }

    @AfterEach
    void closeEngine() {
        engine.close();
    }

    private ImprintEngine open() {
        return ImprintEngine.open(ArrowFingerprintStore.open(dataDir), new SelectedBackend(new CpuBackend(2), "test"));
    }

    @Test
    void ranksDistributionMatchesByAscendingKlRefSuspectByDefault() {
        putAll(dist, 5);
        Suspect student = suspect(dist, gen.near(dist.kind(), rows.get("dist/m3"), D, 0.05));

        ScoreResult result = engine.score(dist, student, ScoreQuery.defaults(dist));

        assertEquals(Metric.KL_REF_SUSPECT, result.orderBy());
        assertEquals(EnumSet.complementOf(EnumSet.of(Metric.JS)), result.matches().get(0).values().keySet());
        assertEquals("m3", result.matches().get(0).modelId());
        assertRankedBy(result, Metric.KL_REF_SUSPECT, false);
        assertAgreesWithOracle(dist, student, result);
        assertEquals(5, result.referencesScored());
        assertEquals(P, result.probesUsed());
        assertEquals("cpu", result.backend());
    }

    @Test
    void ranksEmbeddingMatchesByDescendingCosineByDefault() {
        putAll(emb, 4);
        Suspect copy = suspect(emb, gen.near(emb.kind(), rows.get("emb/m1"), D, 0.2));

        ScoreResult result = engine.score(emb, copy, ScoreQuery.defaults(emb));

        assertEquals(Set.of(Metric.COSINE), result.matches().get(0).values().keySet());
        assertEquals("m1", result.matches().get(0).modelId());
        assertRankedBy(result, Metric.COSINE, true);
        assertAgreesWithOracle(emb, copy, result);
    }

    @Test
    void ordersByTheRequestedMetricInItsDirection() {
        putAll(dist, 6);
        Suspect s = suspect(dist, gen.rows(dist.kind(), P, D));
        for (Metric order : EnumSet.allOf(Metric.class)) {
            ScoreQuery query = ScoreQuery.resolve(dist, EnumSet.allOf(Metric.class), order, 0, List.of(), Map.of(), true);

            ScoreResult result = engine.score(dist, s, query);

            assertRankedBy(result, order, order.higherIsCloser());
            assertAgreesWithOracle(dist, s, result);
        }
    }

    @Test
    void breaksTiesByModelId() {
        float[] same = gen.rows(dist.kind(), P, D);
        for (String id : List.of("zeta", "alpha", "mid")) {
            engine.putReference(dist.id(), id, Map.of(), same, false);
        }
        ScoreResult result = engine.score(dist, suspect(dist, gen.rows(dist.kind(), P, D)), ScoreQuery.defaults(dist));

        assertEquals(List.of("alpha", "mid", "zeta"), result.matches().stream().map(Match::modelId).toList());
        assertEquals(List.of(1, 2, 3), result.matches().stream().map(Match::rank).toList());
    }

    @Test
    void topKKeepsOnlyTheBestMatchesButCountsEveryReferenceScored() {
        putAll(emb, 7);
        Suspect s = suspect(emb, gen.near(emb.kind(), rows.get("emb/m5"), D, 0.1));
        ScoreQuery query = ScoreQuery.resolve(emb, Set.of(), null, 2, List.of(), Map.of(), false);

        ScoreResult result = engine.score(emb, s, query);

        assertEquals(2, result.matches().size());
        assertEquals(7, result.referencesScored());
        assertEquals("m5", result.matches().get(0).modelId());
        assertTrue(result.matches().get(0).perProbe().isEmpty());
    }

    @Test
    void aBackendThatRanksTheClosestItselfIsAskedForTopKAndItsOrderIsKept() {
        List<Integer> asked = new ArrayList<>();
        ScoringBackend ranking = new ForwardingBackend(new CpuBackend(1)) {
            @Override
            public ResidentReferences createResidentSet(ProbeSet set) {
                return new ForwardingResidentReferences(delegate.createResidentSet(set)) {
                    @Override
                    public BatchScores scoreClosest(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics,
                                                    boolean perProbe, Metric orderBy, int k) {
                        asked.add(k);
                        BatchScores all = delegate.score(batch, modelIds, metrics, perProbe);
                        // Deliberately not the metric's order: the engine must take the backend's word.
                        for (int s = 0; s < batch.size(); s++) {
                            all.keep(s, new int[] {modelIds.size() - 1, 0});
                        }
                        return all;
                    }
                };
            }
        };
        try (ImprintEngine own = ImprintEngine.open(ArrowFingerprintStore.open(dataDir.resolve("own")),
                new SelectedBackend(ranking, "test"))) {
            own.createProbeSet(emb);
            for (int i = 0; i < 5; i++) {
                own.putReference(emb.id(), "m" + i, Map.of(), gen.rows(emb.kind(), P, D), false);
            }
            Suspect s = suspect(emb, gen.rows(emb.kind(), P, D));

            ScoreResult top = own.score(emb, s, ScoreQuery.resolve(emb, Set.of(), null, 2, List.of(), Map.of(), false));
            ScoreResult all = own.score(emb, s, ScoreQuery.defaults(emb));

            assertEquals(List.of("m4", "m0"), top.matches().stream().map(Match::modelId).toList());
            assertEquals(List.of(1, 2), top.matches().stream().map(Match::rank).toList());
            assertEquals(5, all.matches().size());
            assertEquals(List.of(2), asked, "top_k=0 must not ask the backend to rank");
        }
    }

    @Test
    void modelIdsAndLabelSelectorRestrictTheReferencesScored() {
        for (int i = 0; i < 6; i++) {
            put(dist, "m" + i, Map.of("family", i % 2 == 0 ? "even" : "odd"));
        }
        Suspect s = suspect(dist, gen.rows(dist.kind(), P, D));

        ScoreResult byIds = engine.score(dist, s, ScoreQuery.resolve(dist, Set.of(), null, 0,
                List.of("m4", "m1", "m2"), Map.of(), false));
        ScoreResult byLabel = engine.score(dist, s, ScoreQuery.resolve(dist, Set.of(), null, 0,
                List.of(), Map.of("family", "odd"), false));
        ScoreResult both = engine.score(dist, s, ScoreQuery.resolve(dist, Set.of(), null, 0,
                List.of("m4", "m1", "m2"), Map.of("family", "even"), false));

        assertEquals(Set.of("m1", "m2", "m4"), ids(byIds));
        assertEquals(Set.of("m1", "m3", "m5"), ids(byLabel));
        assertEquals(Set.of("m2", "m4"), ids(both));
        assertEquals(Map.of("family", "even"), both.matches().get(0).labels());
        assertAgreesWithOracle(dist, s, both);
        assertCode(ImprintException.Code.NOT_FOUND, () -> engine.score(dist, s, ScoreQuery.resolve(dist, Set.of(),
                null, 0, List.of("m1", "ghost"), Map.of(), false)));
    }

    @Test
    void scoresMaskedProbesAndReturnsPerProbeValuesInTheSuspectsOrder() {
        putAll(dist, 3);
        int[] probes = gen.shuffledSubset(P, 4);
        float[] full = gen.near(dist.kind(), rows.get("dist/m0"), D, 0.1);
        Suspect s = Suspect.of(dist, probes.length, D, TestFingerprints.selectRows(full, D, probes), probes);
        ScoreQuery query = ScoreQuery.resolve(dist, EnumSet.allOf(Metric.class), null, 0, List.of(), Map.of(), true);

        ScoreResult result = engine.score(dist, s, query);

        assertEquals(4, result.probesUsed());
        for (Match m : result.matches()) {
            float[] ref = rows.get("dist/" + m.modelId());
            for (Metric metric : Metric.values()) {
                double[] values = m.perProbe().get(metric);
                assertEquals(4, values.length);
                for (int i = 0; i < 4; i++) {
                    assertClose(metric, Float64Metrics.perProbe(dist, metric, ref, probes[i], s.rows(), i), values[i],
                            m.modelId() + " probe " + probes[i]);
                }
            }
        }
        assertAgreesWithOracle(dist, s, result);
    }

    @Test
    void scoreAllAnswersEverySuspectInInputOrderAcrossProbeSubsets() {
        putAll(emb, 4);
        List<Suspect> suspects = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            float[] r = gen.near(emb.kind(), rows.get("emb/m" + (i % 4)), D, 0.05);
            int[] probes = i % 3 == 0 ? gen.shuffledSubset(P, 3) : null;
            suspects.add(probes == null ? suspect(emb, r)
                    : Suspect.of(emb, 3, D, TestFingerprints.selectRows(r, D, probes), probes));
        }

        List<ScoreResult> results = engine.scoreAll(emb, suspects, ScoreQuery.defaults(emb));

        assertEquals(7, results.size());
        for (int i = 0; i < 7; i++) {
            assertEquals("m" + (i % 4), results.get(i).matches().get(0).modelId(), "suspect " + i);
            assertEquals(suspects.get(i).probeCount(), results.get(i).probesUsed());
            assertAgreesWithOracle(emb, suspects.get(i), results.get(i));
        }
    }

    @Test
    void putWithoutReplaceRefusesAnExistingModelAndReplaceOverwritesIt() {
        put(dist, "m0", Map.of("v", "1"));
        float[] before = rows.get("dist/m0");
        assertCode(ImprintException.Code.ALREADY_EXISTS,
                () -> engine.putReference(dist.id(), "m0", Map.of(), gen.rows(dist.kind(), P, D), false));
        Suspect s = suspect(dist, gen.rows(dist.kind(), P, D));
        assertAgreesWithOracle(dist, s, engine.score(dist, s, ScoreQuery.defaults(dist)));
        assertArrayEquals(before, rows.get("dist/m0"));

        float[] after = gen.rows(dist.kind(), P, D);
        engine.putReference(dist.id(), "m0", Map.of("v", "2"), after, true);
        rows.put("dist/m0", after);

        ScoreResult result = engine.score(dist, s, ScoreQuery.defaults(dist));
        assertEquals(Map.of("v", "2"), result.matches().get(0).labels());
        assertEquals(1, engine.referenceCount(dist.id()));
        assertAgreesWithOracle(dist, s, result);
    }

    @Test
    void deletingReferencesAndProbeSetsFollowsTheContract() {
        putAll(dist, 3);
        assertCode(ImprintException.Code.NOT_FOUND, () -> engine.deleteReference(dist.id(), "ghost"));
        assertCode(ImprintException.Code.FAILED_PRECONDITION, () -> engine.deleteProbeSet(dist.id(), false));

        engine.deleteReference(dist.id(), "m1");
        assertCode(ImprintException.Code.NOT_FOUND, () -> engine.getReference(dist.id(), "m1"));
        Suspect s = suspect(dist, gen.rows(dist.kind(), P, D));
        ScoreResult left = engine.score(dist, s, ScoreQuery.defaults(dist));
        assertEquals(Set.of("m0", "m2"), ids(left));
        assertAgreesWithOracle(dist, s, left);

        assertEquals(2, engine.deleteProbeSet(dist.id(), true));
        assertCode(ImprintException.Code.NOT_FOUND, () -> engine.getProbeSet(dist.id()));
        assertCode(ImprintException.Code.NOT_FOUND, () -> engine.score(dist, s, ScoreQuery.defaults(dist)));
    }

    @Test
    void recreatingAProbeSetIsIdempotentOnlyForTheSameDefinition() {
        assertEquals(dist, engine.createProbeSet(new ProbeSet("dist", P, D, ProbeSetKind.DISTRIBUTION, 1e-6,
                "next tokens")));
        assertCode(ImprintException.Code.ALREADY_EXISTS,
                () -> engine.createProbeSet(new ProbeSet("dist", P, D + 1, ProbeSetKind.DISTRIBUTION, 1e-6, "")));
        ProbeSet redefined = new ProbeSet("dist", P, D, ProbeSetKind.DISTRIBUTION, 1e-5, "next tokens");
        assertCode(ImprintException.Code.FAILED_PRECONDITION,
                () -> engine.score(redefined, suspect(redefined, gen.rows(dist.kind(), P, D)),
                        ScoreQuery.defaults(redefined)));
    }

    @Test
    void aReopenedEngineScoresEveryAcknowledgedReferenceTheSame() {
        putAll(dist, 4);
        Suspect s = suspect(dist, gen.rows(dist.kind(), P, D));
        ScoreResult before = engine.score(dist, s, ScoreQuery.defaults(dist));
        engine.close();

        engine = open();
        ScoreResult after = engine.score(dist, s, ScoreQuery.defaults(dist));

        assertEquals(before.matches().stream().map(Match::modelId).toList(),
                after.matches().stream().map(Match::modelId).toList());
        assertEquals(List.of(dist, emb), engine.listProbeSets());
        assertAgreesWithOracle(dist, s, after);
        assertTrue(engine.info().referenceBytes() > 0);
        assertEquals(4, engine.info().referenceCount());
    }

    @Test
    void scoresDuringPutsSeeOnlyWholeReferences() throws Exception {
        put(emb, "m0", Map.of());
        Suspect s = suspect(emb, gen.rows(emb.kind(), P, D));
        List<float[]> pending = new ArrayList<>();
        for (int i = 1; i < 24; i++) {
            pending.add(gen.rows(emb.kind(), P, D));
        }
        AtomicBoolean done = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<Integer>> scorers = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                scorers.add(pool.submit(() -> {
                    int checked = 0;
                    while (!done.get() || checked == 0) {
                        assertAgreesWithOracle(emb, s, engine.score(emb, s, ScoreQuery.defaults(emb)));
                        checked++;
                    }
                    return checked;
                }));
            }
            for (int i = 0; i < pending.size(); i++) {
                rows.put("emb/m" + (i + 1), pending.get(i));
                engine.putReference(emb.id(), "m" + (i + 1), Map.of(), pending.get(i), false);
            }
            done.set(true);
            for (Future<Integer> f : scorers) {
                assertTrue(f.get() > 0);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(24, engine.score(emb, s, ScoreQuery.defaults(emb)).referencesScored());
    }

    private void putAll(ProbeSet set, int count) {
        for (int i = 0; i < count; i++) {
            put(set, "m" + i, Map.of("family", "f" + i % 2));
        }
    }

    private void put(ProbeSet set, String id, Map<String, String> labels) {
        float[] r = gen.rows(set.kind(), P, D);
        rows.put(set.id() + "/" + id, r);
        engine.putReference(set.id(), id, labels, r, false);
    }

    private static Suspect suspect(ProbeSet set, float[] values) {
        return Suspect.of(set, P, D, values, null);
    }

    /** Every value of every match equals the float64 oracle on that reference's rows. */
    private void assertAgreesWithOracle(ProbeSet set, Suspect s, ScoreResult result) {
        for (Match m : result.matches()) {
            float[] ref = rows.get(set.id() + "/" + m.modelId());
            for (Map.Entry<Metric, Double> e : m.values().entrySet()) {
                double expected = Float64Metrics.mean(set, e.getKey(), ref, s.rows(), s.probeIndices());
                assertClose(e.getKey(), expected, e.getValue(), m.modelId());
            }
        }
    }

    private static void assertRankedBy(ScoreResult result, Metric metric, boolean descending) {
        List<Match> matches = result.matches();
        for (int i = 1; i < matches.size(); i++) {
            double prev = matches.get(i - 1).values().get(metric);
            double cur = matches.get(i).values().get(metric);
            assertTrue(descending ? prev >= cur : prev <= cur, metric + " out of order at rank " + (i + 1));
            assertEquals(i + 1, matches.get(i).rank());
        }
    }

    private static Set<String> ids(ScoreResult result) {
        return Set.copyOf(result.matches().stream().map(Match::modelId).toList());
    }

    @Test
    void aLoadThatFailsReleasesTheStoreSoTheDirectoryOpensAgain() {
        putAll(dist, 2);
        engine.close();
        ArrowFingerprintStore real = ArrowFingerprintStore.open(dataDir);
        FingerprintStore failsOnFirstReference = new FingerprintStore() {
            @Override
            public LoadReport load(LoadVisitor visitor) {
                return real.load(new LoadVisitor() {
                    @Override
                    public void probeSet(ProbeSet set) {
                        visitor.probeSet(set);
                    }

                    @Override
                    public void reference(Reference reference) {
                        throw new ImprintException(ImprintException.Code.RESOURCE_EXHAUSTED, "planted: no memory left");
                    }
                });
            }

            @Override
            public void saveProbeSet(ProbeSet set) {
                real.saveProbeSet(set);
            }

            @Override
            public void deleteProbeSet(String probeSetId) {
                real.deleteProbeSet(probeSetId);
            }

            @Override
            public void saveReference(Reference reference) {
                real.saveReference(reference);
            }

            @Override
            public void deleteReference(String probeSetId, String modelId) {
                real.deleteReference(probeSetId, modelId);
            }

            @Override
            public String location() {
                return real.location();
            }

            @Override
            public void close() {
                real.close();
            }
        };

        assertCode(ImprintException.Code.RESOURCE_EXHAUSTED,
                () -> ImprintEngine.open(failsOnFirstReference, new SelectedBackend(new CpuBackend(1), "test")));

        // The failed open closed the store, so its directory lock is free and everything is still there.
        engine = open();
        assertEquals(2, engine.referenceCount(dist.id()));
    }

    private static void assertCode(ImprintException.Code code, Executable call) {
        ImprintException e = assertThrows(ImprintException.class, call);
        assertEquals(code, e.code(), e.getMessage());
    }
}
