package dev.imprint.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreResult;
import dev.imprint.server.ServerTestBase;
import dev.imprint.testing.OracleAssertions;
import dev.imprint.testing.TestFingerprints;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ImprintClientTest extends ServerTestBase {
    private static final int P = 20;
    private static final int D = 30;

    private ImprintClient client;
    private final TestFingerprints gen = new TestFingerprints(31337L);
    private final List<float[]> refs = new ArrayList<>();

    @BeforeEach
    void addReferences() {
        client = h.client();
        client.createProbeSet(ProbeSet.fromRequest("s", P, D, ProbeSetKind.DISTRIBUTION, 0, ""));
        for (int m = 0; m < 6; m++) {
            refs.add(gen.rows(ProbeSetKind.DISTRIBUTION, P, D));
            client.putReference("s", "m" + m, Map.of("family", m < 3 ? "a" : "b"), refs.get(m), false);
        }
    }

    @Test
    void putReferenceSplitsRowsIntoChunksWithinTheByteBudget() throws Exception {
        int p = 95;
        int d = 100;
        client.createProbeSet(ProbeSet.fromRequest("wide", p, d, ProbeSetKind.EMBEDDING, 0, ""));
        float[] rows = gen.embedding(p, d);
        int before = watcher.messages("PutReference");
        try (ImprintClient small = new ImprintClient(NettyChannelBuilder.forAddress("127.0.0.1", h.server().port())
                .usePlaintext().build(), 4000)) {
            small.putReference("wide", "m", Map.of(), rows, false);
        }
        // 4000 bytes hold 10 rows of 100 floats: 95 rows need 10 chunks, after the header.
        assertEquals(1 + 10, watcher.messages("PutReference") - before);
        ScoreResult self = client.score("wide", rows, new int[0], ScoreOptions.defaults());
        assertEquals(1.0, self.matches().get(0).values().get(Metric.COSINE), 1e-6);
    }

    @Test
    void serverErrorsArriveAsImprintExceptionsWithTheServersCodeAndMessage() {
        ImprintException missing = assertThrows(ImprintException.class, () -> client.getProbeSet("ghost"));
        assertEquals(ImprintException.Code.NOT_FOUND, missing.code());
        assertEquals("probe set ghost does not exist", missing.getMessage());
        assertEquals(ImprintException.Code.INVALID_ARGUMENT,
                assertThrows(ImprintException.class, () -> client.getReference("s", "../x")).code());
        assertEquals(ImprintException.Code.FAILED_PRECONDITION,
                assertThrows(ImprintException.class, () -> client.deleteProbeSet("s", false)).code());
        ImprintException shape = assertThrows(ImprintException.class,
                () -> client.putReference("s", "short", Map.of(), new float[(P - 1) * D], false));
        assertEquals(ImprintException.Code.INVALID_ARGUMENT, shape.code());
    }

    @Test
    void scoreStreamScoresManySuspectsInOrderWithAtMostMaxInFlightUnanswered() {
        int maxInFlight = 4;
        List<ImprintClient.SuspectInput> suspects = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            int[] probes = i % 3 == 0 ? new int[0] : gen.shuffledSubset(P, 1 + i % P);
            float[] full = gen.near(ProbeSetKind.DISTRIBUTION, refs.get(i % 6), D, 0.1);
            float[] rows = probes.length == 0 ? full : TestFingerprints.selectRows(full, D, probes);
            suspects.add(new ImprintClient.SuspectInput("s" + i, rows, probes));
        }
        ScoreOptions options = ScoreOptions.defaults().withMetrics(EnumSet.of(Metric.KL_REF_SUSPECT, Metric.JS))
                .withTopK(3);
        List<ImprintClient.SuspectInput> order = new ArrayList<>();
        List<ScoreResult> results = new ArrayList<>();
        int base = watcher.messages("ScoreStream");
        int scored = client.scoreStream("s", suspects, options, maxInFlight, (input, result) -> {
            int read = watcher.messages("ScoreStream") - base;
            assertTrue(read <= results.size() + maxInFlight,
                    "server read " + read + " requests when " + results.size() + " were answered");
            order.add(input);
            results.add(result);
        });
        assertEquals(suspects.size(), scored);
        assertEquals(suspects, order);
        for (int i = 0; i < suspects.size(); i++) {
            ScoreResult unary = client.score("s", suspects.get(i).rows(), suspects.get(i).probeIndices(), options);
            assertSameScores(unary, results.get(i), "suspect " + i);
            assertEquals("m" + (i % 6), results.get(i).matches().get(0).modelId(), "suspect " + i);
        }
    }

    /**
     * The same ranking and metrics within the contract's tolerance: the server batches stream
     * requests, and a backend may round a batched product differently from a single one.
     */
    private static void assertSameScores(ScoreResult expected, ScoreResult actual, String what) {
        assertEquals(List.of(expected.probeSetId(), expected.probesUsed(), expected.referencesScored(),
                expected.backend(), expected.orderBy()), List.of(actual.probeSetId(), actual.probesUsed(),
                actual.referencesScored(), actual.backend(), actual.orderBy()), what);
        assertEquals(expected.matches().size(), actual.matches().size(), what);
        for (int m = 0; m < expected.matches().size(); m++) {
            Match e = expected.matches().get(m);
            Match a = actual.matches().get(m);
            assertEquals(List.of(e.modelId(), e.rank(), e.labels(), e.values().keySet()),
                    List.of(a.modelId(), a.rank(), a.labels(), a.values().keySet()), what);
            for (Metric metric : e.values().keySet()) {
                OracleAssertions.assertClose(metric, e.values().get(metric), a.values().get(metric),
                        what + " " + e.modelId() + " " + metric);
            }
        }
    }

    @Test
    void scoreStreamThrowsTheFirstBadRequestsErrorAfterDeliveringEveryEarlierResult() {
        List<ImprintClient.SuspectInput> suspects = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            float[] rows = refs.get(i % 6).clone();
            if (i == 17) {
                rows[5] = -rows[5] - 0.5f;
            }
            suspects.add(new ImprintClient.SuspectInput("s" + i, rows, new int[0]));
        }
        List<String> delivered = new ArrayList<>();
        ImprintException e = assertThrows(ImprintException.class, () -> client.scoreStream("s", suspects,
                ScoreOptions.defaults(), (input, result) -> delivered.add(input.requestId())));
        assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().startsWith("request_id='s17' (message 18): suspect row 0 column 5"), e.getMessage());
        assertEquals(17, delivered.size());
        assertEquals("s16", delivered.get(16));
    }

    @Test
    void aFailingSinkCancelsTheStreamAndItsExceptionReachesTheCaller() {
        List<ImprintClient.SuspectInput> suspects = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            suspects.add(new ImprintClient.SuspectInput("s" + i, refs.get(i % 6), new int[0]));
        }
        IllegalStateException boom = new IllegalStateException("disk full");
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> client.scoreStream("s", suspects,
                ScoreOptions.defaults(), 2, (input, result) -> {
                    if (input.requestId().equals("s5")) {
                        throw boom;
                    }
                }));
        assertSame(boom, thrown);
        // The channel is still usable afterwards.
        assertEquals(6, client.referenceCount("s"));
    }
}
