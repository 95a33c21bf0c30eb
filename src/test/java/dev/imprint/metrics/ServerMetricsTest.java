package dev.imprint.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.DeleteProbeSetRequest;
import dev.imprint.api.v1.GetProbeSetRequest;
import dev.imprint.api.v1.GetServerInfoRequest;
import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.client.BearerToken;
import dev.imprint.client.ImprintClient;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceRole;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.ScoreBatching;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.security.Role;
import dev.imprint.security.TokenAuthenticator;
import dev.imprint.security.TokenFile;
import dev.imprint.server.ImprintServer;
import dev.imprint.server.LogCapture;
import dev.imprint.server.ProtoMapper;
import dev.imprint.store.ArrowFingerprintStore;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real server with tokens on a loopback port, its metrics served on another, scraped over HTTP. */
class ServerMetricsTest {
    private static final String IMPRINT = "imprint.v1.Imprint/";
    private static final int P = 4;
    private static final int D = 8;

    @TempDir
    Path dataDir;

    private final Map<Role, String> tokens = new EnumMap<>(Role.class);
    private ImprintEngine engine;
    private ImprintServer server;
    private ServerMetrics metrics;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        TokenFile file = TokenFile.of(dataDir);
        for (Role role : Role.values()) {
            tokens.put(role, file.create(role.wireName() + "-token", role));
        }
        engine = ImprintEngine.open(ArrowFingerprintStore.open(dataDir),
                new SelectedBackend(new CpuBackend(1), "cpu"), ScoreBatching.defaults());
        metrics = new ServerMetrics().serve("127.0.0.1", 0);
        metrics.watch(() -> List.of(engine.info()));
        engine.addBatchListener(metrics);
        server = new ImprintServer(ImprintServer.nettyBuilder("127.0.0.1", 0), engine,
                new ImprintServer.Options(1 << 20, Duration.ofSeconds(5)),
                new ImprintServer.Security(true, new TokenAuthenticator(file, TokenAuthenticator.Mode.AUTO), null))
                .recordCallsTo(metrics).start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        metrics.close();
        server.stop();
    }

    @Test
    void aScrapeCountsEveryCallByMethodAndCodeAndShowsWhatTheEngineHolds() throws Exception {
        ProbeSet set = new ProbeSet("ps1", P, D, ProbeSetKind.EMBEDDING, 0, "");
        stub(Role.ADMIN).createProbeSet(ProtoMapper.createRequest(set));
        Random random = new Random(11);
        try (ImprintClient admin = new ImprintClient(NettyChannelBuilder.forAddress("127.0.0.1", server.port())
                .usePlaintext().build(), ImprintClient.DEFAULT_CHUNK_BYTES, null, new BearerToken(tokens.get(Role.ADMIN)))) {
            for (String model : List.of("model-a", "model-b")) {
                admin.putReference("ps1", model, Map.of(), ReferenceRole.PROTECTED, rows(random), false);
            }
        }
        for (int i = 0; i < 3; i++) {
            stub(Role.SCORER).score(ProtoMapper.scoreRequest("s" + i, "ps1", P, D, rows(random), new int[0],
                    Set.of(), null, 0, List.of(), Map.of(), false, Double.NaN));
        }
        for (int i = 0; i < 2; i++) {
            assertCode(Status.Code.NOT_FOUND, () -> stub(Role.READER).getProbeSet(
                    GetProbeSetRequest.newBuilder().setProbeSetId("ghost").build()));
        }
        for (int i = 0; i < 3; i++) {
            assertCode(Status.Code.UNAUTHENTICATED, () -> ImprintGrpc.newBlockingStub(channel)
                    .getServerInfo(GetServerInfoRequest.getDefaultInstance()));
        }
        assertCode(Status.Code.PERMISSION_DENIED, () -> stub(Role.READER).deleteProbeSet(
                DeleteProbeSetRequest.newBuilder().setProbeSetId("ps1").setForce(true).build()));
        HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.getDefaultInstance());

        PrometheusText scrape = PrometheusText.scrape(metrics.url());

        assertEquals("http://127.0.0.1:" + metrics.port() + "/metrics", metrics.url());
        Map<String, Double> expected = Map.of(
                IMPRINT + "CreateProbeSet OK", 1.0,
                IMPRINT + "PutReference OK", 2.0,
                // The uploading client reads the server's message limit once and the set's dim before each put.
                IMPRINT + "GetServerInfo OK", 1.0,
                IMPRINT + "GetProbeSet OK", 2.0,
                IMPRINT + "Score OK", 3.0,
                IMPRINT + "GetProbeSet NOT_FOUND", 2.0,
                IMPRINT + "GetServerInfo UNAUTHENTICATED", 3.0,
                IMPRINT + "DeleteProbeSet PERMISSION_DENIED", 1.0,
                "grpc.health.v1.Health/Check OK", 1.0);
        expected.forEach((call, count) -> {
            String[] methodCode = call.split(" ");
            String[] labels = {"method", methodCode[0], "code", methodCode[1]};
            assertEquals(count, scrape.value("imprint_rpc_requests_total", labels), call + "\n" + scrape);
            assertEquals(count, scrape.value("imprint_rpc_duration_seconds_count", labels), call);
            assertEquals(count, scrape.value("imprint_rpc_duration_seconds_bucket",
                    "method", methodCode[0], "code", methodCode[1], "le", "+Inf"), call);
        });
        assertEquals(expected.values().stream().mapToDouble(Double::doubleValue).sum(),
                scrape.find("imprint_rpc_requests_total").stream().mapToDouble(PrometheusText.Sample::value).sum(),
                "calls beyond those made:\n" + scrape);
        assertEquals(3, scrape.value("imprint_auth_failures_total", "reason", "unauthenticated"));
        assertEquals(1, scrape.value("imprint_auth_failures_total", "reason", "permission_denied"));

        assertEquals(1, scrape.value("imprint_probe_sets"));
        assertEquals(2, scrape.value("imprint_references"));
        long bytes = engine.info().referenceBytes();
        assertTrue(bytes >= 2L * P * D * Float.BYTES, "the engine reports " + bytes + " bytes");
        assertEquals(bytes, scrape.value("imprint_reference_bytes"));
        assertEquals(0, scrape.value("imprint_scoring_queued_suspects"));
        assertEquals(0, scrape.value("imprint_quarantined_files"));
        assertTrue(scrape.value("imprint_scoring_batch_suspects_count") > 0, scrape.toString());
        assertEquals(3, scrape.value("imprint_scoring_batch_suspects_sum"), "one suspect per Score call");
        assertTrue(scrape.find("imprint_device_memory_total_bytes").isEmpty(), "the CPU has no device memory");

        assertTrue(scrape.value("jvm_memory_used_bytes", "area", "heap") > 0, scrape.toString());
        assertTrue(scrape.has("jvm_threads_current"), scrape.toString());
        assertTrue(scrape.has("jvm_gc_collection_seconds_count"), scrape.toString());
    }

    @Test
    void beforeAnyCallTheAuthFailuresAreZeroAndAClosedEndpointNoLongerAnswers() throws Exception {
        PrometheusText scrape = PrometheusText.scrape(metrics.url());
        assertEquals(0, scrape.value("imprint_auth_failures_total", "reason", "unauthenticated"));
        assertEquals(1, scrape.find("imprint_auth_failures_total", "reason", "permission_denied").size());
        assertEquals(0, scrape.value("imprint_references"));
        String url = metrics.url();

        metrics.close();

        assertThrows(IOException.class, () -> PrometheusText.scrape(url));
    }

    @Test
    void metricsServedBeyondLoopbackLogAWarningThatTheyAreUnauthenticated() throws Exception {
        try (LogCapture capture = new LogCapture(ServerMetrics.class, Level.INFO);
             ServerMetrics open = new ServerMetrics().serve("0.0.0.0", 0)) {
            assertTrue(capture.records().stream().anyMatch(r -> r.getLevel() == Level.WARNING
                    && r.getMessage().startsWith("metrics are served unauthenticated to the network on 0.0.0.0")),
                    capture.records().stream().map(LogRecord::getMessage).toList().toString());
            assertTrue(PrometheusText.scrape("http://127.0.0.1:" + open.port() + "/metrics").has("jvm_threads_current"));
        }
        try (LogCapture capture = new LogCapture(ServerMetrics.class, Level.INFO)) {
            new ServerMetrics().serve("127.0.0.1", 0).close();
            assertTrue(capture.records().stream().noneMatch(r -> r.getLevel() == Level.WARNING));
        }
    }

    private ImprintGrpc.ImprintBlockingStub stub(Role role) {
        return ImprintGrpc.newBlockingStub(channel).withCallCredentials(new BearerToken(tokens.get(role)));
    }

    private static float[] rows(Random random) {
        float[] rows = new float[P * D];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) random.nextGaussian();
        }
        return rows;
    }

    private static void assertCode(Status.Code code, Runnable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(code, e.getStatus().getCode(), e.toString());
    }
}
