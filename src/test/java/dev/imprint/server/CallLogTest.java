package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.imprint.api.v1.GetProbeSetRequest;
import dev.imprint.api.v1.GetServerInfoRequest;
import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ScoreResponse;
import dev.imprint.client.BearerToken;
import dev.imprint.client.ImprintClient;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceRole;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.security.AuditLog;
import dev.imprint.security.Role;
import dev.imprint.security.TokenAuthenticator;
import dev.imprint.security.TokenFile;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.testing.TestFingerprints;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The call log of a real server with tokens and an audit log, on a loopback port. */
class CallLogTest {
    private static final int P = 4;
    private static final int D = 8;

    @TempDir
    Path dataDir;

    private final Map<Role, String> tokens = new EnumMap<>(Role.class);
    private final TestFingerprints gen = new TestFingerprints(23);
    private LogCapture capture;
    private ImprintServer server;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        TokenFile file = TokenFile.of(dataDir);
        for (Role role : Role.values()) {
            tokens.put(role, file.create(role.wireName() + "-token", role));
        }
        capture = new LogCapture(CallLog.class, Level.INFO);
        server = new ImprintServer(ImprintServer.nettyBuilder("127.0.0.1", 0),
                ImprintEngine.open(ArrowFingerprintStore.open(dataDir), new SelectedBackend(new CpuBackend(1), "cpu")),
                new ImprintServer.Options(ServerHarness.TEST_MESSAGE_LIMIT, Duration.ofSeconds(5)),
                new ImprintServer.Security(true, new TokenAuthenticator(file, TokenAuthenticator.Mode.AUTO),
                        AuditLog.open(dataDir, 1 << 20, 2))).recordCallsTo(new CallLog(CallLog.Mode.ALL)).start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        try (ImprintClient admin = new ImprintClient(NettyChannelBuilder.forAddress("127.0.0.1", server.port())
                .usePlaintext().build(), ImprintClient.DEFAULT_CHUNK_BYTES, null, new BearerToken(tokens.get(Role.ADMIN)))) {
            admin.createProbeSet(new ProbeSet("ps1", P, D, ProbeSetKind.EMBEDDING, 0, ""));
            for (String model : List.of("model-a", "model-b")) {
                admin.putReference("ps1", model, Map.of(), ReferenceRole.PROTECTED, gen.embedding(P, D), false);
            }
        }
    }

    @AfterEach
    void stop() throws InterruptedException {
        try {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.stop();
        } finally {
            capture.close();
        }
    }

    @Test
    void everyCallIsOneLineWithItsFieldsAndItsOwnRequestIdInTheLogAndTheResponseHeaders() throws Exception {
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        ScoreResponse scored = stub(Role.SCORER).withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers,
                trailers)).score(scoreRequest("req-7"));

        Map<String, Object> line = only("imprint.v1.Imprint/Score").fields();
        assertEquals("ps1", line.get("probe_set"));
        assertEquals("OK", line.get("status"));
        assertEquals("req-7", line.get("request_id"));
        assertEquals("scorer-token", line.get("token"));
        assertEquals("scorer", line.get("role"));
        assertEquals((long) scored.getReferencesScored(), line.get("scored"));
        assertTrue((Double) line.get("duration_ms") >= 0, line.toString());
        assertFalse(line.containsKey("error"), line.toString());
        assertEquals("req-7", headers.get().get(CallRecordInterceptor.REQUEST_ID));
        assertTrue(only("imprint.v1.Imprint/Score").getMessage().matches("call method=imprint\\.v1\\.Imprint/Score "
                + "probe_set=ps1 status=OK duration_ms=\\d+\\.\\d{3} request_id=req-7 token=scorer-token role=scorer "
                + "scored=2"), only("imprint.v1.Imprint/Score").getMessage());
        assertEquals(Level.INFO, only("imprint.v1.Imprint/Score").getLevel());
    }

    @Test
    void aCallWithoutARequestIdGetsOneAssignedThatTheLogAndTheClientShareButTheAuditLeavesOut() throws Exception {
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub(Role.READER)
                .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
                .getProbeSet(GetProbeSetRequest.newBuilder().setProbeSetId("ghost").build()));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());

        CallLog.Line line = only("imprint.v1.Imprint/GetProbeSet", "NOT_FOUND");
        String assigned = (String) line.fields().get("request_id");
        assertTrue(assigned.matches("[0-9a-f]{16}"), assigned);
        assertEquals(assigned, trailers.get().get(CallRecordInterceptor.REQUEST_ID));
        assertEquals("probe set ghost does not exist", line.fields().get("error"));
        assertEquals("reader-token", line.fields().get("token"));
        JsonNode audited = AuthInterceptorTest.readAudit(dataDir).stream()
                .filter(l -> l.get("outcome").asText().equals("NOT_FOUND")).findFirst().orElseThrow();
        assertFalse(audited.has("request_id"), audited.toString());
        assertEquals("ghost", audited.get("probe_set_id").asText());
    }

    @Test
    void refusedAndOpenCallsAreLoggedAndNoLineEverHoldsAToken() throws Exception {
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ImprintGrpc
                .newBlockingStub(channel).withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers,
                        trailers)).getServerInfo(GetServerInfoRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
        stub(Role.SCORER).score(scoreRequest("with-token"));
        HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.getDefaultInstance());

        CallLog.Line refused = only("imprint.v1.Imprint/GetServerInfo", "UNAUTHENTICATED");
        assertFalse(refused.fields().containsKey("token"), refused.fields().toString());
        assertEquals(refused.fields().get("request_id"), trailers.get().get(CallRecordInterceptor.REQUEST_ID));
        assertTrue(((String) refused.fields().get("error")).startsWith("a bearer token is required"));
        assertEquals("OK", only("grpc.health.v1.Health/Check").fields().get("status"));
        // The setup's calls are here too: one line each, every one with a request id.
        assertEquals(1, lines("imprint.v1.Imprint/CreateProbeSet").size());
        assertEquals(2, lines("imprint.v1.Imprint/PutReference").size());
        for (LogRecord r : capture.records()) {
            assertTrue(((CallLog.Line) r).fields().get("request_id") instanceof String, r.getMessage());
            for (String token : tokens.values()) {
                assertFalse(r.getMessage().contains(token), "a token in " + r.getMessage());
                assertFalse(((CallLog.Line) r).fields().toString().contains(token), "a token in " + r.getMessage());
            }
        }
    }

    @Test
    void aScoreStreamIsOneLineWithItsFirstRequestIdAndTheReferencesScoredOverTheStream() throws Exception {
        CallRecorder<ScoreRequest, ScoreResponse> recorder = new CallRecorder<>();
        StreamObserver<ScoreRequest> out = ImprintGrpc.newStub(channel)
                .withCallCredentials(new BearerToken(tokens.get(Role.SCORER))).scoreStream(recorder);
        for (int i = 0; i < 3; i++) {
            out.onNext(scoreRequest("stream-" + i));
        }
        out.onCompleted();
        assertEquals(Status.Code.OK, recorder.await().getCode());

        Map<String, Object> line = only("imprint.v1.Imprint/ScoreStream").fields();
        assertEquals("stream-0", line.get("request_id"));
        assertEquals(6L, line.get("scored"));
    }

    @Test
    void failuresModeLogsOnlyFailuresAndInternalErrorsAreWarnings() {
        capture.close();
        try (LogCapture quiet = new LogCapture(CallLog.class, Level.INFO)) {
            CallLog failures = new CallLog(CallLog.Mode.FAILURES);
            failures.accept(record(Status.Code.OK, "ok-1"));
            failures.accept(record(Status.Code.NOT_FOUND, "missing-1"));
            failures.accept(record(Status.Code.INTERNAL, "bug-1"));
            new CallLog(CallLog.Mode.OFF).accept(record(Status.Code.INTERNAL, "off-1"));

            List<LogRecord> records = quiet.records();
            assertEquals(List.of("missing-1", "bug-1"), records.stream()
                    .map(r -> ((CallLog.Line) r).fields().get("request_id")).toList());
            assertEquals(List.of(Level.INFO, Level.WARNING), records.stream().map(LogRecord::getLevel).toList());
        }
    }

    @Test
    void aValueWithSpacesQuotesOrNewlinesIsOneQuotedJsonStringSoTheLineStaysOneLine() {
        CallRecord call = new CallRecord(Instant.now(), "imprint.v1.Imprint/Score", null, null, null, "ps1", null,
                "a b\n\"c\"", false, Status.Code.INVALID_ARGUMENT, "suspect.rows=3 but probe_indices has 4 entries",
                1_234_567, null);

        String text = CallLog.text(CallLog.fields(call));

        assertEquals("call method=imprint.v1.Imprint/Score probe_set=ps1 status=INVALID_ARGUMENT duration_ms=1.235 "
                + "request_id=\"a b\\n\\\"c\\\"\" error=\"suspect.rows=3 but probe_indices has 4 entries\"", text);
    }

    private static CallRecord record(Status.Code code, String requestId) {
        return new CallRecord(Instant.now(), "imprint.v1.Imprint/GetProbeSet", "t", Role.READER, null, "ps1", null,
                requestId, false, code, code == Status.Code.OK ? null : "why", 1_000_000, null);
    }

    private ScoreRequest scoreRequest(String requestId) {
        return ProtoMapper.scoreRequest(requestId, "ps1", P, D, gen.embedding(P, D), new int[0], Set.of(), null, 0,
                List.of(), Map.of(), false, Double.NaN);
    }

    private ImprintGrpc.ImprintBlockingStub stub(Role role) {
        return ImprintGrpc.newBlockingStub(channel).withCallCredentials(new BearerToken(tokens.get(role)));
    }

    private List<CallLog.Line> lines(String method) {
        return capture.records().stream().map(r -> (CallLog.Line) r)
                .filter(r -> r.fields().get("method").equals(method)).toList();
    }

    private CallLog.Line only(String method) {
        List<CallLog.Line> found = lines(method);
        assertEquals(1, found.size(), method + ": " + found.stream().map(LogRecord::getMessage).toList());
        return found.get(0);
    }

    private CallLog.Line only(String method, String status) {
        List<CallLog.Line> found = lines(method).stream().filter(r -> r.fields().get("status").equals(status)).toList();
        assertEquals(1, found.size(), method + " " + status + ": " + found.stream().map(LogRecord::getMessage).toList());
        assertNull(found.get(0).getThrown());
        return found.get(0);
    }
}
