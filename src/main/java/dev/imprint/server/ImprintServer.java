package dev.imprint.server;

import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.TenantEngines;
import dev.imprint.security.AuditLog;
import dev.imprint.security.Authenticator;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * The Imprint gRPC server: the {@code imprint.v1.Imprint} service, {@code grpc.health.v1.Health}
 * and server reflection (v1), over one {@link ImprintEngine} per tenant ({@link TenantEngines}),
 * which it owns and closes on stop. {@link Security} says whether calls need a token and role
 * ({@link MethodRoles}) and where they are audited; a token's tenant picks the engine that serves
 * its calls. Health (and reflection, when served) need no token.
 *
 * <p>Lifecycle: {@link #start()} binds and marks health SERVING; {@link #stop()} runs the fixed
 * order health NOT_SERVING, {@code shutdown()}, {@code awaitTermination(grace)},
 * {@code shutdownNow()}, then closes the engines, so in-flight calls finish (or are cut after the
 * grace period) before the store closes. {@link #blockUntilShutdown()} returns once all of that is
 * done.
 *
 * <p>Message size: the server accepts messages up to {@link Options#maxInboundMessageBytes()}
 * (default {@value #DEFAULT_MAX_INBOUND_MESSAGE_BYTES} bytes); a larger one fails with
 * RESOURCE_EXHAUSTED. Fingerprints of any size go through PutReference's row chunks, each of which
 * must fit the limit.
 */
public final class ImprintServer {
    private static final Logger LOG = Logger.getLogger(ImprintServer.class.getName());
    /**
     * 64 MiB: a suspect of 256 probes × 32768 dims (32 MiB; 32768 is the largest dim the metric
     * contract covers) fits one Score request with room to spare.
     */
    public static final int DEFAULT_MAX_INBOUND_MESSAGE_BYTES = 64 << 20;
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(10);
    /** The service name health and reflection report. */
    public static final String SERVICE_NAME = "imprint.v1.Imprint";

    private final Server server;
    private final TenantEngines engines;
    private final HealthStatusManager health = new HealthStatusManager();
    private final ExecutorService streamWorkers = Executors.newCachedThreadPool(daemonThreads("imprint-stream-"));
    private final Options options;
    private final AuditLog audit;
    private final CallRecordInterceptor calls = new CallRecordInterceptor();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Object lifecycle = new Object();
    private boolean stopping;

    /**
     * How the server treats its clients.
     *
     * @param maxInboundMessageBytes the largest request message accepted, in bytes
     * @param shutdownGrace          how long {@link #stop()} lets in-flight calls finish before cutting them
     */
    public record Options(int maxInboundMessageBytes, Duration shutdownGrace) {
        public Options {
            if (maxInboundMessageBytes <= 0) {
                throw new IllegalArgumentException("maxInboundMessageBytes=" + maxInboundMessageBytes
                        + "; expected a positive number of bytes");
            }
            if (shutdownGrace.isNegative()) {
                throw new IllegalArgumentException("shutdownGrace=" + shutdownGrace + "; expected >= 0");
            }
        }

        public static Options defaults() {
            return new Options(DEFAULT_MAX_INBOUND_MESSAGE_BYTES, DEFAULT_SHUTDOWN_GRACE);
        }
    }

    /**
     * Who may call, and what is written down about it.
     *
     * @param reflection    whether server reflection is served (it needs no token: it shows the public schema)
     * @param authenticator checks tokens and roles ({@link AuthInterceptor}); null lets every call through
     * @param audit         where each call is written down ({@link AuditSink}), which the server then
     *                      owns and closes on stop; null for no audit
     */
    public record Security(boolean reflection, Authenticator authenticator, AuditLog audit) {
        /** Reflection on, every call let through, nothing audited: a server for tests and {@code demo}. */
        public static Security open() {
            return new Security(true, null, null);
        }
    }

    /**
     * Builds a server on {@code builder} (Netty for real use, in-process in some tests) serving
     * {@code engine}, which it now owns; open to every caller ({@link Security#open()}).
     */
    public ImprintServer(ServerBuilder<?> builder, ImprintEngine engine, Options options) {
        this(builder, engine, options, Security.open(), ResourceLimits.defaults());
    }

    /** As {@link #ImprintServer(ServerBuilder, ImprintEngine, Options)}, guarded as {@code security} says. */
    public ImprintServer(ServerBuilder<?> builder, ImprintEngine engine, Options options, Security security) {
        this(builder, engine, options, security, ResourceLimits.defaults());
    }

    /** As {@link #ImprintServer(ServerBuilder, ImprintEngine, Options)}, taking on at most what {@code limits} allow. */
    public ImprintServer(ServerBuilder<?> builder, ImprintEngine engine, Options options, ResourceLimits limits) {
        this(builder, engine, options, Security.open(), limits);
    }

    /** One engine for the default tenant, guarded as {@code security} says, taking on at most what {@code limits} allow. */
    public ImprintServer(ServerBuilder<?> builder, ImprintEngine engine, Options options, Security security,
                         ResourceLimits limits) {
        this(builder, TenantEngines.single(engine), options, security, limits);
    }

    /**
     * Serves each token's tenant from its own engine in {@code engines}, which the server now owns;
     * guarded as {@code security} says, taking on at most what {@code limits} allow.
     */
    public ImprintServer(ServerBuilder<?> builder, TenantEngines engines, Options options, Security security,
                         ResourceLimits limits) {
        this.engines = engines;
        this.options = options;
        this.audit = security.audit();
        builder.maxInboundMessageSize(options.maxInboundMessageBytes())
                .addService(ServerInterceptors.intercept(new ImprintService(engines, version(),
                        options.maxInboundMessageBytes(), streamWorkers, limits),
                        new CallLimit(limits.maxConcurrentCalls())))
                .addService(health.getHealthService());
        if (security.reflection()) {
            builder.addService(ProtoReflectionServiceV1.newInstance()).addService(reflectionV1Alpha());
        }
        // Interceptors run in the reverse order of adding: the call records see every call, refusals
        // included, and authentication runs last, just before the call limit and the service.
        if (security.authenticator() != null) {
            builder.intercept(new AuthInterceptor(security.authenticator(),
                    limits.tokenCallsPerSecond() > 0 ? new TokenRates(limits.tokenCallsPerSecond()) : null));
        }
        if (security.audit() != null) {
            calls.add(new AuditSink(security.audit()));
        }
        this.server = builder.intercept(calls).build();
    }

    /**
     * Hands the {@link CallRecord} of every call that ends from now on to {@code sink} as well as
     * to the audit: the call log, metrics. Returns this server.
     */
    public ImprintServer recordCallsTo(CallSink sink) {
        calls.add(sink);
        return this;
    }

    /**
     * Server reflection as v1alpha too: grpc_cli and older grpcurl speak only that version, and
     * would get UNIMPLEMENTED from a server that serves v1 alone. Deprecated by grpc-java in favour
     * of v1, which is served as well.
     */
    @SuppressWarnings("deprecation")
    private static io.grpc.BindableService reflectionV1Alpha() {
        return io.grpc.protobuf.services.ProtoReflectionService.newInstance();
    }

    /** A plaintext Netty server builder bound to {@code host:port}; port 0 picks a free port (see {@link #port()}). */
    public static NettyServerBuilder nettyBuilder(String host, int port) {
        return nettyBuilder(host, port, null);
    }

    /**
     * A Netty server builder bound to {@code host:port} serving {@code credentials} (e.g.
     * {@code TlsServerCredentials}); null serves plaintext.
     */
    public static NettyServerBuilder nettyBuilder(String host, int port, ServerCredentials credentials) {
        InetSocketAddress address = new InetSocketAddress(host, port);
        return credentials == null ? NettyServerBuilder.forAddress(address)
                : NettyServerBuilder.forAddress(address, credentials);
    }

    /**
     * Binds the port, starts serving, reports SERVING on the health service and logs
     * {@code listening on HOST:PORT}. If binding fails, {@link #stop()} still releases the engine.
     */
    public ImprintServer start() throws IOException {
        server.start();
        health.setStatus("", ServingStatus.SERVING);
        health.setStatus(SERVICE_NAME, ServingStatus.SERVING);
        LOG.info("listening on " + listenAddress());
        return this;
    }

    /** The port the server is bound to (the free port chosen when it was asked for port 0); -1 if none. */
    public int port() {
        return server.getPort();
    }

    /** Where the server listens, as {@code host:port} (or the transport's own address form). */
    public String listenAddress() {
        for (SocketAddress address : server.getListenSockets()) {
            if (address instanceof InetSocketAddress inet) {
                String host = inet.getAddress() == null ? inet.getHostString() : inet.getAddress().getHostAddress();
                return (host.contains(":") ? "[" + host + "]" : host) + ":" + inet.getPort();
            }
        }
        return server.getListenSockets().toString();
    }

    public Options options() {
        return options;
    }

    /**
     * Stops gracefully, in the fixed order: health NOT_SERVING, shutdown, await termination for the
     * grace period, shutdownNow, close the engine. Safe to call more than once and from several threads.
     */
    public void stop() throws InterruptedException {
        synchronized (lifecycle) {
            if (stopping) {
                stopped.await();
                return;
            }
            stopping = true;
        }
        try {
            health.enterTerminalState();
            server.shutdown();
            if (!server.awaitTermination(options.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warning("calls still running after the " + options.shutdownGrace() + " grace period; cancelling them");
                server.shutdownNow();
                server.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            // Asked to hurry: cut the calls rather than close the engine under them.
            server.shutdownNow();
            throw e;
        } finally {
            streamWorkers.shutdownNow();
            engines.close();
            closeAudit();
            stopped.countDown();
            LOG.info("stopped");
        }
    }

    private void closeAudit() {
        if (audit == null) {
            return;
        }
        try {
            audit.close();
        } catch (IOException e) {
            LOG.warning("cannot close the audit log: " + e.getMessage());
        }
    }

    /** Waits until {@link #stop()} has finished, engine closed included. */
    public void blockUntilShutdown() throws InterruptedException {
        stopped.await();
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return task -> {
            Thread t = new Thread(task, prefix + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** The Imprint version: the build's project version, or "unknown" outside a Maven build. */
    public static String version() {
        try (InputStream in = ImprintServer.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the bundled version.properties", e);
        }
    }
}
