package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.api.v1.GetServerInfoRequest;
import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.client.BearerToken;
import dev.imprint.client.ImprintClient;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreResult;
import dev.imprint.client.ScoreOptions;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.security.AuditLog;
import dev.imprint.security.Role;
import dev.imprint.security.TokenAuthenticator;
import dev.imprint.security.TokenFile;
import dev.imprint.store.ArrowFingerprintStore;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Tokens and roles on a real server on a loopback port, over a data directory holding one token per role. */
class AuthInterceptorTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dataDir;

    private final Map<Role, String> tokens = new EnumMap<>(Role.class);
    private ImprintServer server;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws IOException {
        TokenFile file = TokenFile.of(dataDir);
        for (Role role : Role.values()) {
            tokens.put(role, file.create(role.wireName() + "-token", role));
        }
        open();
    }

    private void open() throws IOException {
        server = new ImprintServer(ImprintServer.nettyBuilder("127.0.0.1", 0),
                ImprintEngine.open(ArrowFingerprintStore.open(dataDir), new SelectedBackend(new CpuBackend(1), "cpu")),
                new ImprintServer.Options(ServerHarness.TEST_MESSAGE_LIMIT, Duration.ofSeconds(5)),
                new ImprintServer.Security(true, new TokenAuthenticator(TokenFile.of(dataDir),
                        TokenAuthenticator.Mode.AUTO), AuditLog.open(dataDir, 1 << 20, 2))).start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.stop();
    }

    static Stream<Arguments> methodsAndRoles() {
        List<Arguments> cases = new ArrayList<>();
        for (MethodDescriptor<?, ?> m : ImprintGrpc.getServiceDescriptor().getMethods()) {
            for (Role role : Role.values()) {
                cases.add(Arguments.of(m.getBareMethodName(), role));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} as {1}")
    @MethodSource("methodsAndRoles")
    void eachRoleIsAllowedExactlyTheMethodsItsMappingNames(String method, Role role) throws Exception {
        MethodDescriptor<?, ?> m = method(method);
        Status status = call(m, tokens.get(role));
        if (MethodRoles.allowed(m.getFullMethodName()).contains(role)) {
            // An empty request fails validation (or finds nothing), but gets past the interceptor.
            assertNotEquals(Status.Code.PERMISSION_DENIED, status.getCode(), status.toString());
            assertNotEquals(Status.Code.UNAUTHENTICATED, status.getCode(), status.toString());
        } else {
            assertEquals(Status.Code.PERMISSION_DENIED, status.getCode(), status.toString());
            assertTrue(status.getDescription().contains("needs role " + MethodRoles.describe(
                    MethodRoles.allowed(m.getFullMethodName()))), status.getDescription());
            assertTrue(status.getDescription().contains("has role " + role.wireName()), status.getDescription());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("methodNames")
    void everyMethodWithoutATokenOrWithAWrongOneIsUnauthenticated(String method) throws Exception {
        Status none = call(method(method), null);
        assertEquals(Status.Code.UNAUTHENTICATED, none.getCode(), none.toString());
        assertTrue(none.getDescription().startsWith("a bearer token is required"), none.getDescription());
        String wrong = "imp_" + "A".repeat(43);
        Status bad = call(method(method), wrong);
        assertEquals(Status.Code.UNAUTHENTICATED, bad.getCode(), bad.toString());
        assertEquals("unknown or revoked token", bad.getDescription());
    }

    static Stream<String> methodNames() {
        return ImprintGrpc.getServiceDescriptor().getMethods().stream().map(MethodDescriptor::getBareMethodName);
    }

    @Test
    void healthNeedsNoToken() {
        assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(channel)
                .check(HealthCheckRequest.getDefaultInstance()).getStatus());
    }

    @Test
    void aRevokedTokenIsRefusedAtTheNextCallAndAfterARestart() throws Exception {
        ImprintGrpc.ImprintBlockingStub reader = ImprintGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerToken(tokens.get(Role.READER)));
        reader.getServerInfo(GetServerInfoRequest.getDefaultInstance());
        TokenFile.of(dataDir).revoke("reader-token");
        StatusRuntimeException refused = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> reader.getServerInfo(GetServerInfoRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNAUTHENTICATED, refused.getStatus().getCode());

        stop();
        open();
        Status afterRestart = call(ImprintGrpc.getGetServerInfoMethod(), tokens.get(Role.READER));
        assertEquals(Status.Code.UNAUTHENTICATED, afterRestart.getCode(), afterRestart.toString());
        assertEquals(Status.Code.OK, call(ImprintGrpc.getGetServerInfoMethod(), tokens.get(Role.SCORER)).getCode());
    }

    @Test
    void theAuditLogNamesWhoCalledWhatAndTheOutcomeButNeverATokenOrAScore() throws Exception {
        ProbeSet set = new ProbeSet("ps1", 4, 8, ProbeSetKind.EMBEDDING, 0, "");
        Random random = new Random(7);
        float[] rows = new float[4 * 8];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) random.nextGaussian();
        }
        try (ImprintClient admin = client(Role.ADMIN); ImprintClient scorer = client(Role.SCORER);
             ImprintClient reader = client(Role.READER)) {
            admin.createProbeSet(set);
            admin.putReference("ps1", "model-a", Map.of(), ReferenceRole.PROTECTED, rows, false);
            admin.putReference("ps1", "model-b", Map.of(), ReferenceRole.PROTECTED, rows, false);
            ScoreResult scored = scorer.score("ps1", rows, new int[0], ScoreOptions.defaults());
            assertEquals(2, scored.referencesScored());
            assertThrowsDenied(() -> reader.deleteProbeSet("ps1", true));
        }
        // Each line is written before the call's status goes out, so it is there to read now.
        List<JsonNode> lines = readAudit(dataDir);
        String all = lines.toString();
        for (String token : tokens.values()) {
            assertFalse(all.contains(token), "the audit log holds a token");
        }
        JsonNode put = find(lines, "PutReference", "OK");
        assertEquals("admin-token", put.get("token").asText());
        assertEquals("admin", put.get("role").asText());
        assertEquals("ps1", put.get("probe_set_id").asText());
        assertEquals("model-a", put.get("model_id").asText());
        JsonNode score = find(lines, "Score", "OK");
        assertEquals("scorer-token", score.get("token").asText());
        assertEquals("ps1", score.get("probe_set_id").asText());
        assertEquals(2, score.get("references_scored").asInt());
        assertFalse(score.has("matches") || all.contains("cosine"), score.toString());
        JsonNode denied = find(lines, "DeleteProbeSet", "PERMISSION_DENIED");
        assertEquals("reader-token", denied.get("token").asText());
        assertTrue(denied.get("duration_ms").asDouble() >= 0);
        assertTrue(lines.stream().noneMatch(l -> l.get("method").asText().contains("Health")));
    }

    private static void assertThrowsDenied(Runnable call) {
        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                call::run);
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    }

    private static JsonNode find(List<JsonNode> lines, String method, String outcome) {
        return lines.stream().filter(l -> l.get("method").asText().equals("imprint.v1.Imprint/" + method)
                        && l.get("outcome").asText().equals(outcome)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + method + " " + outcome + " in " + lines));
    }

    static List<JsonNode> readAudit(Path dataDir) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (Path f : AuditLog.files(dataDir)) {
            for (String line : Files.readAllLines(f)) {
                lines.add(JSON.readTree(line));
            }
        }
        return lines;
    }

    private ImprintClient client(Role role) {
        return new ImprintClient(NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build(),
                ImprintClient.DEFAULT_CHUNK_BYTES, null, new BearerToken(tokens.get(role)));
    }

    private static MethodDescriptor<?, ?> method(String bareName) {
        return ImprintGrpc.getServiceDescriptor().getMethods().stream()
                .filter(m -> m.getBareMethodName().equals(bareName)).findFirst().orElseThrow();
    }

    /** Calls {@code m} once with its request type's default message, as {@code token} (null: none). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private Status call(MethodDescriptor<?, ?> m, String token) throws Exception {
        CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS);
        if (token != null) {
            options = options.withCallCredentials(new BearerToken(token));
        }
        ClientCall call = channel.newCall((MethodDescriptor) m, options);
        CompletableFuture<Status> closed = new CompletableFuture<>();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.request(Integer.MAX_VALUE);
        call.sendMessage(((MethodDescriptor.PrototypeMarshaller) m.getRequestMarshaller()).getMessagePrototype());
        call.halfClose();
        return closed.get(30, TimeUnit.SECONDS);
    }
}
