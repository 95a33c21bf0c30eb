package dev.imprint.server;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.imprint.api.v1.CreateProbeSetRequest;
import dev.imprint.api.v1.DeleteProbeSetRequest;
import dev.imprint.api.v1.DeleteReferenceRequest;
import dev.imprint.api.v1.GetProbeSetRequest;
import dev.imprint.api.v1.GetReferenceRequest;
import dev.imprint.api.v1.GetServerInfoRequest;
import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.api.v1.ListProbeSetsRequest;
import dev.imprint.api.v1.ListReferencesRequest;
import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.client.ImprintClient;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceRole;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.store.ArrowFingerprintStore;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Arbitrary request messages for every RPC, through an in-process server over a real engine and
 * store: each call must end in a status the API documents for bad input (INVALID_ARGUMENT,
 * NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, ...) or succeed, never
 * INTERNAL, UNKNOWN or a hang, and the server must answer afterwards. Fuzzed bytes are parsed as
 * the method's request type; the probe set ids are often steered to ones that exist, so the
 * fuzzer reaches past the lookups. Inputs under {@code RequestsFuzzTestInputs/} replay as tests.
 */
class RequestsFuzzTest {
    private static final int MAX_EXECUTIONS = 1_000_000;
    private static final Set<Status.Code> NEVER = Set.of(Status.Code.INTERNAL, Status.Code.UNKNOWN,
            Status.Code.DEADLINE_EXCEEDED, Status.Code.UNAVAILABLE);
    private static final String[] IDS = {"dist", "emb", "missing"};

    private static ImprintGrpc.ImprintBlockingStub blocking;
    private static ImprintGrpc.ImprintStub async;
    private static ImprintClient client;

    /** One server for the whole run, started on first use. */
    private static synchronized void start() throws IOException {
        if (blocking != null) {
            return;
        }
        String name = InProcessServerBuilder.generateName();
        new ImprintServer(InProcessServerBuilder.forName(name),
                ImprintEngine.open(ArrowFingerprintStore.open(Files.createTempDirectory("fuzz-requests")),
                        new SelectedBackend(new CpuBackend(1), "cpu: fuzz test")),
                ImprintServer.Options.defaults()).start();
        ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
        blocking = ImprintGrpc.newBlockingStub(channel);
        async = ImprintGrpc.newStub(channel);
        client = new ImprintClient(InProcessChannelBuilder.forName(name).build());
    }

    /** The probe sets and references calls are steered to, put back if an earlier input deleted them. */
    private static void ensureFixture() {
        if (client.listProbeSets().stream().noneMatch(s -> s.id().equals("dist"))) {
            client.createProbeSet(ProbeSet.fromRequest("dist", 3, 4, ProbeSetKind.DISTRIBUTION, 0, ""));
        }
        if (client.listProbeSets().stream().noneMatch(s -> s.id().equals("emb"))) {
            client.createProbeSet(ProbeSet.fromRequest("emb", 3, 4, ProbeSetKind.EMBEDDING, 0, ""));
        }
        for (String set : List.of("dist", "emb")) {
            for (String model : List.of("a", "b")) {
                if (client.listReferences(set, Map.of()).stream().noneMatch(r -> r.modelId().equals(model))) {
                    float[] rows = new float[12];
                    for (int i = 0; i < rows.length; i++) {
                        rows[i] = 0.25f + (model.equals("a") ? 0.01f : -0.01f) * ((i % 4) - 1.5f);
                    }
                    client.putReference(set, model, Map.of(), ReferenceRole.PROTECTED, rows, false);
                }
            }
        }
    }

    private interface Parser<T extends Message> {
        T parse(byte[] bytes) throws InvalidProtocolBufferException;
    }

    private static <T extends Message> T parse(Parser<T> parser, byte[] bytes) {
        try {
            return parser.parse(bytes);
        } catch (InvalidProtocolBufferException e) {
            return null;
        }
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void request(FuzzedDataProvider data) throws Exception {
        start();
        ensureFixture();
        int method = data.consumeInt(0, 10);
        String id = IDS[data.consumeInt(0, IDS.length - 1)];
        boolean steer = data.consumeBoolean();
        List<byte[]> parts = new ArrayList<>();
        int count = data.consumeInt(1, 3);
        for (int i = 0; i < count; i++) {
            parts.add(i == count - 1 ? data.consumeRemainingAsBytes() : data.consumeBytes(data.consumeInt(0, 2048)));
        }
        ImprintGrpc.ImprintBlockingStub stub = blocking.withDeadlineAfter(30, TimeUnit.SECONDS);
        try {
            switch (method) {
                case 0 -> unary(parts, CreateProbeSetRequest::parseFrom,
                        r -> stub.createProbeSet(steer ? r.toBuilder().setProbeSetId(id + "-new").build() : r));
                case 1 -> unary(parts, GetProbeSetRequest::parseFrom,
                        r -> stub.getProbeSet(steer ? r.toBuilder().setProbeSetId(id).build() : r));
                case 2 -> unary(parts, ListProbeSetsRequest::parseFrom, stub::listProbeSets);
                case 3 -> unary(parts, DeleteProbeSetRequest::parseFrom,
                        r -> stub.deleteProbeSet(steer ? r.toBuilder().setProbeSetId(id).build() : r));
                case 4 -> stream(parts, PutReferenceRequest::parseFrom, steer, id, true);
                case 5 -> unary(parts, GetReferenceRequest::parseFrom,
                        r -> stub.getReference(steer ? r.toBuilder().setProbeSetId(id).build() : r));
                case 6 -> unary(parts, ListReferencesRequest::parseFrom,
                        r -> stub.listReferences(steer ? r.toBuilder().setProbeSetId(id).build() : r));
                case 7 -> unary(parts, DeleteReferenceRequest::parseFrom,
                        r -> stub.deleteReference(steer ? r.toBuilder().setProbeSetId(id).build() : r));
                case 8 -> unary(parts, ScoreRequest::parseFrom,
                        r -> stub.score(steer ? r.toBuilder().setProbeSetId(id).build() : r));
                case 9 -> stream(parts, ScoreRequest::parseFrom, steer, id, false);
                default -> unary(parts, GetServerInfoRequest::parseFrom, stub::getServerInfo);
            }
        } catch (StatusRuntimeException e) {
            if (NEVER.contains(e.getStatus().getCode())) {
                throw new AssertionError("method " + method + " ended " + e.getStatus(), e);
            }
        }
        blocking.withDeadlineAfter(30, TimeUnit.SECONDS).getServerInfo(GetServerInfoRequest.getDefaultInstance());
    }

    private interface Call<T> {
        void call(T request);
    }

    private static <T extends Message> void unary(List<byte[]> parts, Parser<T> parser, Call<T> call) {
        T request = parse(parser, parts.get(0));
        if (request != null) {
            call.call(request);
        }
    }

    /** A client stream of the parsed parts (PutReference or ScoreStream), read to its end. */
    private static <T extends Message> void stream(List<byte[]> parts, Parser<T> parser, boolean steer, String id,
                                                   boolean upload) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        StreamObserver<Object> responses = new StreamObserver<>() {
            @Override
            public void onNext(Object value) {
            }

            @Override
            public void onError(Throwable t) {
                failure.set(t);
                done.countDown();
            }

            @Override
            public void onCompleted() {
                done.countDown();
            }
        };
        @SuppressWarnings({"unchecked", "rawtypes"})
        StreamObserver<Message> requests = upload
                ? (StreamObserver) async.withDeadlineAfter(30, TimeUnit.SECONDS).putReference((StreamObserver) responses)
                : (StreamObserver) async.withDeadlineAfter(30, TimeUnit.SECONDS).scoreStream((StreamObserver) responses);
        for (byte[] part : parts) {
            Message m = parse(parser, part);
            if (m == null) {
                continue;
            }
            if (steer && m instanceof PutReferenceRequest p && p.hasHeader()) {
                m = p.toBuilder().setHeader(p.getHeader().toBuilder().setProbeSetId(id)).build();
            } else if (steer && m instanceof ScoreRequest s) {
                m = s.toBuilder().setProbeSetId(id).build();
            }
            requests.onNext(m);
        }
        requests.onCompleted();
        if (!done.await(60, TimeUnit.SECONDS)) {
            throw new AssertionError("the stream did not end within 60 s");
        }
        if (failure.get() instanceof StatusRuntimeException e) {
            throw e;
        }
        if (failure.get() != null) {
            throw new StatusRuntimeException(Status.fromThrowable(failure.get()));
        }
    }
}
