package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import dev.imprint.api.v1.DeleteProbeSetRequest;
import dev.imprint.api.v1.DeleteReferenceRequest;
import dev.imprint.api.v1.GetProbeSetRequest;
import dev.imprint.api.v1.GetReferenceRequest;
import dev.imprint.api.v1.GetServerInfoRequest;
import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.api.v1.ListProbeSetsRequest;
import dev.imprint.api.v1.ListReferencesRequest;
import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.ReferenceHeader;
import dev.imprint.api.v1.RowChunk;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ServerInfo;
import dev.imprint.client.BearerToken;
import dev.imprint.client.ImprintClient;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreResult;
import dev.imprint.engine.ScoreBatching;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.TenantEngines;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.io.ReferenceFile;
import dev.imprint.security.AuditLog;
import dev.imprint.security.Role;
import dev.imprint.security.TokenAuthenticator;
import dev.imprint.security.TokenFile;
import dev.imprint.store.TenantDirectories;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Tenants on a real server on a loopback port, built as {@code serve} builds it: each token sees
 * only its tenant's probe sets, another tenant's ids are NOT_FOUND exactly as ids that do not
 * exist, and each tenant's data lies in its own directory.
 */
class TenantIsolationTest {
    private static final int P = 4;
    private static final int D = 8;
    private static final String SET = "shared-name";
    private static final String MODEL = "model-a";
    private static final String GHOST_SET = "no-such-set";
    private static final String GHOST_MODEL = "no-such-model";

    @TempDir
    Path dataDir;

    private String labA;
    private String labB;
    private String labBReader;
    private String defaultAdmin;
    private ImprintServer server;
    private ManagedChannel channel;
    private final float[] rowsA = rows(1);

    @BeforeEach
    void start() throws IOException, InterruptedException {
        TokenFile tokens = TokenFile.of(dataDir);
        labA = tokens.create("lab-a-admin", Role.ADMIN, "lab-a");
        labB = tokens.create("lab-b-admin", Role.ADMIN, "lab-b");
        labBReader = tokens.create("lab-b-reader", Role.READER, "lab-b");
        defaultAdmin = tokens.create("root-admin", Role.ADMIN);
        open(ResourceLimits.defaults());
        try (ImprintClient a = client(labA)) {
            a.createProbeSet(new ProbeSet(SET, P, D, ProbeSetKind.EMBEDDING, 0, "lab-a's set"));
            a.putReference(SET, MODEL, Map.of(), ReferenceRole.PROTECTED, rowsA, false);
        }
    }

    private void open(ResourceLimits limits) throws IOException {
        TenantDirectories dirs = new TenantDirectories(dataDir);
        TenantEngines engines = TenantEngines.open(TenantEngines.Stores.of(dirs::open, dirs::existing),
                new SelectedBackend(new CpuBackend(1), "cpu"), ScoreBatching.defaults());
        server = new ImprintServer(ImprintServer.nettyBuilder("127.0.0.1", 0), engines,
                new ImprintServer.Options(ServerHarness.TEST_MESSAGE_LIMIT, Duration.ofSeconds(5)),
                new ImprintServer.Security(true, new TokenAuthenticator(TokenFile.of(dataDir),
                        TokenAuthenticator.Mode.AUTO), AuditLog.open(dataDir, 1 << 20, 2)), limits).start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.stop();
    }

    /**
     * The methods that name a probe set, each with a request naming a set and model: the cases
     * of the cross-tenant matrix. Every other method is in {@link #UNSCOPED}, and
     * {@link #everyMethodIsClassified} fails for a new RPC that is in neither.
     */
    static Stream<String> scopedMethods() {
        return Stream.of("GetProbeSet", "DeleteProbeSet", "PutReference", "GetReference", "ListReferences",
                "DeleteReference", "Score", "ScoreStream");
    }

    /** Methods that name no existing probe set: they list, create or describe within the caller's tenant. */
    private static final Set<String> UNSCOPED = Set.of("CreateProbeSet", "ListProbeSets", "GetServerInfo");

    @Test
    void everyMethodIsClassified() {
        Set<String> scoped = scopedMethods().collect(Collectors.toSet());
        for (MethodDescriptor<?, ?> m : ImprintGrpc.getServiceDescriptor().getMethods()) {
            String name = m.getBareMethodName();
            assertTrue(scoped.contains(name) ^ UNSCOPED.contains(name),
                    name + " must be in exactly one of scopedMethods() (with a cross-tenant case) or UNSCOPED");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scopedMethods")
    void anotherTenantsIdsAreNotFoundExactlyLikeIdsThatDoNotExist(String method) throws Exception {
        for (String otherTenant : new String[] {labB, defaultAdmin}) {
            Status foreign = call(method, otherTenant, SET, MODEL);
            Status ghost = call(method, otherTenant, GHOST_SET, GHOST_MODEL);
            assertEquals(Status.Code.NOT_FOUND, foreign.getCode(), foreign.toString());
            assertEquals(ghost.getCode(), foreign.getCode());
            assertEquals(ghost.getDescription().replace(GHOST_SET, "<set>").replace(GHOST_MODEL, "<model>"),
                    foreign.getDescription().replace(SET, "<set>").replace(MODEL, "<model>"),
                    "the refusal of another tenant's id differs from that of an id that does not exist");
        }
        // Nothing the other tenants tried changed lab-a's data.
        try (ImprintClient a = client(labA)) {
            assertEquals(1, a.referenceCount(SET));
            ScoreResult self = a.score(SET, rowsA, new int[0], ScoreOptions.defaults());
            assertEquals(MODEL, self.matches().get(0).modelId());
            assertEquals(1.0, self.matches().get(0).values().get(Metric.COSINE), 1e-6);
        }
        // Within lab-a, the same request succeeds: the refusals above came from the tenant boundary.
        Status own = call(method, labA, SET, MODEL);
        assertEquals(Status.Code.OK, own.getCode(), own.toString());
    }

    @Test
    void listingsAndServerInfoShowOnlyTheCallersTenant() throws Exception {
        try (ImprintClient b = client(labB); ImprintClient root = client(defaultAdmin);
             ImprintClient a = client(labA)) {
            assertEquals(List.of(), b.listProbeSets());
            assertEquals(List.of(), root.listProbeSets());
            assertEquals(List.of(SET), a.listProbeSets().stream().map(ProbeSet::id).toList());
            ServerInfo infoB = b.getServerInfo();
            assertEquals(0, infoB.getProbeSetCount());
            assertEquals(0, infoB.getReferenceCount());
            assertEquals(0, infoB.getReferenceBytes());
            ServerInfo infoA = a.getServerInfo();
            assertEquals(1, infoA.getProbeSetCount());
            assertEquals(1, infoA.getReferenceCount());
        }
    }

    @Test
    void theSameIdInTwoTenantsIsTwoSetsKeptApartOnDiskAndAcrossARestart() throws Exception {
        float[] rowsB = rows(2);
        try (ImprintClient b = client(labB)) {
            b.createProbeSet(new ProbeSet(SET, P, D, ProbeSetKind.EMBEDDING, 0, "lab-b's set"));
            b.putReference(SET, MODEL, Map.of(), ReferenceRole.PROTECTED, rowsB, false);
        }
        Path fileA = dataDir.resolve("~tenants/lab-a").resolve(SET).resolve("refs").resolve(MODEL + ".arrow");
        Path fileB = dataDir.resolve("~tenants/lab-b").resolve(SET).resolve("refs").resolve(MODEL + ".arrow");
        assertTrue(Files.isRegularFile(fileA), fileA.toString());
        assertTrue(Files.isRegularFile(fileB), fileB.toString());
        assertFalse(Files.exists(dataDir.resolve(SET)), "a tenant's set was written to the default tenant");
        try (RootAllocator allocator = new RootAllocator()) {
            assertArrayEquals(rowsA, ReferenceFile.read(allocator, fileA).reference().rows());
            assertArrayEquals(rowsB, ReferenceFile.read(allocator, fileB).reference().rows());
        }

        stop();
        open(ResourceLimits.defaults());
        try (ImprintClient a = client(labA); ImprintClient b = client(labB)) {
            assertEquals(1.0, a.score(SET, rowsA, new int[0], ScoreOptions.defaults()).matches().get(0)
                    .values().get(Metric.COSINE), 1e-6);
            assertEquals(1.0, b.score(SET, rowsB, new int[0], ScoreOptions.defaults()).matches().get(0)
                    .values().get(Metric.COSINE), 1e-6);
            assertEquals("lab-b's set", b.getProbeSet(SET).description());
            b.deleteProbeSet(SET, true);
            assertEquals(1, a.referenceCount(SET), "deleting lab-b's set touched lab-a's");
        }
        // The audit names each call's tenant beside its token.
        stop();
        List<com.fasterxml.jackson.databind.JsonNode> audit = AuthInterceptorTest.readAudit(dataDir);
        assertTrue(audit.stream().anyMatch(l -> l.path("token").asText().equals("lab-b-admin")
                && l.path("tenant").asText().equals("lab-b") && l.path("method").asText().endsWith("/DeleteProbeSet")),
                audit.toString());
        assertTrue(audit.stream().filter(l -> l.path("token").asText().equals("root-admin"))
                .noneMatch(l -> l.has("tenant")), audit.toString());
        open(ResourceLimits.defaults());
    }

    @Test
    void rolesStillApplyInsideATenant() throws Exception {
        try (ImprintClient reader = client(labBReader); ImprintClient b = client(labB)) {
            b.createProbeSet(new ProbeSet("b-set", P, D, ProbeSetKind.EMBEDDING, 0, ""));
            assertEquals(1, reader.listProbeSets().size());
            assertEquals(Status.Code.PERMISSION_DENIED, call("DeleteProbeSet", labBReader, "b-set", null).getCode());
            assertEquals(1, b.listProbeSets().size());
        }
    }

    @Test
    void aTokenOverItsRateIsRefusedWithTheNumbersAndOthersGoOn() throws Exception {
        stop();
        open(new ResourceLimits(64, 1 << 20, 100, 100, ProbeSet.MAX_ELEMENTS, 0.5));
        // At 0.5 calls/s a token holds one call; the next is refused unless two seconds passed between them.
        assertEquals(Status.Code.OK, call("ListProbeSets", labB, null, null).getCode());
        Status refused = call("ListProbeSets", labB, null, null);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getCode(), refused.toString());
        assertTrue(refused.getDescription().startsWith("token 'lab-b-admin' is over its rate of 0.5 calls per second"),
                refused.getDescription());
        assertFalse(refused.getDescription().contains(labB));
        assertEquals(Status.Code.OK, call("ListProbeSets", labA, null, null).getCode());
    }

    /**
     * Calls {@code method} as {@code token} with a request naming {@code set} and {@code model};
     * streams send one message and half-close.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private Status call(String method, String token, String set, String model) throws Exception {
        MethodDescriptor m = ImprintGrpc.getServiceDescriptor().getMethods().stream()
                .filter(d -> d.getBareMethodName().equals(method)).findFirst().orElseThrow();
        ClientCall call = channel.newCall(m, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS)
                .withCallCredentials(new BearerToken(token)));
        CompletableFuture<Status> closed = new CompletableFuture<>();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.request(Integer.MAX_VALUE);
        for (Message message : REQUESTS.get(method).apply(new String[] {set, model})) {
            call.sendMessage(message);
        }
        call.halfClose();
        return closed.get(30, TimeUnit.SECONDS);
    }

    private static final Map<String, Function<String[], List<Message>>> REQUESTS = Map.of(
            "GetProbeSet", ids -> List.of(GetProbeSetRequest.newBuilder().setProbeSetId(ids[0]).build()),
            "DeleteProbeSet", ids -> List.of(DeleteProbeSetRequest.newBuilder().setProbeSetId(ids[0]).setForce(true)
                    .build()),
            "PutReference", ids -> List.of(
                    PutReferenceRequest.newBuilder().setHeader(ReferenceHeader.newBuilder().setProbeSetId(ids[0])
                            .setModelId(ids[1]).setReplace(true)).build(),
                    PutReferenceRequest.newBuilder().setRows(RowChunk.newBuilder().setFirstRow(0)
                            .addAllValues(boxed(rows(3)))).build()),
            "GetReference", ids -> List.of(GetReferenceRequest.newBuilder().setProbeSetId(ids[0]).setModelId(ids[1])
                    .build()),
            "ListReferences", ids -> List.of(ListReferencesRequest.newBuilder().setProbeSetId(ids[0]).build()),
            "DeleteReference", ids -> List.of(DeleteReferenceRequest.newBuilder().setProbeSetId(ids[0])
                    .setModelId(ids[1]).build()),
            "Score", ids -> List.of(score(ids[0])),
            "ScoreStream", ids -> List.of(score(ids[0])),
            "ListProbeSets", ids -> List.of(ListProbeSetsRequest.getDefaultInstance()),
            "GetServerInfo", ids -> List.of(GetServerInfoRequest.getDefaultInstance()));

    private static ScoreRequest score(String set) {
        return ProtoMapper.scoreRequest("r1", set, P, D, rows(4), new int[0], Set.of(), null, 0, List.of(), Map.of(),
                false, Double.NaN);
    }

    private static List<Float> boxed(float[] values) {
        List<Float> out = new ArrayList<>(values.length);
        for (float v : values) {
            out.add(v);
        }
        return out;
    }

    private static float[] rows(long seed) {
        Random random = new Random(seed);
        float[] rows = new float[P * D];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) random.nextGaussian();
        }
        return rows;
    }

    private ImprintClient client(String token) {
        return new ImprintClient(NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build(),
                ImprintClient.DEFAULT_CHUNK_BYTES, null, new BearerToken(token));
    }
}
