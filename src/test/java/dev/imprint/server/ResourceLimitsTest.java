package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.CreateProbeSetRequest;
import dev.imprint.api.v1.GetServerInfoRequest;
import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.Reference;
import dev.imprint.client.ImprintClient;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.testing.TestFingerprints;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each limit of {@link ResourceLimits} through a real server on loopback: past it a call gets
 * RESOURCE_EXHAUSTED with the numbers, and once the work in flight ends the server takes calls again.
 */
class ResourceLimitsTest {
    private static final int P = 6;
    private static final int D = 10;
    private static final long UPLOAD_BYTES = (long) P * D * Float.BYTES;

    @TempDir
    Path dataDir;

    private final TestFingerprints gen = new TestFingerprints(20261207L);
    private ImprintServer server;
    private ManagedChannel channel;

    @Test
    void aThirdConcurrentUploadIsRefusedAndTheNextOneAfterAFinishedUploadGoesThrough() throws IOException {
        start(new ResourceLimits(2, 1 << 20, 100, 100, ProbeSet.MAX_ELEMENTS));
        Held held = holdThenRefuse(() -> Uploads.send(ImprintGrpc.newStub(channel), Uploads.header("s", "c")),
                "a", "b");
        assertEquals("3 uploads in flight, the limit is 2 (serve --max-concurrent-uploads); retry once one has "
                + "finished", held.refused().getDescription());
        CallRecorder<PutReferenceRequest, Reference> first = held.recorders().get(0);
        StreamObserver<PutReferenceRequest> one = held.uploads().get(0);
        StreamObserver<PutReferenceRequest> two = held.uploads().get(1);

        float[] rows = gen.rows(ProbeSetKind.DISTRIBUTION, P, D);
        one.onNext(Uploads.chunk(0, rows, 0, (P - 1) * D));
        one.onCompleted();
        assertTrue(first.await().isOk());
        assertTrue(Uploads.send(ImprintGrpc.newStub(channel), Uploads.header("s", "c"),
                Uploads.chunk(0, rows, 0, rows.length)).isOk());
        two.onError(new RuntimeException("the test gives up"));
        assertServing("a", "c");
    }

    @Test
    void anUploadPastTheBytesInFlightIsRefusedWithTheNumbers() throws IOException {
        start(new ResourceLimits(10, UPLOAD_BYTES + UPLOAD_BYTES / 2, 100, 100, ProbeSet.MAX_ELEMENTS));
        // The held upload can itself be the one refused, when it reaches the server while a probing
        // one is in flight: then it is held again.
        Held held = holdThenRefuse(() -> Uploads.send(ImprintGrpc.newStub(channel), Uploads.header("s", "b")), "a");
        assertEquals("uploads in flight would hold 480 bytes with this one's 240 (num_probes*dim*4), the limit is 360 "
                + "(serve --max-upload-bytes-in-flight); retry once one has finished", held.refused().getDescription());

        held.uploads().get(0).onError(new RuntimeException("the test gives up"));
        float[] rows = gen.rows(ProbeSetKind.DISTRIBUTION, P, D);
        Status later = untilNot(Status.Code.RESOURCE_EXHAUSTED, () -> Uploads.send(ImprintGrpc.newStub(channel),
                Uploads.header("s", "b"), Uploads.chunk(0, rows, 0, rows.length)));
        assertTrue(later.isOk(), later.toString());
        assertServing("b");
    }

    @Test
    void aCallPastTheConcurrentCallsIsRefusedAndServedOnceOthersEnd() throws IOException {
        start(new ResourceLimits(10, 1 << 20, 2, 100, ProbeSet.MAX_ELEMENTS));
        Held held = holdThenRefuse(() -> statusOf(() -> ImprintGrpc.newBlockingStub(channel)
                .getServerInfo(GetServerInfoRequest.getDefaultInstance())), "a", "b");
        assertEquals("3 calls in flight, the limit is 2 (serve --max-concurrent-calls)",
                held.refused().getDescription());
        StreamObserver<PutReferenceRequest> one = held.uploads().get(0);
        StreamObserver<PutReferenceRequest> two = held.uploads().get(1);

        one.onError(new RuntimeException("the test gives up"));
        two.onError(new RuntimeException("the test gives up"));
        assertTrue(untilNot(Status.Code.RESOURCE_EXHAUSTED, () -> statusOf(() -> ImprintGrpc.newBlockingStub(channel)
                .getServerInfo(GetServerInfoRequest.getDefaultInstance()))).isOk());
        assertServing();
    }

    @Test
    void aProbeSetLargerThanTheLimitIsRefusedWithItsSize() throws IOException {
        start(new ResourceLimits(10, 1 << 20, 100, 100, (long) P * D - 1));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ImprintGrpc.newBlockingStub(channel)
                .createProbeSet(CreateProbeSetRequest.newBuilder().setProbeSetId("big").setNumProbes(P).setDim(D)
                        .setKind(dev.imprint.api.v1.ProbeSetKind.EMBEDDING).build()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
        assertEquals("probe set big has num_probes*dim=60 values, the limit is 59 (serve --max-probe-set-values)",
                e.getStatus().getDescription());
        assertServing();
    }

    @Test
    void suspectsPastTheQueueLimitAreRefusedAndTheirShareComesBack() {
        Admission admission = new Admission(new ResourceLimits(10, 1 << 20, 100, 3, ProbeSet.MAX_ELEMENTS));
        Admission.Ticket two = admission.suspects(2);
        ImprintException e = assertThrows(ImprintException.class, () -> admission.suspects(2));
        assertEquals(ImprintException.Code.RESOURCE_EXHAUSTED, e.code());
        assertEquals("4 suspects queued for scoring with this call's 2, the limit is 3 (serve --max-queued-suspects)",
                e.getMessage());
        two.close();
        two.close();
        admission.suspects(3).close();
    }

    @Test
    void scoresWithinTheQueueLimitGoOnOneAfterAnother() throws IOException {
        start(new ResourceLimits(10, 1 << 20, 100, 1, ProbeSet.MAX_ELEMENTS));
        assertServing();
        for (int i = 0; i < 3; i++) {
            assertServing();
        }
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.stop();
        }
    }

    /** Creates probe set s (P x D) with reference "r" and holds it; then, scoring and listing still work. */
    private void assertServing(String... alsoPut) {
        ImprintClient client = new ImprintClient(channel);
        assertEquals(1 + alsoPut.length, client.listReferences("s", Map.of()).size());
        assertEquals(1 + alsoPut.length, client.score("s", gen.rows(ProbeSetKind.DISTRIBUTION, P, D), new int[0],
                ScoreOptions.defaults()).referencesScored());
    }

    /** An upload of model {@code model} that has sent its header and holds its place. */
    private StreamObserver<PutReferenceRequest> open(CallRecorder<PutReferenceRequest, Reference> recorder, String model) {
        StreamObserver<PutReferenceRequest> requests = ImprintGrpc.newStub(channel).putReference(recorder);
        requests.onNext(Uploads.header("s", model));
        float[] rows = gen.rows(ProbeSetKind.DISTRIBUTION, P, D);
        requests.onNext(Uploads.chunk(P - 1, rows, (P - 1) * D, D));
        return requests;
    }

    /** Uploads held past their header, and the status of the call they made the server refuse. */
    private record Held(List<CallRecorder<PutReferenceRequest, Reference>> recorders,
                        List<StreamObserver<PutReferenceRequest>> uploads, Status refused) {}

    /**
     * Holds an upload of each of {@code models} past its header, then repeats {@code call} until
     * the server refuses it with RESOURCE_EXHAUSTED. Separate streams race to the server, so a held
     * upload may reach it after a call and be the one refused: then every held upload is given up
     * and they are held again.
     */
    private Held holdThenRefuse(Supplier<Status> call, String... models) {
        for (int attempt = 0; attempt < 20; attempt++) {
            List<CallRecorder<PutReferenceRequest, Reference>> recorders = new ArrayList<>();
            List<StreamObserver<PutReferenceRequest>> uploads = new ArrayList<>();
            for (String model : models) {
                CallRecorder<PutReferenceRequest, Reference> recorder = new CallRecorder<>();
                recorders.add(recorder);
                uploads.add(open(recorder, model));
            }
            long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (recorders.stream().noneMatch(CallRecorder::isDone) && System.nanoTime() < end) {
                Status s = call.get();
                if (s.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                    return new Held(recorders, uploads, s);
                }
            }
            uploads.forEach(u -> u.onError(new RuntimeException("a held upload was refused; hold them again")));
            untilNot(Status.Code.RESOURCE_EXHAUSTED, call);
        }
        throw new AssertionError("the server never refused the call while " + String.join(", ", models)
                + " were held");
    }

    /** The status of the first of repeated calls not answered with {@code code}. */
    private static Status untilNot(Status.Code code, Supplier<Status> call) {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        Status s;
        do {
            s = call.get();
        } while (s.getCode() == code && System.nanoTime() < end);
        return s;
    }

    private static Status statusOf(Runnable call) {
        try {
            call.run();
            return Status.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
    }

    private void start(ResourceLimits limits) throws IOException {
        ImprintEngine engine = ImprintEngine.open(ArrowFingerprintStore.open(dataDir),
                new SelectedBackend(new CpuBackend(1), "cpu: chosen by the test"));
        ProbeSet set = engine.createProbeSet(ProbeSet.fromRequest("s", P, D, ProbeSetKind.DISTRIBUTION, 0, ""));
        engine.putReference(set.id(), "r", Map.of(), gen.rows(ProbeSetKind.DISTRIBUTION, P, D), false);
        server = new ImprintServer(ImprintServer.nettyBuilder("127.0.0.1", 0), engine,
                ImprintServer.Options.defaults(), limits).start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        // Connected before a test holds calls open, so none of them waits for the connection behind later ones.
        ImprintGrpc.newBlockingStub(channel).getServerInfo(GetServerInfoRequest.getDefaultInstance());
    }
}
