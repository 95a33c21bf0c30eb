package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.GetServerInfoRequest;
import dev.imprint.api.v1.Match;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ScoreResponse;
import dev.imprint.api.v1.ServerInfo;
import dev.imprint.client.ImprintClient;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.engine.ScoreBatching;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.testing.GatedBackend;
import dev.imprint.testing.TestFingerprints;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The dynamic batcher seen through a real server: unary and streamed calls share batches, deadlines hold. */
@Timeout(60)
class ScoreBatchingTest {
    private static final int P = 8;
    private static final int D = 20;

    @TempDir
    Path dataDir;

    private final TestFingerprints gen = new TestFingerprints(5150L);
    private final ExecutorService callers = Executors.newCachedThreadPool();
    private final GatedBackend gated = new GatedBackend(new CpuBackend(1));
    private ServerHarness h;

    @BeforeEach
    void startServer() throws Exception {
        h = ServerHarness.start(dataDir, () -> gated, new ScoreBatching(64, Duration.ZERO));
        h.client().createProbeSet(ProbeSet.fromRequest("s", P, D, ProbeSetKind.DISTRIBUTION, 0, ""));
        for (int m = 0; m < 4; m++) {
            h.client().putReference("s", "m" + m, Map.of(), gen.rows(ProbeSetKind.DISTRIBUTION, P, D), false);
        }
    }

    @AfterEach
    void stopServer() throws Exception {
        gated.openGate();
        callers.shutdownNow();
        h.close();
    }

    private ScoreRequest request(String id) {
        return ScoreRequest.newBuilder().setRequestId(id).setProbeSetId("s")
                .setSuspect(ProtoMapper.matrix(P, D, gen.rows(ProbeSetKind.DISTRIBUTION, P, D))).build();
    }

    private ServerInfo info() {
        return h.stub().getServerInfo(GetServerInfoRequest.getDefaultInstance());
    }

    /** Shuts the gate and sends one Score call, which waits inside the backend. */
    private Future<ScoreResponse> occupy() throws InterruptedException {
        gated.shutGate();
        ScoreRequest first = request("first");
        Future<ScoreResponse> f = callers.submit(() -> h.stub().score(first));
        gated.awaitEntered(1);
        return f;
    }

    private void awaitQueued(int calls) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (info().getScoringQueued() < calls) {
            assertTrue(System.nanoTime() < until, info().getScoringQueued() + " of " + calls + " calls queued");
            Thread.sleep(2);
        }
    }

    private void awaitQueueEmpty(String failure) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (info().getScoringQueued() != 0) {
            assertTrue(System.nanoTime() < until, failure);
            Thread.sleep(2);
        }
    }

    @Test
    void concurrentScoreCallsAndAStreamShareBatchesAndGetTheirOwnAnswers() throws Exception {
        Future<ScoreResponse> first = occupy();
        List<ScoreRequest> unary = new ArrayList<>();
        List<Future<ScoreResponse>> answers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            ScoreRequest r = request("u" + i);
            unary.add(r);
            answers.add(callers.submit(() -> h.stub().score(r)));
        }
        List<ScoreRequest> streamed = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            streamed.add(request("s" + i));
        }
        CallRecorder<ScoreRequest, ScoreResponse> recorder = new CallRecorder<>();
        StreamObserver<ScoreRequest> out = h.asyncStub().scoreStream(recorder);
        streamed.forEach(out::onNext);
        out.onCompleted();
        // Eight unary calls and at least the stream's first run of requests.
        awaitQueued(9);

        gated.openGate();

        first.get();
        assertEquals(Status.Code.OK, recorder.await().getCode());
        for (Future<ScoreResponse> answer : answers) {
            answer.get();
        }
        // Read once every answer is in (later batches run on other callers' threads), before the
        // unbatched comparison calls below add batches of their own.
        List<Integer> sizes = gated.batchSizes();
        assertTrue(sizes.size() >= 2 && sizes.get(1) >= 9, "unary and streamed suspects did not share a batch: " + sizes);
        assertEquals(13, sizes.stream().mapToInt(Integer::intValue).sum());
        // Unbatched answers to compare with: one call at a time, the gate open.
        for (int i = 0; i < unary.size(); i++) {
            assertSameScores(h.stub().score(unary.get(i)), answers.get(i).get());
        }
        for (int i = 0; i < streamed.size(); i++) {
            assertSameScores(h.stub().score(streamed.get(i)), recorder.responses().get(i));
        }
        ServerInfo info = info();
        assertEquals(64, info.getBatchMaxSuspects());
        assertEquals(0, info.getBatchMaxQueueDelayUs());
        assertEquals(sizes.size() + 12, info.getScoringBatches());
        assertEquals(13 + 12, info.getScoredSuspects());
        assertEquals(0, info.getScoringQueued());
    }

    @Test
    void aScoreCallWhoseDeadlinePassesInTheQueueIsDeadlineExceededAndNeverScored() throws Exception {
        Future<ScoreResponse> first = occupy();

        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> h.stub().withDeadlineAfter(150, TimeUnit.MILLISECONDS).score(request("late")));

        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
        // The server gives up on it too: once it has, nothing waits behind the first call.
        awaitQueueEmpty("the expired call is still queued on the server");
        gated.openGate();
        first.get();
        assertEquals(List.of(1), gated.batchSizes(), "the expired call was scored");
        assertEquals(1, info().getScoredSuspects());
    }

    @Test
    void aClientCallTimeoutEndsAQueuedScoreWithDeadlineExceededAndTheServerDropsIt() throws Exception {
        Future<ScoreResponse> first = occupy();
        try (ImprintClient impatient = new ImprintClient(NettyChannelBuilder.forAddress("127.0.0.1", h.server().port())
                .usePlaintext().build(), ImprintClient.DEFAULT_CHUNK_BYTES, Duration.ofMillis(200))) {
            long start = System.nanoTime();

            ImprintException e = assertThrows(ImprintException.class, () -> impatient.score("s",
                    gen.rows(ProbeSetKind.DISTRIBUTION, P, D), new int[0], ScoreOptions.defaults()));

            assertEquals(ImprintException.Code.DEADLINE_EXCEEDED, e.code(), e.getMessage());
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "the timeout did not bound the call");
            // Calls that need no batch still answer within it.
            assertEquals(4, impatient.listReferences("s", Map.of()).size());
        }
        awaitQueueEmpty("the timed-out call is still queued on the server");
        gated.openGate();
        first.get();
        assertEquals(List.of(1), gated.batchSizes(), "the timed-out call was scored");
    }

    /** Equal but for float rounding: a batch of many suspects goes through a matrix product, one alone through a matrix-vector one. */
    private static void assertSameScores(ScoreResponse expected, ScoreResponse actual) {
        String id = actual.getRequestId();
        assertEquals(expected.getRequestId(), id);
        assertEquals(expected.getMatchesCount(), actual.getMatchesCount(), id);
        for (int i = 0; i < expected.getMatchesCount(); i++) {
            Match e = expected.getMatches(i);
            Match a = actual.getMatches(i);
            assertEquals(e.getModelId(), a.getModelId(), id + " rank " + (i + 1));
            assertEquals(e.getCosine(), a.getCosine(), 1e-6, id);
            assertEquals(e.getKlRefSuspect(), a.getKlRefSuspect(), 1e-6 * Math.abs(e.getKlRefSuspect()), id);
            assertEquals(e.getKlSuspectRef(), a.getKlSuspectRef(), 1e-6 * Math.abs(e.getKlSuspectRef()), id);
            assertEquals(e.getTop1Agreement(), a.getTop1Agreement(), id);
        }
        assertEquals(expected.getReferencesScored(), actual.getReferencesScored(), id);
    }
}
