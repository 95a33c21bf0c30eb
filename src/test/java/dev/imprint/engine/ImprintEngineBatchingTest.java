package dev.imprint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.Deadline;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.testing.GatedBackend;
import dev.imprint.testing.TestFingerprints;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Concurrent scoring calls through the engine's dynamic batcher, against the same calls scored one at a time. */
@Timeout(60)
class ImprintEngineBatchingTest {
    private static final int P = 5;
    private static final int D = 24;

    @TempDir
    Path dataDir;
    @TempDir
    Path referenceDir;

    private final TestFingerprints gen = new TestFingerprints(97);
    private final ProbeSet set = new ProbeSet("dist", P, D, ProbeSetKind.DISTRIBUTION, 1e-6, "next tokens");
    private final ExecutorService callers = Executors.newCachedThreadPool();
    private GatedBackend gated;
    private ImprintEngine engine;
    /** The same references on an ungated engine that never batches: the answers to expect. */
    private ImprintEngine reference;

    @BeforeEach
    void openEngines() {
        gated = new GatedBackend(new CpuBackend(2));
        engine = ImprintEngine.open(ArrowFingerprintStore.open(dataDir), new SelectedBackend(gated, "test"),
                new ScoreBatching(16, Duration.ZERO));
        reference = ImprintEngine.open(ArrowFingerprintStore.open(referenceDir),
                new SelectedBackend(new CpuBackend(1), "test"), ScoreBatching.off());
        for (ImprintEngine e : List.of(engine, reference)) {
            e.createProbeSet(set);
        }
        for (int i = 0; i < 6; i++) {
            float[] rows = gen.rows(set.kind(), P, D);
            engine.putReference(set.id(), "m" + i, Map.of(), rows, false);
            reference.putReference(set.id(), "m" + i, Map.of(), rows, false);
        }
    }

    @AfterEach
    void closeEngines() {
        gated.openGate();
        callers.shutdownNow();
        engine.close();
        reference.close();
    }

    private Suspect suspect() {
        return Suspect.of(set, P, D, gen.rows(set.kind(), P, D), null);
    }

    /** Shuts the gate and starts one call, which waits inside the backend. */
    private Future<ScoreResult> occupy(ScoreQuery query) throws InterruptedException {
        gated.shutGate();
        Future<ScoreResult> first = callers.submit(() -> engine.score(set, suspect(), query));
        gated.awaitEntered(1);
        return first;
    }

    private void awaitQueued(int calls) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (engine.info().scoringQueued() < calls) {
            assertTrue(System.nanoTime() < until, engine.info().scoringQueued() + " of " + calls + " calls queued");
            Thread.sleep(1);
        }
    }

    @Test
    void concurrentCallsShareOneBackendCallAndGetTheAnswersTheyWouldAlone() throws Exception {
        ScoreQuery query = ScoreQuery.resolve(set, EnumSet.allOf(Metric.class), null, 0, List.of(), Map.of(), true);
        Future<ScoreResult> first = occupy(query);
        List<Suspect> suspects = new ArrayList<>();
        List<Future<ScoreResult>> answers = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            Suspect s = suspect();
            suspects.add(s);
            answers.add(callers.submit(() -> engine.score(set, s, query)));
        }
        awaitQueued(12);

        gated.openGate();

        first.get();
        for (int i = 0; i < suspects.size(); i++) {
            assertSameResult(reference.score(set, suspects.get(i), query), answers.get(i).get());
        }
        assertEquals(List.of(1, 12), gated.batchSizes());
        EngineInfo info = engine.info();
        assertEquals(2, info.scoringBatches());
        assertEquals(13, info.scoredSuspects());
        assertEquals(0, info.scoringQueued());
    }

    @Test
    void aBatchListenerHearsEveryBatchAndTheInfoCountsTheSuspectsWaiting() throws Exception {
        List<List<Integer>> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
        engine.addBatchListener((calls, suspects) -> heard.add(List.of(calls, suspects)));
        ScoreQuery query = ScoreQuery.defaults(set);
        Future<ScoreResult> first = occupy(query);
        List<Future<List<ScoreResult>>> answers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            List<Suspect> two = List.of(suspect(), suspect());
            answers.add(callers.submit(() -> engine.scoreAll(set, two, query)));
        }
        awaitQueued(3);
        assertEquals(6, engine.info().scoringQueuedSuspects());

        gated.openGate();

        first.get();
        for (Future<List<ScoreResult>> answer : answers) {
            assertEquals(2, answer.get().size());
        }
        assertEquals(List.of(List.of(1, 1), List.of(3, 6)), heard);
        assertEquals(0, engine.info().scoringQueuedSuspects());
    }

    @Test
    void callsWithDifferentQueriesAreScoredInSeparateBatches() throws Exception {
        ScoreQuery all = ScoreQuery.defaults(set);
        ScoreQuery topTwo = ScoreQuery.resolve(set, EnumSet.of(Metric.COSINE), Metric.COSINE, 2, List.of(), Map.of(),
                false);
        Future<ScoreResult> first = occupy(all);
        List<Suspect> suspects = new ArrayList<>();
        List<Future<ScoreResult>> answers = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Suspect s = suspect();
            ScoreQuery q = i % 2 == 0 ? all : topTwo;
            suspects.add(s);
            answers.add(callers.submit(() -> engine.score(set, s, q)));
        }
        awaitQueued(6);

        gated.openGate();

        first.get();
        for (int i = 0; i < suspects.size(); i++) {
            ScoreQuery q = i % 2 == 0 ? all : topTwo;
            assertSameResult(reference.score(set, suspects.get(i), q), answers.get(i).get());
        }
        assertEquals(List.of(1, 3, 3), gated.batchSizes());
    }

    @Test
    void callsThatDifferOnlyInTopKShareABatchAndEachKeepsItsOwnCount() throws Exception {
        Future<ScoreResult> first = occupy(ScoreQuery.defaults(set));
        int[] topKs = {2, 0, 5, 1, 3};
        List<Suspect> suspects = new ArrayList<>();
        List<Future<ScoreResult>> answers = new ArrayList<>();
        for (int k : topKs) {
            Suspect s = suspect();
            suspects.add(s);
            answers.add(callers.submit(() -> engine.score(set, s, ScoreQuery.defaults(set).withTopK(k))));
        }
        awaitQueued(topKs.length);

        gated.openGate();

        first.get();
        for (int i = 0; i < topKs.length; i++) {
            ScoreResult got = answers.get(i).get();
            assertSameResult(reference.score(set, suspects.get(i), ScoreQuery.defaults(set).withTopK(topKs[i])), got);
            assertEquals(topKs[i] == 0 ? 6 : topKs[i], got.matches().size(), "top_k=" + topKs[i]);
        }
        // Read once every answer is in: the batch after the first is run by another caller's thread.
        assertEquals(List.of(1, topKs.length), gated.batchSizes());
    }

    @Test
    void aCallWhoseDeadlinePassesWhileQueuedIsDeadlineExceededAndNeverScored() throws Exception {
        Future<ScoreResult> first = occupy(ScoreQuery.defaults(set));

        ImprintException e = assertThrows(ImprintException.class, () -> engine.score(set, suspect(),
                ScoreQuery.defaults(set), Deadline.after(Duration.ofMillis(100))));

        assertEquals(ImprintException.Code.DEADLINE_EXCEEDED, e.code());
        gated.openGate();
        first.get();
        assertEquals(List.of(1), gated.batchSizes(), "the expired call reached the backend");
        assertEquals(1, engine.info().scoredSuspects());
    }

    @Test
    void aProbeSetDeletedWhileCallsWaitFailsThemAsNotFoundAndKeepsTheTotals() throws Exception {
        Future<ScoreResult> first = occupy(ScoreQuery.defaults(set));
        Future<ScoreResult> waiting = callers.submit(() -> engine.score(set, suspect(), ScoreQuery.defaults(set)));
        awaitQueued(1);
        Future<Integer> deleted = callers.submit(() -> engine.deleteProbeSet(set.id(), true));

        gated.openGate();

        // The first call holds the read lock the delete waits for, so it finishes; the queued one
        // either beats the delete or finds the set gone.
        first.get();
        assertEquals(6, deleted.get());
        try {
            waiting.get();
        } catch (ExecutionException e) {
            ImprintException cause = (ImprintException) e.getCause();
            assertEquals(ImprintException.Code.NOT_FOUND, cause.code(), cause.getMessage());
        }
        assertTrue(engine.info().scoringBatches() >= 1, "the deleted set's batches left the totals");
    }

    private static void assertSameResult(ScoreResult expected, ScoreResult actual) {
        assertEquals(expected.matches().size(), actual.matches().size());
        for (int i = 0; i < expected.matches().size(); i++) {
            assertEquals(expected.matches().get(i).modelId(), actual.matches().get(i).modelId(), "rank " + (i + 1));
            for (Map.Entry<Metric, Double> v : expected.matches().get(i).values().entrySet()) {
                double got = actual.matches().get(i).values().get(v.getKey());
                assertEquals(v.getValue(), got, 1e-6 + 1e-6 * Math.abs(v.getValue()), v.getKey() + " at rank " + (i + 1));
            }
            assertEquals(expected.matches().get(i).perProbe().keySet(), actual.matches().get(i).perProbe().keySet());
        }
        assertEquals(expected.referencesScored(), actual.referencesScored());
        assertEquals(expected.probesUsed(), actual.probesUsed());
    }
}
