package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.Reference;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreResult;
import dev.imprint.testing.TestFingerprints;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PutReferenceTest extends ServerTestBase {
    private final TestFingerprints gen = new TestFingerprints(99L);

    @Test
    void uploadFarLargerThanTheMessageLimitSucceedsThroughChunks() {
        int p = 64;
        int d = 32768;
        h.client().createProbeSet(ProbeSet.fromRequest("big", p, d, ProbeSetKind.DISTRIBUTION, 0, ""));
        float[] rows = gen.distribution(p, d, TestFingerprints.Shape.DENSE);
        assertTrue((long) rows.length * Float.BYTES >= 8L * ServerHarness.TEST_MESSAGE_LIMIT);

        h.client().putReference("big", "huge", Map.of("size", "8MiB"), rows, false);

        // At most half the 1 MiB limit per chunk: 128 KiB rows, 4 per chunk, 16 chunks and the header.
        assertEquals(1 + 16, watcher.messages("PutReference"));
        assertEquals(List.of("huge"), h.client().listReferences("big", Map.of()).stream()
                .map(r -> r.modelId()).toList());
        // The stored rows are the uploaded ones: scoring them against themselves is a perfect match.
        int[] probes = {0, 17, 63};
        ScoreResult self = h.client().score("big", TestFingerprints.selectRows(rows, d, probes), probes,
                ScoreOptions.defaults().withMetrics(EnumSet.of(Metric.COSINE, Metric.TOP1_AGREEMENT)));
        assertEquals(1.0, self.matches().get(0).values().get(Metric.COSINE), 1e-5);
        assertEquals(1.0, self.matches().get(0).values().get(Metric.TOP1_AGREEMENT));
    }

    @Test
    void aSuspectFarLargerThanTheMessageLimitIsScoredThroughParts() {
        int p = 64;
        int d = 32768;
        h.client().createProbeSet(ProbeSet.fromRequest("big", p, d, ProbeSetKind.DISTRIBUTION, 0, ""));
        float[] reference = gen.distribution(p, d, TestFingerprints.Shape.DENSE);
        h.client().putReference("big", "huge", Map.of(), reference, false);
        float[] suspect = gen.distribution(p, d, TestFingerprints.Shape.DENSE);
        assertTrue((long) suspect.length * Float.BYTES >= 8L * ServerHarness.TEST_MESSAGE_LIMIT);

        List<ScoreResult> got = new java.util.ArrayList<>();
        int scored = h.client().scoreStream("big", List.of(new dev.imprint.client.ImprintClient.SuspectInput("s",
                suspect, new int[0])), ScoreOptions.defaults(), (input, result) -> got.add(result));
        assertEquals(1, scored);
        // At most half the 1 MiB limit per part: 4 rows of 128 KiB each, 16 parts.
        assertEquals(16, watcher.messages("ScoreStream"));
        ScoreResult direct = h.engine().score(h.engine().getProbeSet("big"),
                dev.imprint.core.Suspect.of(h.engine().getProbeSet("big"), p, d, suspect, new int[0]),
                dev.imprint.core.ScoreQuery.defaults(h.engine().getProbeSet("big")));
        assertEquals(direct.matches().get(0).values(), got.get(0).matches().get(0).values());
    }

    @Test
    void aSingleMessageOverTheLimitIsResourceExhaustedAndChangesNothing() throws Exception {
        int d = 1024;
        int p = 512;
        h.client().createProbeSet(ProbeSet.fromRequest("s", p, d, ProbeSetKind.EMBEDDING, 0, ""));
        float[] rows = gen.embedding(p, d);
        ServerHarness.Snapshot before = h.snapshot();

        StatusRuntimeException score = assertThrows(StatusRuntimeException.class, () -> h.stub().score(
                ScoreRequest.newBuilder().setProbeSetId("s").setSuspect(ProtoMapper.matrix(p, d, rows)).build()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, score.getStatus().getCode(), score.toString());

        Status upload = Uploads.send(h.asyncStub(), Uploads.header("s", "m"), Uploads.chunk(0, rows, 0, rows.length));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, upload.getCode(), upload.toString());
        assertEquals(before, h.snapshot());
    }

    @Test
    void aCancelledUploadLeavesNothingBehind() throws Exception {
        int p = 40;
        int d = 64;
        h.client().createProbeSet(ProbeSet.fromRequest("s", p, d, ProbeSetKind.DISTRIBUTION, 0, ""));
        float[] rows = gen.rows(ProbeSetKind.DISTRIBUTION, p, d);
        ServerHarness.Snapshot before = h.snapshot();

        CallRecorder<PutReferenceRequest, Reference> upload = new CallRecorder<>();
        StreamObserver<PutReferenceRequest> requests = h.asyncStub().putReference(upload);
        requests.onNext(Uploads.header("s", "gone"));
        for (int first = 0; first < p / 2; first += 5) {
            requests.onNext(Uploads.chunk(first, rows, first * d, 5 * d));
        }
        watcher.awaitMessages("PutReference", 1 + 4);
        upload.requests().cancel("the user changed their mind", null);
        watcher.awaitCancel();

        assertEquals(Status.Code.CANCELLED, upload.await().getCode());
        assertTrue(h.client().listReferences("s", Map.of()).isEmpty());
        assertTrue(ServerHarness.files(dataDir).keySet().stream().noneMatch(f -> f.contains("gone")),
                ServerHarness.files(dataDir).toString());
        assertEquals(before, h.snapshot());
    }

    @Test
    void chunksMayArriveInAnyOrder() throws Exception {
        int p = 9;
        int d = 8;
        h.client().createProbeSet(ProbeSet.fromRequest("s", p, d, ProbeSetKind.EMBEDDING, 0, ""));
        float[] rows = gen.embedding(p, d);
        Status status = Uploads.send(h.asyncStub(), Uploads.header("s", "m"), Uploads.chunk(6, rows, 6 * d, 3 * d),
                Uploads.chunk(0, rows, 0, 2 * d), Uploads.chunk(2, rows, 2 * d, 4 * d));
        assertEquals(Status.Code.OK, status.getCode(), status.toString());
        ScoreResult self = h.client().score("s", rows, new int[0], ScoreOptions.defaults().withPerProbe(true));
        for (double cosine : self.matches().get(0).perProbe().get(Metric.COSINE)) {
            assertEquals(1.0, cosine, 1e-6);
        }
    }

    @Test
    void rowsAsLittleEndianBytesAndAsPackedFloatsStoreTheSameReference() throws Exception {
        int p = 7;
        int d = 10;
        h.client().createProbeSet(ProbeSet.fromRequest("s", p, d, ProbeSetKind.DISTRIBUTION, 0, ""));
        float[] rows = gen.rows(ProbeSetKind.DISTRIBUTION, p, d);
        // Bytes built as numpy's tobytes() would: little-endian float32, independent of ProtoMapper.
        java.nio.ByteBuffer le = java.nio.ByteBuffer.allocate(4 * d * Float.BYTES).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 4 * d; i++) {
            le.putFloat(rows[i]);
        }
        Status bytes = Uploads.send(h.asyncStub(), Uploads.header("s", "bytes"),
                PutReferenceRequest.newBuilder().setRows(dev.imprint.api.v1.RowChunk.newBuilder().setFirstRow(0)
                        .setData(com.google.protobuf.ByteString.copyFrom(le.array()))).build(),
                PutReferenceRequest.newBuilder().setRows(ProtoMapper.packedRowChunk(4, rows, 4 * d, 3 * d)).build());
        assertEquals(Status.Code.OK, bytes.getCode(), bytes.toString());
        Status packed = Uploads.send(h.asyncStub(), Uploads.header("s", "packed"),
                PutReferenceRequest.newBuilder().setRows(ProtoMapper.packedRowChunk(0, rows, 0, p * d)).build());
        assertEquals(Status.Code.OK, packed.getCode(), packed.toString());
        ScoreResult scored = h.client().score("s", rows, new int[0], ScoreOptions.defaults());
        assertEquals(2, scored.matches().size());
        for (Match m : scored.matches()) {
            assertEquals(0.0, m.values().get(Metric.KL_REF_SUSPECT), 1e-6, m.modelId() + " holds the rows sent");
        }
    }

    @Test
    void replaceOverwritesAndWithoutItAClashIsAlreadyExists() {
        int p = 5;
        int d = 12;
        h.client().createProbeSet(ProbeSet.fromRequest("s", p, d, ProbeSetKind.DISTRIBUTION, 0, ""));
        float[] first = gen.rows(ProbeSetKind.DISTRIBUTION, p, d);
        float[] second = gen.rows(ProbeSetKind.DISTRIBUTION, p, d);
        h.client().putReference("s", "m", Map.of("v", "1"), first, false);
        ServerHarness.Snapshot before = h.snapshot();

        ImprintException clash = assertThrows(ImprintException.class,
                () -> h.client().putReference("s", "m", Map.of("v", "2"), second, false));
        assertEquals(ImprintException.Code.ALREADY_EXISTS, clash.code());
        assertTrue(clash.getMessage().contains("set replace to overwrite it"), clash.getMessage());
        assertEquals(before, h.snapshot());

        h.client().putReference("s", "m", Map.of("v", "2"), second, true);
        assertEquals(Map.of("v", "2"), h.client().getReference("s", "m").labels());
        Match self = h.client().score("s", second, new int[0], ScoreOptions.defaults()).matches().get(0);
        assertEquals(1.0, self.values().get(Metric.COSINE), 1e-6);
        assertEquals(1, h.client().referenceCount("s"));
    }
}
