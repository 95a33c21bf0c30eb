package dev.imprint.cli;

import dev.imprint.endpoint.SyntheticEndpoint;
import dev.imprint.endpoint.SyntheticModels;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * {@code imprint endpoint}: serves the synthetic models over HTTP as an OpenAI-compatible endpoint
 * until SIGTERM or Ctrl-C. Once it accepts requests it prints exactly one line, {@code serving
 * synthetic models at BASE_URL: ids...}, with the port it chose when given {@code --port 0}; on
 * SIGTERM it stops and exits 0.
 */
@Command(name = "endpoint", mixinStandardHelpOptions = true,
        description = "Serve deterministic synthetic models as a loopback stand-in for an OpenAI-compatible "
                + "endpoint (models, chat/completions with logprobs, completions, embeddings), for trying capture "
                + "and for tests, until SIGTERM or Ctrl-C.")
final class EndpointCommand implements Callable<Integer> {
    private static final Signal TERM = new Signal("TERM");

    @Spec
    private CommandSpec spec;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "Address to listen on.")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8099",
            description = "Port to listen on; 0 picks a free one (printed in the 'serving' line).")
    int port;

    @Option(names = "--api-key-env", paramLabel = "VAR",
            description = "Name of an environment variable holding the API key requests must carry as "
                    + "'Authorization: Bearer KEY'; without it any request is served. The key itself is never a flag.")
    String apiKeyEnv;

    private final CountDownLatch stopped = new CountDownLatch(1);

    @Override
    public Integer call() throws InterruptedException {
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--port=" + port + "; expected 0..65535");
        }
        String apiKey = apiKey();
        SyntheticEndpoint endpoint;
        try {
            endpoint = SyntheticEndpoint.start(host, port, apiKey);
        } catch (IOException | RuntimeException e) {
            throw new CliException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
        }
        // SIGTERM, what service managers send, ends the wait below so the process exits 0; any other
        // exit (SIGINT) still closes the server through the hook.
        Thread hook = new Thread(this::stop, "imprint-endpoint-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        SignalHandler previous = onSigterm(this::stop);
        try (endpoint) {
            PrintWriter out = spec.commandLine().getOut();
            out.println("serving synthetic models at " + endpoint.baseUrl() + ": " + endpoint.models().all().stream()
                    .map(SyntheticModels.Model::id).collect(Collectors.joining(", ")));
            out.flush();
            stopped.await();
            return ImprintCli.EXIT_OK;
        } finally {
            removeHook(hook);
            if (previous != null) {
                Signal.handle(TERM, previous);
            }
        }
    }

    /** Ends the serving; what SIGTERM runs. */
    void stop() {
        stopped.countDown();
    }

    /** The key from the variable {@code --api-key-env} names; null without the option. */
    private String apiKey() {
        if (apiKeyEnv == null) {
            return null;
        }
        String key = EnvDefaults.variable(spec.commandLine(), apiKeyEnv);
        if (key == null) {
            throw new CliException("--api-key-env=" + apiKeyEnv + " but the variable " + apiKeyEnv
                    + " is not set or empty; set it to the API key, or leave the option out to serve without one");
        }
        return key;
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

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The JVM is already exiting through the hook; nothing to unregister.
        }
    }
}
