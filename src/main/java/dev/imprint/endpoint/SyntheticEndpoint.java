package dev.imprint.endpoint;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP/1.1 server that plays an OpenAI-compatible endpoint ({@code /v1/models},
 * {@code /v1/chat/completions}, {@code /v1/completions}, {@code /v1/embeddings}) with the
 * deterministic {@link SyntheticModels}, for trying {@code imprint capture} and for testing it:
 * it records every request and plays the {@link Faults} a test queues.
 *
 * <p>Requests are answered concurrently, each on a thread of its own pool, so a slow fault
 * holds up only its own request.
 */
public final class SyntheticEndpoint implements AutoCloseable {
    /** Pending connections the socket holds while every handler is busy. */
    private static final int BACKLOG = 256;

    /**
     * One request as the endpoint received it: {@code model} and {@code promptText} are null when
     * the body has none (see {@link Faults} for how the prompt text is read); {@code status} is
     * the HTTP status answered, 0 while pending or when the connection was dropped.
     */
    public record Request(String path, String model, String promptText, String authorization, int status) {}

    private final HttpServer server;
    private final ExecutorService executor;
    private final Faults faults = new Faults();
    private final RequestLog log = new RequestLog();
    private final SyntheticModels models = SyntheticModels.catalog();

    private SyntheticEndpoint(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Starts serving on {@code host}:{@code port} (0 picks a free port). With a non-null
     * {@code apiKey}, a request without {@code Authorization: Bearer apiKey} gets 401 before any
     * fault applies. IOException when the address cannot be bound, e.g. a port in use.
     */
    public static SyntheticEndpoint start(String host, int port, String apiKey) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), BACKLOG);
        AtomicInteger threads = new AtomicInteger();
        ExecutorService executor = Executors.newCachedThreadPool(task -> {
            Thread t = new Thread(task, "synthetic-endpoint-" + threads.incrementAndGet());
            // A test that forgets to close the endpoint must not keep the JVM alive.
            t.setDaemon(true);
            return t;
        });
        SyntheticEndpoint endpoint = new SyntheticEndpoint(server, executor);
        server.createContext("/", new EndpointHandler(endpoint.models, apiKey, endpoint.faults, endpoint.log));
        server.setExecutor(executor);
        server.start();
        return endpoint;
    }

    /** The base URL clients use, e.g. {@code http://127.0.0.1:8099/v1}. */
    public String baseUrl() {
        InetAddress address = server.getAddress().getAddress();
        // A wildcard address is no place to connect to; loopback reaches the same server.
        String host = address.isAnyLocalAddress() ? "127.0.0.1"
                : address instanceof Inet6Address ? "[" + address.getHostAddress() + "]" : address.getHostAddress();
        return "http://" + host + ":" + port() + "/v1";
    }

    /** The port the server listens on; the chosen one when started with port 0. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** The fault queues; faults added take effect on the next requests. */
    public Faults faults() {
        return faults;
    }

    /** Every request received so far, in arrival order; a snapshot, safe to read while requests arrive. */
    public List<Request> requests() {
        return log.snapshot();
    }

    public SyntheticModels models() {
        return models;
    }

    /** Stops at once: in-flight requests (a slow fault's sleep included) end without an answer. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
