package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.endpoint.SyntheticEndpoint;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code endpoint} in a thread over a real loopback port. */
class EndpointCommandTest {
    private static final Pattern SERVING =
            Pattern.compile("serving synthetic models at (http://127\\.0\\.0\\.1:\\d+/v1): (.+)");

    private final ExecutorService thread = Executors.newSingleThreadExecutor();

    @AfterEach
    void release() {
        thread.shutdownNow();
    }

    @Test
    void printsOneServingLineServesTheModelsAndStopsWithExitZero() throws Exception {
        CommandLine cli = ImprintCli.commandLine(Map.of());
        EndpointCommand command = cli.getSubcommands().get("endpoint").getCommand();
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        Future<Integer> running = thread.submit(() -> cli.execute("endpoint", "--port", "0"));
        Matcher serving = awaitServing(out, running);
        assertTrue(serving.group(2).startsWith("atlas-7b, atlas-13b, atlas-70b, "), serving.group(2));

        HttpResponse<String> models = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(serving.group(1) + "/models")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, models.statusCode());
        JsonNode list = new ObjectMapper().readTree(models.body());
        assertEquals(serving.group(2).split(", ").length, list.get("data").size());

        command.stop();
        assertEquals(ImprintCli.EXIT_OK, running.get(30, TimeUnit.SECONDS));
        assertEquals(1, out.toString().lines().count(), out.toString());
    }

    @Test
    void portAlreadyInUseIsAOneLineFailure() throws Exception {
        try (SyntheticEndpoint busy = SyntheticEndpoint.start("127.0.0.1", 0, null)) {
            CliRun clash = CliRun.run("endpoint", "--port", Integer.toString(busy.port()));
            assertEquals(ImprintCli.EXIT_FAILURE, clash.exit(), clash.toString());
            assertEquals(1, clash.errLines().length, clash.toString());
            assertTrue(clash.err().contains("cannot listen on 127.0.0.1:" + busy.port()), clash.toString());
        }
    }

    @Test
    void anUnsetApiKeyVariableIsAOneLineFailure() {
        CliRun run = CliRun.run("endpoint", "--port", "0", "--api-key-env", "IMPRINT_TEST_VARIABLE_NEVER_SET");
        assertEquals(ImprintCli.EXIT_FAILURE, run.exit(), run.toString());
        assertEquals(1, run.errLines().length, run.toString());
        assertTrue(run.err().contains("IMPRINT_TEST_VARIABLE_NEVER_SET is not set"), run.toString());
    }

    @Test
    void portOutOfRangeIsAUsageError() {
        CliRun run = CliRun.run("endpoint", "--port", "70000");
        assertEquals(ImprintCli.EXIT_USAGE, run.exit(), run.toString());
        assertTrue(run.err().contains("--port=70000; expected 0..65535"), run.toString());
    }

    private static Matcher awaitServing(StringWriter out, Future<Integer> running) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            Matcher m = SERVING.matcher(out.toString());
            if (m.find()) {
                return m;
            }
            if (running.isDone()) {
                throw new AssertionError("endpoint ended with " + running.get() + " before serving: " + out);
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no serving line in 30 s: " + out);
    }
}
