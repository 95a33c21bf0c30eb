package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.Reference;
import dev.imprint.client.ImprintClient;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreResult;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.testing.TestFingerprints;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerLifecycleTest extends ServerTestBase {
    private final TestFingerprints gen = new TestFingerprints(555L);

    @Test
    void healthIsServingForTheServerAndTheImprintService() {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(h.channel());
        assertEquals(ServingStatus.SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
        assertEquals(ServingStatus.SERVING, health.check(HealthCheckRequest.newBuilder()
                .setService(ImprintServer.SERVICE_NAME).build()).getStatus());
    }

    @Test
    void servesOverAnInjectedInProcessBuilder(@TempDir Path otherDir) throws Exception {
        String name = InProcessServerBuilder.generateName();
        ImprintServer server = new ImprintServer(InProcessServerBuilder.forName(name),
                ImprintEngine.open(ArrowFingerprintStore.open(otherDir), new SelectedBackend(new CpuBackend(1), "cpu: test")),
                ImprintServer.Options.defaults()).start();
        ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
        try (ImprintClient client = new ImprintClient(channel)) {
            client.createProbeSet(ProbeSet.fromRequest("x", 2, 3, ProbeSetKind.EMBEDDING, 0, ""));
            assertEquals(List.of("x"), client.listProbeSets().stream().map(ProbeSet::id).toList());
            assertEquals(ImprintServer.DEFAULT_MAX_INBOUND_MESSAGE_BYTES,
                    client.getServerInfo().getMaxInboundMessageBytes());
        } finally {
            server.stop();
        }
    }

    @Test
    void reflectionListsTheImprintAndHealthServices() throws Exception {
        CallRecorder<ServerReflectionRequest, ServerReflectionResponse> reflection = new CallRecorder<>();
        StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(h.channel())
                .serverReflectionInfo(reflection);
        requests.onNext(ServerReflectionRequest.newBuilder().setListServices("*").build());
        requests.onCompleted();
        assertEquals(Status.Code.OK, reflection.await().getCode());
        List<String> services = reflection.responses().get(0).getListServicesResponse().getServiceList().stream()
                .map(ServiceResponse::getName).toList();
        assertTrue(services.containsAll(List.of("imprint.v1.Imprint", "grpc.health.v1.Health")), services.toString());
    }

    @Test
    void reflectionAnswersV1AlphaClientsToo() throws Exception {
        CallRecorder<io.grpc.reflection.v1alpha.ServerReflectionRequest,
                io.grpc.reflection.v1alpha.ServerReflectionResponse> reflection = new CallRecorder<>();
        StreamObserver<io.grpc.reflection.v1alpha.ServerReflectionRequest> requests =
                io.grpc.reflection.v1alpha.ServerReflectionGrpc.newStub(h.channel()).serverReflectionInfo(reflection);
        requests.onNext(io.grpc.reflection.v1alpha.ServerReflectionRequest.newBuilder().setListServices("*").build());
        requests.onCompleted();
        assertEquals(Status.Code.OK, reflection.await().getCode());
        List<String> services = reflection.responses().get(0).getListServicesResponse().getServiceList().stream()
                .map(io.grpc.reflection.v1alpha.ServiceResponse::getName).toList();
        assertTrue(services.contains("imprint.v1.Imprint"), services.toString());
    }

    @Test
    void stopReportsNotServingBeforeShuttingDown() throws Exception {
        BlockingQueue<Object> seen = new LinkedBlockingQueue<>();
        ClientCallStreamObserver<?>[] watch = new ClientCallStreamObserver<?>[1];
        HealthGrpc.newStub(h.channel()).watch(HealthCheckRequest.newBuilder().setService(ImprintServer.SERVICE_NAME)
                .build(), new ClientResponseObserver<HealthCheckRequest, HealthCheckResponse>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<HealthCheckRequest> call) {
                        watch[0] = call;
                    }

                    @Override
                    public void onNext(HealthCheckResponse value) {
                        seen.add(value.getStatus());
                    }

                    @Override
                    public void onError(Throwable t) {
                        seen.add(Status.fromThrowable(t).getCode());
                    }

                    @Override
                    public void onCompleted() {
                        seen.add(Status.Code.OK);
                    }
                });
        assertEquals(ServingStatus.SERVING, seen.poll(10, TimeUnit.SECONDS));
        Thread stopper = stopInBackground();
        assertEquals(ServingStatus.NOT_SERVING, seen.poll(10, TimeUnit.SECONDS));
        // The watch is an in-flight call: ending it lets the graceful shutdown finish before its grace period.
        watch[0].cancel("seen enough", null);
        stopper.join(10_000);
        assertTrue(!stopper.isAlive(), "stop() did not return");
        StatusRuntimeException after = assertThrows(StatusRuntimeException.class, () -> h.client().listProbeSets()
                .size());
        assertEquals(Status.Code.UNAVAILABLE, after.getStatus().getCode());
    }

    @Test
    void stopLetsAnInFlightUploadFinishAndItSurvivesTheRestart() throws Exception {
        int p = 8;
        int d = 16;
        h.client().createProbeSet(ProbeSet.fromRequest("s", p, d, ProbeSetKind.EMBEDDING, 0, ""));
        float[] rows = gen.embedding(p, d);
        CallRecorder<PutReferenceRequest, Reference> recorder = new CallRecorder<>();
        StreamObserver<PutReferenceRequest> upload = h.asyncStub().putReference(recorder);
        upload.onNext(Uploads.header("s", "late"));
        upload.onNext(Uploads.chunk(0, rows, 0, 4 * d));
        // Only a call the server has started is in flight; one still on the wire would be refused.
        watcher.awaitMessages("PutReference", 2);

        Thread stopper = stopInBackground();
        awaitRefusingNewCalls();
        upload.onNext(Uploads.chunk(4, rows, 4 * d, 4 * d));
        upload.onCompleted();
        assertEquals(Status.Code.OK, recorder.await().getCode());
        stopper.join(10_000);

        h.restart();
        assertEquals("late", h.client().getReference("s", "late").modelId());
    }

    @Test
    void restartOverTheSameDataDirectoryRestoresEverything() throws Exception {
        h.client().createProbeSet(ProbeSet.fromRequest("d", 10, 32, ProbeSetKind.DISTRIBUTION, 0.001, "dist"));
        h.client().createProbeSet(ProbeSet.fromRequest("e", 6, 20, ProbeSetKind.EMBEDDING, 0, "emb"));
        h.client().createProbeSet(ProbeSet.fromRequest("empty", 3, 3, ProbeSetKind.EMBEDDING, 0, ""));
        float[] suspectD = null;
        for (int m = 0; m < 4; m++) {
            float[] rows = gen.rows(ProbeSetKind.DISTRIBUTION, 10, 32);
            suspectD = gen.near(ProbeSetKind.DISTRIBUTION, rows, 32, 0.3);
            h.client().putReference("d", "dm" + m, Map.of("family", "f" + (m % 2)), rows, false);
            h.client().putReference("e", "em" + m, Map.of(), gen.embedding(6, 20), false);
        }
        h.client().deleteReference("e", "em2");
        ServerHarness.Snapshot before = h.snapshot();
        ScoreResult scoreBefore = h.client().score("d", suspectD, new int[0], ScoreOptions.defaults().withPerProbe(true));

        h.restart();

        assertEquals(before, h.snapshot());
        ScoreResult scoreAfter = h.client().score("d", suspectD, new int[0], ScoreOptions.defaults().withPerProbe(true));
        assertEquals(scoreBefore.matches().stream().map(m -> m.modelId() + m.values()).toList(),
                scoreAfter.matches().stream().map(m -> m.modelId() + m.values()).toList());
        assertEquals(3, h.client().getServerInfo().getProbeSetCount());
        assertEquals(7, h.client().getServerInfo().getReferenceCount());
    }

    @Test
    void aTruncatedFileFoundAtRestartIsReportedByServerInfoWhileTheRestLoads() throws Exception {
        h.client().createProbeSet(ProbeSet.fromRequest("s", 4, 8, ProbeSetKind.EMBEDDING, 0, ""));
        h.client().putReference("s", "good", Map.of(), gen.embedding(4, 8), false);
        h.client().putReference("s", "bad", Map.of(), gen.embedding(4, 8), false);
        h.server().stop();
        Path bad;
        try (var files = Files.walk(dataDir)) {
            bad = files.filter(f -> f.getFileName().toString().startsWith("bad")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(bad);
        Files.write(bad, Arrays.copyOf(bytes, bytes.length / 2));

        h.restart();
        assertEquals(List.of("good"), h.client().listReferences("s", Map.of()).stream()
                .map(r -> r.modelId()).toList());
        List<String> quarantined = h.client().getServerInfo().getQuarantinedFilesList();
        assertEquals(1, quarantined.size(), quarantined.toString());
        assertTrue(quarantined.get(0).contains("bad"), quarantined.toString());
    }

    private Thread stopInBackground() {
        Thread stopper = new Thread(() -> {
            try {
                h.server().stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        stopper.start();
        return stopper;
    }

    /** Polls with fresh calls until the server refuses them, i.e. shutdown() has begun. */
    private void awaitRefusingNewCalls() throws InterruptedException {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(h.channel());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try {
                health.check(HealthCheckRequest.getDefaultInstance());
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.UNAVAILABLE) {
                    return;
                }
                throw e;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the server kept accepting new calls after stop()");
    }
}
