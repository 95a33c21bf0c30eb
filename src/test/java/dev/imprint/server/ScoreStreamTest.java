package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ScoreResponse;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.testing.TestFingerprints;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ScoreStreamTest extends ServerTestBase {
    private static final int P = 16;
    private static final int D = 24;

    private final TestFingerprints gen = new TestFingerprints(4242L);
    private final List<float[]> refs = new ArrayList<>();

    @BeforeEach
    void addReferences() {
        h.client().createProbeSet(ProbeSet.fromRequest("s", P, D, ProbeSetKind.DISTRIBUTION, 0, ""));
        for (int m = 0; m < 5; m++) {
            refs.add(gen.rows(ProbeSetKind.DISTRIBUTION, P, D));
            h.client().putReference("s", "m" + m, Map.of("i", Integer.toString(m)), refs.get(m), false);
        }
    }

    @Test
    void answersEveryRequestInOrderWithItsRequestIdAndTheUnaryAnswer() throws Exception {
        List<ScoreRequest> requests = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            requests.add(request("r-" + i, gen.near(ProbeSetKind.DISTRIBUTION, refs.get(i % 5), D, 0.2))
                    .setTopK(i % 4).setIncludePerProbe(i % 7 == 0).build());
        }
        Collected got = stream(requests);
        assertEquals(Status.Code.OK, got.status.getCode(), got.status.toString());
        assertEquals(requests.size(), got.responses.size());
        for (int i = 0; i < requests.size(); i++) {
            assertEquals(h.stub().score(requests.get(i)), got.responses.get(i), "response " + i);
        }
    }

    @Test
    void aBadRequestEndsTheStreamWithItsStatusNamingTheRequestIdAfterAnsweringTheEarlierOnes() throws Exception {
        List<ScoreRequest> requests = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            float[] rows = refs.get(i % 5).clone();
            if (i == 6) {
                rows[3 * D + 2] = Float.NaN;
            }
            requests.add(request("q" + i, rows).build());
        }
        Collected got = stream(requests);
        assertEquals(List.of("q0", "q1", "q2", "q3", "q4", "q5"),
                got.responses.stream().map(ScoreResponse::getRequestId).toList());
        assertEquals(Status.Code.INVALID_ARGUMENT, got.status.getCode());
        assertEquals("request_id='q6' (message 7): suspect row 3 column 2 is NaN; values must be finite",
                got.status.getDescription());
    }

    @Test
    void anUnknownProbeSetInsideTheStreamIsNotFoundNamingTheRequestId() throws Exception {
        Collected got = stream(List.of(request("ok", refs.get(0)).build(),
                request("lost", refs.get(1)).setProbeSetId("ghost").build()));
        assertEquals(1, got.responses.size());
        assertEquals(Status.Code.NOT_FOUND, got.status.getCode());
        assertTrue(got.status.getDescription().startsWith("request_id='lost' (message 2): probe set ghost"),
                got.status.getDescription());
    }

    @Test
    void aClientThatStopsReadingStopsTheServerFromReadingMore() throws Exception {
        int total = 3000;
        List<ScoreRequest> requests = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            // Per-probe values make each response large (about 4 KiB), so unread ones fill the windows fast.
            requests.add(request("f" + i, refs.get(i % 5)).setIncludePerProbe(true).build());
        }
        CallRecorder<ScoreRequest, ScoreResponse> recorder = new CallRecorder<>(0);
        StreamObserver<ScoreRequest> out = h.asyncStub().scoreStream(recorder);
        for (ScoreRequest r : requests) {
            out.onNext(r);
        }
        out.onCompleted();

        int read = awaitPlateau();
        assertTrue(read < total / 2, "the server read " + read + " of " + total
                + " requests although the client read no response");
        recorder.requests().request(Integer.MAX_VALUE);
        assertEquals(Status.Code.OK, recorder.await().getCode());
        assertEquals(total, recorder.responses().size());
        assertEquals("f" + (total - 1), recorder.responses().get(total - 1).getRequestId());
    }

    /** Waits until the server has stopped reading ScoreStream requests for a while; returns how many it read. */
    private int awaitPlateau() throws InterruptedException {
        int last = -1;
        int now = watcher.messages("ScoreStream");
        while (now != last) {
            last = now;
            Thread.sleep(500);
            now = watcher.messages("ScoreStream");
        }
        return now;
    }

    @Test
    void aSuspectSentInPartsIsScoredAsIfSentWhole() throws Exception {
        float[] rows = gen.near(ProbeSetKind.DISTRIBUTION, refs.get(2), D, 0.2);
        ScoreRequest whole = request("big", rows).setTopK(3).setAttribution(false).build();
        List<ScoreRequest> parts = dev.imprint.client.ImprintClient.parts(whole, 5 * D * Float.BYTES);
        assertEquals(4, parts.size(), "16 rows in parts of 5");
        assertEquals(List.of(true, true, true, false), parts.stream().map(ScoreRequest::getContinued).toList());
        // With probe indices too: the last 6 probes, in reverse order, in parts of 4.
        int[] subset = {15, 14, 13, 12, 11, 10};
        float[] subsetRows = new float[subset.length * D];
        for (int i = 0; i < subset.length; i++) {
            System.arraycopy(rows, subset[i] * D, subsetRows, i * D, D);
        }
        ScoreRequest.Builder indexed = ScoreRequest.newBuilder().setRequestId("sub").setProbeSetId("s")
                .setSuspect(ProtoMapper.matrix(subset.length, D, subsetRows));
        for (int p : subset) {
            indexed.addProbeIndices(p);
        }
        List<ScoreRequest> indexedParts = dev.imprint.client.ImprintClient.parts(indexed.build(), 4 * D * Float.BYTES);
        assertEquals(2, indexedParts.size());
        List<ScoreRequest> all = new ArrayList<>(parts);
        all.add(request("small", refs.get(0)).build());
        all.addAll(indexedParts);
        Collected got = stream(all);
        assertEquals(Status.Code.OK, got.status.getCode(), got.status.toString());
        assertEquals(List.of(h.stub().score(whole), h.stub().score(request("small", refs.get(0)).build()),
                h.stub().score(indexed.build())), got.responses);
    }

    @Test
    void partsThatDoNotContinueEachOtherEndTheStreamNamingTheRequest() throws Exception {
        ScoreRequest whole = request("big", refs.get(1)).build();
        List<ScoreRequest> parts = dev.imprint.client.ImprintClient.parts(whole, 8 * D * Float.BYTES);
        Collected interleaved = stream(List.of(request("first", refs.get(0)).build(), parts.get(0),
                request("other", refs.get(3)).build()));
        assertEquals(List.of("first"), interleaved.responses.stream().map(ScoreResponse::getRequestId).toList());
        assertEquals(Status.Code.INVALID_ARGUMENT, interleaved.status.getCode());
        assertTrue(interleaved.status.getDescription().contains(
                "request_id=other arrived while the parts of request_id=big were unfinished"),
                interleaved.status.getDescription());

        Collected changed = stream(List.of(parts.get(0), parts.get(1).toBuilder().setTopK(7).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, changed.status.getCode());
        assertTrue(changed.status.getDescription().contains("its parts differ in probe set or options"),
                changed.status.getDescription());

        Collected unfinished = stream(List.of(parts.get(0)));
        assertEquals(Status.Code.INVALID_ARGUMENT, unfinished.status.getCode());
        assertTrue(unfinished.status.getDescription().contains("the stream ended inside a suspect sent in parts"),
                unfinished.status.getDescription());

        io.grpc.StatusRuntimeException unary = org.junit.jupiter.api.Assertions.assertThrows(
                io.grpc.StatusRuntimeException.class, () -> h.stub().score(parts.get(0)));
        assertEquals(Status.Code.INVALID_ARGUMENT, unary.getStatus().getCode());
        assertTrue(unary.getStatus().getDescription().contains("continued is for suspects sent in parts on ScoreStream"));
    }

    private ScoreRequest.Builder request(String id, float[] rows) {
        return ScoreRequest.newBuilder().setRequestId(id).setProbeSetId("s").setSuspect(ProtoMapper.matrix(P, D, rows));
    }

    private record Collected(List<ScoreResponse> responses, Status status) {
    }

    private Collected stream(List<ScoreRequest> requests) {
        CallRecorder<ScoreRequest, ScoreResponse> recorder = new CallRecorder<>();
        StreamObserver<ScoreRequest> out = h.asyncStub().scoreStream(recorder);
        for (ScoreRequest r : requests) {
            out.onNext(r);
        }
        out.onCompleted();
        Status status = recorder.await();
        return new Collected(recorder.responses(), status);
    }
}
