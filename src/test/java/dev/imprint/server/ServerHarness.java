package dev.imprint.server;

import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.client.ImprintClient;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.ScoreBatching;
import dev.imprint.engine.ScoringBackend;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.store.ArrowFingerprintStore;
import io.grpc.ManagedChannel;
import io.grpc.ServerInterceptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * A real Imprint server on a free loopback port over a data directory, with a raw stub and an
 * {@link ImprintClient} connected to it. Each test creates its own and closes it.
 */
public final class ServerHarness implements AutoCloseable {
    /** A deliberately small message limit so tests can exceed it cheaply. */
    public static final int TEST_MESSAGE_LIMIT = 1 << 20;

    private final Path dataDir;
    private final Supplier<ScoringBackend> backends;
    private final ScoreBatching batching;
    private final ServerInterceptor[] extraInterceptors;
    private ImprintEngine engine;
    private ImprintServer server;
    private ManagedChannel channel;
    private ImprintClient client;

    private ServerHarness(Path dataDir, Supplier<ScoringBackend> backends, ScoreBatching batching,
                          ServerInterceptor... extraInterceptors) {
        this.dataDir = dataDir;
        this.backends = backends;
        this.batching = batching;
        this.extraInterceptors = extraInterceptors;
    }

    /** Starts a server over {@code dataDir} on a one-thread CPU backend; {@code interceptors} see every call first. */
    public static ServerHarness start(Path dataDir, ServerInterceptor... interceptors) throws IOException {
        return start(dataDir, () -> new CpuBackend(1), ScoreBatching.defaults(), interceptors);
    }

    /** Starts a server over {@code dataDir} on a backend from {@code backends} (one per start), batching as given. */
    public static ServerHarness start(Path dataDir, Supplier<ScoringBackend> backends, ScoreBatching batching,
                                      ServerInterceptor... interceptors) throws IOException {
        ServerHarness h = new ServerHarness(dataDir, backends, batching, interceptors);
        h.open();
        return h;
    }

    private void open() throws IOException {
        ScoringBackend backend = backends.get();
        engine = ImprintEngine.open(ArrowFingerprintStore.open(dataDir),
                new SelectedBackend(backend, backend.name() + ": chosen by the test harness"), batching);
        NettyServerBuilder builder = ImprintServer.nettyBuilder("127.0.0.1", 0);
        for (ServerInterceptor i : extraInterceptors) {
            builder.intercept(i);
        }
        server = new ImprintServer(builder, engine,
                new ImprintServer.Options(TEST_MESSAGE_LIMIT, Duration.ofSeconds(5))).start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        client = new ImprintClient(NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build());
    }

    /** Stops the server gracefully and starts a new one over the same data directory. */
    public void restart() throws IOException, InterruptedException {
        closeConnections();
        server.stop();
        open();
    }

    public ImprintServer server() {
        return server;
    }

    /** The engine the server runs on, for comparing answers with in-process calls. */
    public ImprintEngine engine() {
        return engine;
    }

    public ImprintClient client() {
        return client;
    }

    public ManagedChannel channel() {
        return channel;
    }

    public ImprintGrpc.ImprintBlockingStub stub() {
        return ImprintGrpc.newBlockingStub(channel);
    }

    public ImprintGrpc.ImprintStub asyncStub() {
        return ImprintGrpc.newStub(channel);
    }

    public Path dataDir() {
        return dataDir;
    }

    /** Everything a client and the disk can see: probe sets, their references, and every file with its bytes. */
    public Snapshot snapshot() {
        Map<String, List<ReferenceMeta>> refs = new TreeMap<>();
        List<ProbeSet> sets = client.listProbeSets();
        for (ProbeSet set : sets) {
            refs.put(set.id(), client.listReferences(set.id(), Map.of()));
        }
        return new Snapshot(sets, refs, files(dataDir));
    }

    /** Every regular file under {@code dir} (relative path) with a hash of its content. */
    public static Map<String, Integer> files(Path dir) {
        Map<String, Integer> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                files.put(dir.relativize(p).toString(), Arrays.hashCode(Files.readAllBytes(p)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files;
    }

    /** What {@link #snapshot()} records. */
    public record Snapshot(List<ProbeSet> probeSets, Map<String, List<ReferenceMeta>> references,
                           Map<String, Integer> files) {
    }

    private void closeConnections() throws InterruptedException {
        client.close();
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        try {
            closeConnections();
        } finally {
            server.stop();
        }
    }
}
