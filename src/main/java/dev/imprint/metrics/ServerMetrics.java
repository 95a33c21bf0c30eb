package dev.imprint.metrics;

import dev.imprint.engine.BatchListener;
import dev.imprint.engine.EngineInfo;
import dev.imprint.server.CallRecord;
import dev.imprint.server.CallSink;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The server's Prometheus metrics, in a registry of its own (so several servers in one JVM, as in
 * tests, never share counts), served as {@code http://HOST:PORT/metrics} once {@link #serve} binds
 * a port. Calls arrive as {@link CallRecord}s ({@code ImprintServer.recordCallsTo}), batches
 * through {@link BatchListener} ({@code ImprintEngine.addBatchListener}), and the engines' state is
 * read at each scrape ({@link #watch}).
 *
 * <pre>
 * imprint_rpc_requests_total{method,code}        counter    calls ended, by full method name and status code
 * imprint_rpc_duration_seconds{method,code}      histogram  their duration
 * imprint_auth_failures_total{reason}            counter    unauthenticated, permission_denied
 * imprint_scoring_batch_suspects                 histogram  suspects per backend scoring batch
 * </pre>
 * and the gauges of {@link EngineCollector}, and the JVM's ({@code jvm_*}, {@code process_*}).
 */
public final class ServerMetrics implements CallSink, BatchListener, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ServerMetrics.class.getName());
    /** From half a millisecond (a lookup) to five minutes (a bulk ScoreStream). */
    private static final double[] DURATION_BOUNDS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
    /** Powers of two up to ImprintEngine.MAX_BATCH. */
    private static final double[] BATCH_BOUNDS = {1, 2, 4, 8, 16, 32, 64, 128, 256};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Histogram durations;
    private final Counter authFailures;
    private final Histogram batchSuspects;
    private volatile HTTPServer http;
    private volatile String url;
    private boolean watching;

    /** Call, batch and JVM metrics; the engines' gauges once {@link #watch} says where to read them. */
    public ServerMetrics() {
        requests = Counter.builder().name("imprint_rpc_requests_total")
                .help("gRPC calls ended, by full method name and status code")
                .labelNames("method", "code").withoutExemplars().register(registry);
        durations = Histogram.builder().name("imprint_rpc_duration_seconds").unit(Unit.SECONDS)
                .help("Duration of gRPC calls, from their start to their status, by method and status code")
                .labelNames("method", "code").classicOnly().classicUpperBounds(DURATION_BOUNDS)
                .withoutExemplars().register(registry);
        authFailures = Counter.builder().name("imprint_auth_failures_total")
                .help("Calls refused for want of a valid token (unauthenticated) or of a role allowed the method "
                        + "(permission_denied)")
                .labelNames("reason").withoutExemplars().register(registry);
        authFailures.initLabelValues("unauthenticated");
        authFailures.initLabelValues("permission_denied");
        batchSuspects = Histogram.builder().name("imprint_scoring_batch_suspects")
                .help("Suspects per backend scoring batch (concurrent calls merged, see serve --batch-max-suspects)")
                .classicOnly().classicUpperBounds(BATCH_BOUNDS).withoutExemplars().register(registry);
        JvmMetrics.builder().register(registry);
    }

    /**
     * Reports the state of the engines {@code engines} supplies at each scrape, summed (see
     * {@link EngineCollector}). Once only: a second call would report every gauge twice.
     */
    public synchronized ServerMetrics watch(Supplier<? extends Collection<EngineInfo>> engines) {
        if (watching) {
            throw new IllegalStateException("already watching engines; give one supplier that covers them all");
        }
        watching = true;
        registry.register(new EngineCollector(engines));
        return this;
    }

    /**
     * Serves the metrics at {@code http://host:port/metrics} until {@link #close()}; port 0 picks
     * a free one. Logs the URL, and a WARNING when {@code host} is not loopback, as the endpoint
     * has no authentication.
     *
     * @throws IOException when the port cannot be bound
     */
    public ServerMetrics serve(String host, int port) throws IOException {
        HTTPServer started = HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart();
        http = started;
        url = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + started.getPort() + "/metrics";
        LOG.info("metrics on " + url);
        InetSocketAddress address = new InetSocketAddress(host, 0);
        if (address.isUnresolved() || !address.getAddress().isLoopbackAddress()) {
            LOG.warning("metrics are served unauthenticated to the network on " + host + " (--metrics-host): anyone "
                    + "who reaches port " + started.getPort() + " can read them; bind loopback or firewall it");
        }
        return this;
    }

    /** The port metrics are served on; -1 before {@link #serve}. */
    public int port() {
        HTTPServer h = http;
        return h == null ? -1 : h.getPort();
    }

    /** {@code http://HOST:PORT/metrics}; null before {@link #serve}. */
    public String url() {
        return url;
    }

    /** The registry holding every metric, for scraping in-process. */
    public PrometheusRegistry registry() {
        return registry;
    }

    @Override
    public void accept(CallRecord call) {
        String method = call.method();
        String code = call.outcome().name();
        requests.labelValues(method, code).inc();
        durations.labelValues(method, code).observe(call.durationSeconds());
        switch (call.outcome()) {
            case UNAUTHENTICATED -> authFailures.labelValues("unauthenticated").inc();
            case PERMISSION_DENIED -> authFailures.labelValues("permission_denied").inc();
            default -> {
            }
        }
    }

    @Override
    public void batchScored(int calls, int suspects) {
        batchSuspects.observe(suspects);
    }

    /** Stops serving; safe to call more than once. */
    @Override
    public void close() {
        HTTPServer h = http;
        http = null;
        if (h != null) {
            h.close();
        }
    }
}
