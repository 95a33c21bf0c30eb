package dev.imprint.cli;

import dev.imprint.core.ProbeSet;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.TenantEngines;
import dev.imprint.engine.ScoreBatching;
import dev.imprint.metrics.ServerMetrics;
import dev.imprint.security.AuditLog;
import dev.imprint.security.TokenAuthenticator;
import dev.imprint.security.TokenFile;
import dev.imprint.server.CallLog;
import dev.imprint.server.ImprintServer;
import dev.imprint.tls.ServerTls;
import dev.imprint.tls.TlsFileException;
import io.grpc.ServerCredentials;
import dev.imprint.server.ResourceLimits;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.UnresolvedAddressException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * {@code imprint serve}: runs the gRPC server over a data directory until SIGTERM or Ctrl-C. Once
 * it accepts calls the server logs exactly one line {@code listening on HOST:PORT} (with the port
 * it chose when given {@code --port 0}); on SIGTERM it stops gracefully and exits 0.
 *
 * <p>Transport: TLS with {@code --tls-cert} and {@code --tls-key}, mutual TLS with
 * {@code --tls-client-ca} too. Plaintext is the default on loopback only; elsewhere it needs
 * {@code --insecure}, and then logs one WARNING line.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Run the Imprint gRPC server over a data directory until SIGTERM or Ctrl-C.")
final class ServeCommand implements Callable<Integer> {
    private static final Logger LOG = Logger.getLogger(ServeCommand.class.getName());

    @Spec
    private CommandSpec spec;

    @Mixin
    private BackendOptions backendOptions;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "Address to listen on; 0.0.0.0 for every interface.")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "50051",
            description = "Port to listen on; 0 picks a free one (logged in the 'listening on' line).")
    int port;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "./imprint-data",
            description = "Data directory holding probe sets and references (created if missing).")
    Path dataDir;

    @Option(names = "--max-message-bytes", paramLabel = "BYTES",
            defaultValue = "" + ImprintServer.DEFAULT_MAX_INBOUND_MESSAGE_BYTES,
            description = "Largest request message accepted; larger fingerprints go up in row chunks.")
    int maxMessageBytes;

    @Option(names = "--shutdown-grace-seconds", paramLabel = "SECONDS", defaultValue = "10",
            description = "On stop, how long in-flight calls may finish before they are cut.")
    long shutdownGraceSeconds;

    @Option(names = "--batch-max-suspects", paramLabel = "N", defaultValue = "" + ScoreBatching.DEFAULT_MAX_SUSPECTS,
            description = "Most suspects one scoring batch takes from concurrent Score calls and ScoreStream "
                    + "requests with the same probe set and options; 1 turns merging off (1.." + ImprintEngine.MAX_BATCH
                    + ").")
    int batchMaxSuspects;

    @Option(names = "--batch-max-queue-delay-us", paramLabel = "MICROS", defaultValue = "0",
            description = "Longest a batch waits for more calls to fill it, from its oldest call's arrival; 0 waits "
                    + "for nothing (calls that arrive during a batch still form the next one). At most 1000000.")
    long batchMaxQueueDelayMicros;

    @Option(names = "--auth", paramLabel = "auto|on|off", defaultValue = "auto",
            description = "Whether calls need a bearer token (see 'imprint token'): auto once the data directory "
                    + "holds a token (and from then on until the server stops), on always, off never (local "
                    + "development only; logs a WARNING). Default: ${DEFAULT-VALUE}.")
    String auth;

    @Option(names = "--reflection", paramLabel = "on|off", defaultValue = "on",
            description = "Serve gRPC server reflection (grpcurl list); it needs no token. Default: ${DEFAULT-VALUE}.")
    String reflection;

    @Option(names = "--audit-max-bytes", paramLabel = "BYTES", defaultValue = "" + AuditLog.DEFAULT_MAX_BYTES,
            description = "Size past which the audit log <data-dir>/~audit/audit.jsonl is rotated. "
                    + "Default: ${DEFAULT-VALUE}.")
    long auditMaxBytes;

    @Option(names = "--audit-keep", paramLabel = "N", defaultValue = "" + AuditLog.DEFAULT_KEEP,
            description = "How many rotated audit logs (audit.jsonl.1 newest .. .N) to keep. Default: ${DEFAULT-VALUE}.")
    int auditKeep;

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "Serve TLS with this PEM certificate chain (the server's certificate first); needs --tls-key.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE",
            description = "The unencrypted PKCS#8 PEM private key of --tls-cert.")
    Path tlsKey;

    @Option(names = "--tls-client-ca", paramLabel = "FILE",
            description = "With --tls-cert, require every client to present a certificate signed by a CA in this "
                    + "PEM file (mutual TLS).")
    Path tlsClientCa;

    @Option(names = "--insecure",
            description = "Allow plaintext on an address other than loopback: anyone who reaches the port can make "
                    + "every call. Without TLS, --host must be loopback (127.0.0.0/8, ::1, localhost) otherwise.")
    boolean insecure;

    @Option(names = "--max-concurrent-uploads", paramLabel = "N",
            defaultValue = "" + ResourceLimits.DEFAULT_MAX_CONCURRENT_UPLOADS,
            description = "Most PutReference calls past their header at once; more get RESOURCE_EXHAUSTED.")
    int maxConcurrentUploads;

    @Option(names = "--max-upload-bytes-in-flight", paramLabel = "BYTES", defaultValue = "0",
            description = "Most bytes uploads in flight may hold, each counted as num_probes*dim*4 from its header; "
                    + "0 means half the JVM's largest heap.")
    long maxUploadBytesInFlight;

    @Option(names = "--max-concurrent-calls", paramLabel = "N",
            defaultValue = "" + ResourceLimits.DEFAULT_MAX_CONCURRENT_CALLS,
            description = "Most Imprint calls in flight at once (a stream counts once); more get RESOURCE_EXHAUSTED.")
    int maxConcurrentCalls;

    @Option(names = "--max-queued-suspects", paramLabel = "N",
            defaultValue = "" + ResourceLimits.DEFAULT_MAX_QUEUED_SUSPECTS,
            description = "Most suspects waiting for or in a scoring batch, over all calls; more get RESOURCE_EXHAUSTED.")
    int maxQueuedSuspects;

    @Option(names = "--token-rate", paramLabel = "CALLS", defaultValue = "0",
            description = "Calls per second each token may make, in bursts of up to a second's worth; more get "
                    + "RESOURCE_EXHAUSTED. 0 (the default) for no limit.")
    double tokenRate;

    @Option(names = "--max-probe-set-values", paramLabel = "N", defaultValue = "" + ProbeSet.MAX_ELEMENTS,
            description = "Largest num_probes*dim a CreateProbeSet may ask for (1.." + ProbeSet.MAX_ELEMENTS + ").")
    long maxProbeSetValues;

    @Option(names = "--log-format", paramLabel = "text|json", defaultValue = "text",
            description = "How the server logs on stderr: text (time, level, message) or json (one JSON object "
                    + "per line, every line). Default: ${DEFAULT-VALUE}.")
    String logFormat;

    @Option(names = "--log-calls", paramLabel = "all|failures|off", defaultValue = "all",
            description = "Which calls get a log line (method, probe set, status, duration, request id, token "
                    + "name): all, failures (any status but OK) or off. Default: all.")
    CallLog.Mode logCalls;

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics (HOST: --metrics-host); 0 picks a "
                    + "free port (logged). Off unless given. The endpoint has no authentication.")
    Integer metricsPort;

    @Option(names = "--metrics-host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "Address the metrics port listens on; one other than loopback logs a WARNING, as anyone "
                    + "who reaches it can read the metrics. Default: ${DEFAULT-VALUE}.")
    String metricsHost;

    private volatile ImprintServer server;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--port=" + port + "; expected 0..65535");
        }
        if (maxMessageBytes <= 0) {
            throw new ParameterException(spec.commandLine(),
                    "--max-message-bytes=" + maxMessageBytes + "; expected a positive number of bytes");
        }
        if (shutdownGraceSeconds < 0) {
            throw new ParameterException(spec.commandLine(),
                    "--shutdown-grace-seconds=" + shutdownGraceSeconds + "; expected 0 or more");
        }
        if (batchMaxSuspects < 1 || batchMaxSuspects > ImprintEngine.MAX_BATCH) {
            throw new ParameterException(spec.commandLine(),
                    "--batch-max-suspects=" + batchMaxSuspects + "; expected 1.." + ImprintEngine.MAX_BATCH);
        }
        if (batchMaxQueueDelayMicros < 0 || batchMaxQueueDelayMicros > ScoreBatching.MAX_QUEUE_DELAY_MICROS) {
            throw new ParameterException(spec.commandLine(), "--batch-max-queue-delay-us=" + batchMaxQueueDelayMicros
                    + "; expected 0.." + ScoreBatching.MAX_QUEUE_DELAY_MICROS);
        }
        TokenAuthenticator.Mode authMode;
        try {
            authMode = TokenAuthenticator.Mode.parse(auth);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (!reflection.equalsIgnoreCase("on") && !reflection.equalsIgnoreCase("off")) {
            throw new ParameterException(spec.commandLine(), "--reflection=" + reflection + "; expected on or off");
        }
        if (auditMaxBytes <= 0) {
            throw new ParameterException(spec.commandLine(),
                    "--audit-max-bytes=" + auditMaxBytes + "; expected a positive number of bytes");
        }
        if (auditKeep < 0) {
            throw new ParameterException(spec.commandLine(), "--audit-keep=" + auditKeep + "; expected 0 or more");
        }
        if (!logFormat.equalsIgnoreCase("text") && !logFormat.equalsIgnoreCase("json")) {
            throw new ParameterException(spec.commandLine(), "--log-format=" + logFormat + "; expected text or json");
        }
        if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
            throw new ParameterException(spec.commandLine(), "--metrics-port=" + metricsPort + "; expected 0..65535");
        }
        if (logFormat.equalsIgnoreCase("json")) {
            ImprintCli.logJson();
        }
        ServerTls tls = serverTls();
        // The files are read and checked before the data directory is locked or the port bound.
        ServerCredentials credentials;
        try {
            credentials = tls == null ? null : tls.credentials();
        } catch (TlsFileException e) {
            throw new CliException(e.getMessage());
        }
        if (tls != null) {
            LOG.info("serving " + tls.describe());
        } else if (!loopback(host)) {
            LOG.warning("serving plaintext to the network on " + host + " (--insecure): anyone who reaches the port "
                    + "can make every call unencrypted; use --tls-cert and --tls-key");
        }
        ResourceLimits limits = limits();
        ServerMetrics metrics = serveMetrics();
        try {
            return serve(credentials, authMode, limits, metrics);
        } finally {
            if (metrics != null) {
                metrics.close();
            }
        }
    }

    /** Opens the tenants' engines and serves until stopped, each call logged and, when {@code metrics} is not null, counted. */
    private int serve(ServerCredentials credentials, TokenAuthenticator.Mode authMode, ResourceLimits limits,
                      ServerMetrics metrics) throws IOException, InterruptedException {
        TenantEngines engines = backendOptions.openTenants(dataDir,
                new ScoreBatching(batchMaxSuspects, Duration.ofNanos(batchMaxQueueDelayMicros * 1000)));
        ImprintServer created;
        try {
            created = new ImprintServer(ImprintServer.nettyBuilder(host, port, credentials), engines,
                    new ImprintServer.Options(maxMessageBytes, Duration.ofSeconds(shutdownGraceSeconds)),
                    security(authMode), limits).recordCallsTo(new CallLog(logCalls));
            if (metrics != null) {
                metrics.watch(() -> engines.all().stream().map(ImprintEngine::info).toList());
                engines.addBatchListener(metrics);
                created.recordCallsTo(metrics);
            }
        } catch (RuntimeException | IOException e) {
            engines.close();
            throw e;
        }
        server = created;
        // Registered before the server starts: a SIGTERM right after "listening on" must stop it too.
        // SIGTERM, what service managers send, stops the server and returns here, so the process
        // exits 0 after a clean stop; any other exit (SIGINT, SIGHUP) still stops it through the hook.
        Thread hook = new Thread(this::stop, "imprint-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        SignalHandler previous = onSigterm(() -> new Thread(this::stop, "imprint-sigterm").start());
        try {
            try {
                created.start();
            } catch (IOException e) {
                created.stop();
                throw new CliException("cannot listen on " + host + ":" + port + ": " + rootMessage(e));
            }
            created.blockUntilShutdown();
            return ImprintCli.EXIT_OK;
        } finally {
            removeHook(hook);
            if (previous != null) {
                Signal.handle(TERM, previous);
            }
        }
    }

    /**
     * The metrics {@code --metrics-port} asks for, serving already, or null when it is not given.
     * They bind before the data directory opens, so a port in use is a usage error and nothing started.
     */
    private ServerMetrics serveMetrics() {
        if (metricsPort == null) {
            return null;
        }
        ServerMetrics metrics = new ServerMetrics();
        try {
            return metrics.serve(metricsHost, metricsPort);
        } catch (IOException | RuntimeException e) {
            throw new ParameterException(spec.commandLine(), "--metrics-port=" + metricsPort + ": cannot listen on "
                    + metricsHost + ":" + metricsPort + ": " + rootMessage(e));
        }
    }

    /** Tokens and audit as the flags say, each choice logged once. The engine holds the directory's lock by now. */
    private ImprintServer.Security security(TokenAuthenticator.Mode mode) throws IOException {
        TokenAuthenticator authenticator = null;
        if (mode == TokenAuthenticator.Mode.OFF) {
            LOG.warning("authentication is off (--auth off): any caller may read, score and delete everything"
                    + (tokenRate > 0 ? "; --token-rate limits nothing without tokens" : ""));
        } else {
            authenticator = new TokenAuthenticator(TokenFile.of(dataDir), mode);
            LOG.info(authenticator.describe());
        }
        AuditLog audit = AuditLog.open(dataDir, auditMaxBytes, auditKeep);
        return new ImprintServer.Security(reflection.equalsIgnoreCase("on"), authenticator, audit);
    }

    /**
     * The TLS the flags ask for, or null for plaintext, which only loopback gets without
     * {@code --insecure}.
     */
    private ServerTls serverTls() {
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new ParameterException(spec.commandLine(), tlsCert == null
                    ? "--tls-key=" + tlsKey + " needs --tls-cert, the certificate it belongs to"
                    : "--tls-cert=" + tlsCert + " needs --tls-key, its private key");
        }
        if (tlsCert == null) {
            if (tlsClientCa != null) {
                throw new ParameterException(spec.commandLine(),
                        "--tls-client-ca=" + tlsClientCa + " needs --tls-cert and --tls-key: mutual TLS is TLS");
            }
            if (!insecure && !loopback(host)) {
                throw new ParameterException(spec.commandLine(), "--host=" + host + " is not loopback and would "
                        + "serve plaintext to the network; give --tls-cert and --tls-key, or --insecure to allow it");
            }
            return null;
        }
        if (insecure) {
            throw new ParameterException(spec.commandLine(), "--insecure contradicts --tls-cert: the server serves TLS");
        }
        return new ServerTls(tlsCert, tlsKey, tlsClientCa);
    }

    /**
     * Whether {@code host} is a loopback address (127.0.0.0/8, ::1) or resolves to one, as
     * {@code localhost} does: the address the server would bind. A name that does not resolve
     * counts as loopback here; binding then fails and says so.
     */
    static boolean loopback(String host) {
        InetSocketAddress address = new InetSocketAddress(host, 0);
        return address.isUnresolved() || address.getAddress().isLoopbackAddress();
    }

    private static final Signal TERM = new Signal("TERM");

    /** The resource limits the flags ask for, or a command-line error naming the flag. */
    private ResourceLimits limits() {
        long uploadBytes = maxUploadBytesInFlight == 0 ? ResourceLimits.defaultMaxUploadBytesInFlight()
                : maxUploadBytesInFlight;
        String[] names = {"--max-concurrent-uploads", "--max-upload-bytes-in-flight", "--max-concurrent-calls",
                "--max-queued-suspects"};
        long[] values = {maxConcurrentUploads, maxUploadBytesInFlight, maxConcurrentCalls, maxQueuedSuspects};
        for (int i = 0; i < names.length; i++) {
            if (values[i] < (i == 1 ? 0 : 1)) {
                throw new ParameterException(spec.commandLine(), names[i] + "=" + values[i] + "; expected "
                        + (i == 1 ? "0 (half the heap) or more" : "at least 1"));
            }
        }
        if (maxProbeSetValues < 1 || maxProbeSetValues > ProbeSet.MAX_ELEMENTS) {
            throw new ParameterException(spec.commandLine(), "--max-probe-set-values=" + maxProbeSetValues
                    + "; expected 1.." + ProbeSet.MAX_ELEMENTS);
        }
        if (!(tokenRate >= 0) || Double.isInfinite(tokenRate)) {
            throw new ParameterException(spec.commandLine(), "--token-rate=" + tokenRate
                    + "; expected 0 (no limit) or a positive number of calls per second");
        }
        return new ResourceLimits(maxConcurrentUploads, uploadBytes, maxConcurrentCalls, maxQueuedSuspects,
                maxProbeSetValues, tokenRate);
    }

    /** Runs {@code action} on SIGTERM instead of exiting; the previous handler, or null if none could be set. */
    private static SignalHandler onSigterm(Runnable action) {
        try {
            return Signal.handle(TERM, signal -> action.run());
        } catch (IllegalArgumentException unavailable) {
            // The platform or the JVM (-Xrs) reserves it: the shutdown hook stops the server instead.
            return null;
        }
    }

    /** Stops the server gracefully; what the SIGTERM hook runs. No-op before the server exists. */
    void stop() {
        ImprintServer s = server;
        if (s == null) {
            return;
        }
        try {
            s.stop();
        } catch (InterruptedException e) {
            LOG.log(Level.WARNING, "interrupted while stopping; in-flight calls were cut");
            Thread.currentThread().interrupt();
        }
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The JVM is already exiting through the hook; nothing to unregister.
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        if (root instanceof UnresolvedAddressException) {
            return "the host does not resolve to an address";
        }
        return root.getMessage() == null ? root.toString() : root.getMessage();
    }
}
