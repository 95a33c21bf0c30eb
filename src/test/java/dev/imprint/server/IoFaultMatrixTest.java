package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.CreateProbeSetRequest;
import dev.imprint.api.v1.DeleteReferenceRequest;
import dev.imprint.api.v1.GetServerInfoRequest;
import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.ReferenceHeader;
import dev.imprint.client.ImprintClient;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.io.FaultyFileOps;
import dev.imprint.io.FaultyFileOps.Fault;
import dev.imprint.io.FileOps;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.testing.TestFingerprints;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The I/O-fault matrix: for each planted fault × each operation, through a real server on
 * loopback, the status the call gets, that the disk holds exactly what it should afterwards (the
 * old bytes on a failure, no temporary file), that reads and scores go on working while the fault
 * is still there, and that a restart on a healthy disk loads exactly what was acknowledged.
 */
class IoFaultMatrixTest {
    private static final int P = 6;
    private static final int D = 10;
    private static final List<String> MATRIX = new ArrayList<>();

    /** What the matrix runs under each fault. */
    enum Op { PUT_NEW, REPLACE, DELETE, CREATE_PROBE_SET, LOAD }

    @TempDir
    Path dataDir;

    private final TestFingerprints gen = new TestFingerprints(20261206L);
    private final FaultyFileOps faults = new FaultyFileOps();
    private ImprintServer server;
    private ManagedChannel channel;

    static Stream<Arguments> matrix() {
        Status.Code ok = Status.Code.OK;
        Status.Code full = Status.Code.RESOURCE_EXHAUSTED;
        Status.Code unavailable = Status.Code.UNAVAILABLE;
        return Stream.of(
                Arguments.of(Fault.DISK_FULL_ON_WRITE, Op.PUT_NEW, full),
                Arguments.of(Fault.DISK_FULL_ON_WRITE, Op.REPLACE, full),
                Arguments.of(Fault.DISK_FULL_ON_WRITE, Op.DELETE, ok),
                Arguments.of(Fault.DISK_FULL_ON_WRITE, Op.CREATE_PROBE_SET, full),
                Arguments.of(Fault.DISK_FULL_ON_WRITE, Op.LOAD, ok),
                Arguments.of(Fault.FSYNC, Op.PUT_NEW, unavailable),
                Arguments.of(Fault.FSYNC, Op.REPLACE, unavailable),
                Arguments.of(Fault.FSYNC, Op.DELETE, ok),
                Arguments.of(Fault.FSYNC, Op.CREATE_PROBE_SET, unavailable),
                Arguments.of(Fault.FSYNC, Op.LOAD, ok),
                Arguments.of(Fault.RENAME, Op.PUT_NEW, unavailable),
                Arguments.of(Fault.RENAME, Op.REPLACE, unavailable),
                Arguments.of(Fault.RENAME, Op.DELETE, unavailable),
                Arguments.of(Fault.RENAME, Op.CREATE_PROBE_SET, unavailable),
                Arguments.of(Fault.RENAME, Op.LOAD, ok),
                Arguments.of(Fault.DIRECTORY_FSYNC, Op.PUT_NEW, unavailable),
                Arguments.of(Fault.DIRECTORY_FSYNC, Op.REPLACE, unavailable),
                Arguments.of(Fault.DIRECTORY_FSYNC, Op.DELETE, unavailable),
                Arguments.of(Fault.DIRECTORY_FSYNC, Op.CREATE_PROBE_SET, unavailable),
                Arguments.of(Fault.DIRECTORY_FSYNC, Op.LOAD, ok),
                Arguments.of(Fault.READ, Op.PUT_NEW, ok),
                Arguments.of(Fault.READ, Op.REPLACE, ok),
                Arguments.of(Fault.READ, Op.DELETE, ok),
                Arguments.of(Fault.READ, Op.CREATE_PROBE_SET, ok),
                Arguments.of(Fault.READ, Op.LOAD, ok));
    }

    @ParameterizedTest(name = "{0} x {1} -> {2}")
    @MethodSource("matrix")
    void aFaultFailsTheCallCleanlyAndLosesNothing(Fault fault, Op op, Status.Code expected) throws Exception {
        start(faults);
        ImprintClient client = new ImprintClient(channel);
        client.createProbeSet(ProbeSet.fromRequest("alpha", P, D, ProbeSetKind.DISTRIBUTION, 0, "faults"));
        Map<String, float[]> rows = new TreeMap<>();
        for (String model : List.of("r0", "r1")) {
            rows.put(model, gen.rows(ProbeSetKind.DISTRIBUTION, P, D));
            client.putReference("alpha", model, Map.of(), rows.get(model), false);
        }
        Map<String, Integer> before = ServerHarness.files(dataDir);

        Status.Code got;
        String message = "";
        if (op == Op.LOAD) {
            stop();
            Files.write(dataDir.resolve("alpha/refs/r9.arrow.5eed.tmp"), new byte[] {1, 2, 3});
            faults.plant(fault, p -> p.toString().endsWith("r1.arrow"), 0);
            start(faults);
            got = Status.Code.OK;
        } else {
            faults.plant(fault, p -> true, op == Op.CREATE_PROBE_SET || fault != Fault.DISK_FULL_ON_WRITE ? 0 : 2);
            try {
                run(op);
                got = Status.Code.OK;
            } catch (StatusRuntimeException e) {
                got = e.getStatus().getCode();
                message = e.getStatus().getDescription();
            }
        }
        MATRIX.add(String.format("| %s | %s | %s | %s |", fault, op, got, message.isEmpty() ? "" : message
                .replace(dataDir.toString(), "<data-dir>")));
        assertEquals(expected, got, message);
        if (got != Status.Code.OK) {
            assertTrue(message.startsWith("could not "), message);
            assertEquals(got == Status.Code.RESOURCE_EXHAUSTED, message.contains("the disk is full"), message);
        }

        // While the fault is still planted: reads and scores work, and see exactly what was acknowledged.
        List<String> visible = expectedModels(op, fault, got);
        assertEquals(visible, models("alpha"));
        assertEquals(visible.size(), new ImprintClient(channel).score("alpha", rows.get("r0"), new int[0],
                ScoreOptions.defaults()).referencesScored());
        int quarantined = ImprintGrpc.newBlockingStub(channel).getServerInfo(GetServerInfoRequest.getDefaultInstance())
                .getQuarantinedFilesCount();
        assertEquals(op == Op.LOAD && fault == Fault.READ ? 1 : 0, quarantined);
        faults.heal();

        Map<String, Integer> after = ServerHarness.files(dataDir);
        assertEquals(expectedFiles(before, op, fault, got), after.keySet().stream().toList());
        for (String file : after.keySet()) {
            boolean rewritten = op == Op.REPLACE && got == Status.Code.OK && file.equals("alpha/refs/r0.arrow");
            if (before.containsKey(file) && !rewritten) {
                assertEquals(before.get(file), after.get(file), file + " changed");
            }
        }
        if (op == Op.REPLACE && got == Status.Code.OK) {
            assertNotEquals(before.get("alpha/refs/r0.arrow"), after.get("alpha/refs/r0.arrow"));
        }

        // A restart on a healthy disk loads exactly what the clients were told exists.
        stop();
        start(FileOps.SYSTEM);
        assertEquals(visible, models("alpha"));
        assertEquals(op == Op.CREATE_PROBE_SET && got == Status.Code.OK,
                new ImprintClient(channel).listProbeSets().stream().anyMatch(s -> s.id().equals("beta")));
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            channel = null;
        }
        if (server != null) {
            server.stop();
            server = null;
        }
    }

    @AfterAll
    static void printMatrix() {
        System.out.println("| fault | operation | status | message |\n| --- | --- | --- | --- |\n"
                + String.join("\n", MATRIX));
    }

    private void run(Op op) {
        ImprintGrpc.ImprintBlockingStub stub = ImprintGrpc.newBlockingStub(channel);
        switch (op) {
            case PUT_NEW -> upload("n1", false);
            case REPLACE -> upload("r0", true);
            case DELETE -> stub.deleteReference(DeleteReferenceRequest.newBuilder().setProbeSetId("alpha")
                    .setModelId("r1").build());
            case CREATE_PROBE_SET -> stub.createProbeSet(CreateProbeSetRequest.newBuilder().setProbeSetId("beta")
                    .setNumProbes(P).setDim(D).setKind(dev.imprint.api.v1.ProbeSetKind.EMBEDDING).build());
            case LOAD -> throw new IllegalArgumentException("load is a start, not a call");
        }
    }

    private void upload(String model, boolean replace) {
        float[] values = gen.rows(ProbeSetKind.DISTRIBUTION, P, D);
        Status status = Uploads.send(ImprintGrpc.newStub(channel), PutReferenceRequest.newBuilder()
                        .setHeader(ReferenceHeader.newBuilder().setProbeSetId("alpha").setModelId(model).setReplace(replace))
                        .build(),
                Uploads.chunk(0, values, 0, values.length));
        if (!status.isOk()) {
            throw status.asRuntimeException();
        }
    }

    /** The references clients see after {@code op}; a file unreadable at load is set aside, the rest load. */
    private static List<String> expectedModels(Op op, Fault fault, Status.Code got) {
        boolean done = got == Status.Code.OK;
        if (op == Op.LOAD && fault == Fault.READ) {
            return List.of("r0");
        }
        if (op == Op.PUT_NEW && done) {
            return List.of("n1", "r0", "r1");
        }
        if (op == Op.DELETE && done) {
            return List.of("r0");
        }
        return List.of("r0", "r1");
    }

    /** The relative paths on disk after {@code op}: the ones before, changed only by a call that succeeded. */
    private static List<String> expectedFiles(Map<String, Integer> before, Op op, Fault fault, Status.Code got) {
        List<String> files = new ArrayList<>(before.keySet());
        boolean done = got == Status.Code.OK;
        if (op == Op.PUT_NEW && done) {
            files.add("alpha/refs/n1.arrow");
        } else if (op == Op.DELETE && done) {
            files.remove("alpha/refs/r1.arrow");
        } else if (op == Op.CREATE_PROBE_SET && done) {
            files.add("beta/probe-set.arrow");
        } else if (op == Op.LOAD && fault == Fault.READ) {
            files.remove("alpha/refs/r1.arrow");
            files.add("alpha/refs/r1.arrow.corrupt");
        }
        files.sort(null);
        return files;
    }

    private List<String> models(String probeSetId) {
        return new ImprintClient(channel).listReferences(probeSetId, Map.of()).stream().map(ReferenceMeta::modelId)
                .toList();
    }

    private void start(FileOps files) throws IOException {
        ImprintEngine engine = ImprintEngine.open(ArrowFingerprintStore.open(dataDir, files),
                new SelectedBackend(new CpuBackend(1), "cpu: chosen by the test"));
        server = new ImprintServer(ImprintServer.nettyBuilder("127.0.0.1", 0), engine,
                ImprintServer.Options.defaults()).start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    }
}
