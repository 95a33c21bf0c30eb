package dev.imprint.cli;

import static dev.imprint.cli.TestScenario.assertRowsMatchEngine;
import static dev.imprint.cli.TestScenario.engineScores;
import static dev.imprint.cli.TestScenario.regenerate;
import static dev.imprint.cli.TestScenario.withShape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreResult;
import dev.imprint.io.ResultTable;
import dev.imprint.metrics.PrometheusText;
import dev.imprint.synth.SynthScenario;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code serve} in a thread over a real loopback port, and the commands that talk to it with --server. */
class ServeCommandTest {
    private static final Pattern LISTENING = Pattern.compile("listening on (127\\.0\\.0\\.1:(\\d+))");
    private static final Pattern METRICS = Pattern.compile("metrics on (http://127\\.0\\.0\\.1:\\d+/metrics)");

    @TempDir
    Path tmp;

    private final List<String> logged = new CopyOnWriteArrayList<>();
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            logged.add(record.getMessage());
            records.add(record);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    private final Logger root = Logger.getLogger("");
    private final ExecutorService thread = Executors.newSingleThreadExecutor();

    @BeforeEach
    void captureLogs() {
        root.addHandler(capture);
    }

    @AfterEach
    void release() {
        root.removeHandler(capture);
        thread.shutdownNow();
    }

    @Test
    void servePortZeroLogsOneListeningLineServesTheCommandsAndStops() throws Exception {
        Path data = tmp.resolve("served");
        CommandLine cli = ImprintCli.commandLine(Map.of());
        ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
        Future<CliRun> running = thread.submit(() -> CliRun.run(cli, "serve", "--port", "0", "--data-dir",
                data.toString(), "--shutdown-grace-seconds", "2"));
        String address = awaitListening(running);
        assertTrue(Integer.parseInt(address.substring(address.indexOf(':') + 1)) > 0, address);

        Path scenario = tmp.resolve("scenario");
        assertEquals(0, CliRun.run(withShape("synth", "--out", scenario.toString())).exit());
        Map<String, String> env = Map.of("IMPRINT_SERVER", address);
        CliRun put = CliRun.run(env, "put", scenario.resolve("references").toString());
        assertEquals(0, put.exit(), put.toString());
        assertTrue(put.out().contains("at server " + address), put.out());
        CliRun score = CliRun.run(env, "score", scenario.resolve("suspects.arrow").toString(), "--top-k", "2");
        assertEquals(0, score.exit(), score.toString());
        Path results = tmp.resolve("remote.arrow");
        CliRun rescore = CliRun.run(env, "rescore", scenario.resolve("suspects.arrow").toString(), "--out",
                results.toString());
        assertEquals(0, rescore.exit(), rescore.toString());
        CliRun info = CliRun.run(env, "info");
        assertEquals(0, info.exit(), info.toString());
        assertTrue(info.out().lines().anyMatch(l -> l.matches("references: +6")), info.out());
        CliRun listed = CliRun.run(env, "list", "--probe-set", "ps1");
        assertEquals(0, listed.exit(), listed.toString());
        assertTrue(listed.out().contains("6 references in probe set ps1 at server " + address), listed.out());

        serve.stop();
        CliRun stopped = running.get(30, TimeUnit.SECONDS);
        assertEquals(0, stopped.exit(), stopped.toString());
        assertEquals(1, logged.stream().filter(m -> m.startsWith("listening on")).count(), logged.toString());

        // What the server stored and scored is what an engine over its data directory computes.
        SynthScenario expected = regenerate(ProbeSetKind.DISTRIBUTION);
        Map<String, ScoreResult> engine = engineScores(data, expected, Metric.defaultsFor(ProbeSetKind.DISTRIBUTION));
        List<ResultTable.Row> rows;
        try (BufferAllocator allocator = new RootAllocator()) {
            rows = ResultTable.readAll(allocator, results);
        }
        assertRowsMatchEngine(rows, engine, expected);
    }

    @Test
    void portAlreadyInUseIsAOneLineFailure() throws Exception {
        CommandLine first = ImprintCli.commandLine(Map.of());
        ServeCommand serve = first.getSubcommands().get("serve").getCommand();
        Future<CliRun> running = thread.submit(() -> CliRun.run(first, "serve", "--port", "0", "--data-dir",
                tmp.resolve("a").toString()));
        String address = awaitListening(running);
        try {
            CliRun clash = CliRun.run("serve", "--port", address.substring(address.indexOf(':') + 1), "--data-dir",
                    tmp.resolve("b").toString());
            assertEquals(ImprintCli.EXIT_FAILURE, clash.exit(), clash.toString());
            assertEquals(1, clash.errLines().length, clash.toString());
            assertTrue(clash.err().contains("cannot listen on 127.0.0.1:"), clash.toString());
        } finally {
            serve.stop();
        }
        assertEquals(0, running.get(30, TimeUnit.SECONDS).exit());
    }

    @Test
    void portOutOfRangeIsAUsageError() {
        CliRun run = CliRun.run("serve", "--port", "70000", "--data-dir", tmp.toString());
        assertEquals(ImprintCli.EXIT_USAGE, run.exit(), run.toString());
        assertTrue(run.err().contains("--port=70000; expected 0..65535"), run.toString());
    }

    @Test
    void batchingLimitsOutOfRangeAreUsageErrors() {
        CliRun none = CliRun.run("serve", "--batch-max-suspects", "0", "--data-dir", tmp.toString());
        assertEquals(ImprintCli.EXIT_USAGE, none.exit(), none.toString());
        assertTrue(none.err().contains("--batch-max-suspects=0; expected 1..256"), none.toString());
        CliRun slow = CliRun.run("serve", "--batch-max-queue-delay-us", "1000001", "--data-dir", tmp.toString());
        assertEquals(ImprintCli.EXIT_USAGE, slow.exit(), slow.toString());
        assertTrue(slow.err().contains("--batch-max-queue-delay-us=1000001; expected 0..1000000"), slow.toString());
    }

    @Test
    void batchingSettingsComeFromFlagsOrTheEnvironmentAndShowInInfo() throws Exception {
        CommandLine cli = ImprintCli.commandLine(Map.of("IMPRINT_BATCH_MAX_SUSPECTS", "8"));
        ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
        Future<CliRun> running = thread.submit(() -> CliRun.run(cli, "serve", "--port", "0", "--data-dir",
                tmp.resolve("batching").toString(), "--batch-max-queue-delay-us", "250"));
        String address = awaitListening(running);
        try {
            CliRun info = CliRun.run(Map.of("IMPRINT_SERVER", address), "info");
            assertEquals(0, info.exit(), info.toString());
            assertTrue(info.out().lines().anyMatch(l -> l.matches("batch_max_suspects: +8")), info.out());
            assertTrue(info.out().lines().anyMatch(l -> l.matches("batch_max_queue_delay_us: +250")), info.out());
        } finally {
            serve.stop();
        }
        assertEquals(0, running.get(30, TimeUnit.SECONDS).exit());
    }

    @Test
    void serveOverADirectoryWithATokenDemandsItFromCommandsAndAuditsTheirCalls() throws Exception {
        Path data = tmp.resolve("guarded");
        CliRun created = CliRun.run("token", "create", "ops", "--role", "reader", "--data-dir", data.toString());
        assertEquals(0, created.exit(), created.toString());
        String token = created.out().strip();
        CommandLine cli = ImprintCli.commandLine(Map.of());
        ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
        Future<CliRun> running = thread.submit(() -> CliRun.run(cli, "serve", "--port", "0", "--data-dir",
                data.toString(), "--reflection", "off"));
        String address = awaitListening(running);
        try {
            assertTrue(logged.stream().anyMatch(m -> m.startsWith("authentication is on: 1 token(s)")),
                    logged.toString());
            CliRun info = CliRun.run(Map.of("IMPRINT_TOKEN", token), "info", "--server", address);
            assertEquals(0, info.exit(), info.toString());
            assertTrue(info.out().contains("probe_sets:"), info.out());
            assertFalse(info.out().contains(token) || info.err().contains(token), info.toString());

            CliRun anonymous = CliRun.run("info", "--server", address);
            assertEquals(ImprintCli.EXIT_FAILURE, anonymous.exit(), anonymous.toString());
            assertEquals(1, anonymous.errLines().length, anonymous.toString());
            assertTrue(anonymous.err().contains("UNAUTHENTICATED: a bearer token is required"), anonymous.toString());

            CliRun denied = CliRun.run(Map.of("OPS_TOKEN", token), "delete", "--server", address, "--token-env",
                    "OPS_TOKEN", "--probe-set", "ps1", "--force");
            assertEquals(ImprintCli.EXIT_FAILURE, denied.exit(), denied.toString());
            assertEquals(1, denied.errLines().length, denied.toString());
            assertTrue(denied.err().contains("PERMISSION_DENIED: imprint.v1.Imprint/DeleteProbeSet needs role admin; "
                    + "token 'ops' has role reader"), denied.toString());

            CliRun unset = CliRun.run("info", "--server", address, "--token-env", "NOT_SET_ANYWHERE");
            assertEquals(ImprintCli.EXIT_FAILURE, unset.exit(), unset.toString());
            assertTrue(unset.err().contains("--token-env NOT_SET_ANYWHERE: the variable is not set"), unset.toString());
        } finally {
            serve.stop();
        }
        assertEquals(0, running.get(30, TimeUnit.SECONDS).exit());
        String audit = java.nio.file.Files.readString(data.resolve("~audit").resolve("audit.jsonl"));
        assertTrue(audit.contains("\"token\":\"ops\"") && audit.contains("\"outcome\":\"PERMISSION_DENIED\""), audit);
        assertFalse(audit.contains(token), audit);
    }

    /** The first reference file of a small synthetic scenario written to {@code name} under the temp dir. */
    private String firstSynthReference(String name) throws java.io.IOException {
        Path scenario = tmp.resolve(name);
        assertEquals(0, CliRun.run(withShape("synth", "--out", scenario.toString())).exit());
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(scenario.resolve("references"))) {
            return files.sorted().findFirst().orElseThrow().toString();
        }
    }

    @Test
    void aWriterPutsOntoAProbeSetAnAdminCreatedButCannotCreateOne() throws Exception {
        Path data = tmp.resolve("roles");
        String admin = CliRun.run("token", "create", "lab-admin", "--role", "admin", "--data-dir", data.toString())
                .out().strip();
        String writer = CliRun.run("token", "create", "pipeline", "--role", "writer", "--data-dir", data.toString())
                .out().strip();
        String reference = firstSynthReference("scenario");
        CommandLine cli = ImprintCli.commandLine(Map.of());
        ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
        Future<CliRun> running = thread.submit(() -> CliRun.run(cli, "serve", "--port", "0", "--data-dir",
                data.toString()));
        String address = awaitListening(running);
        try {
            CliRun first = CliRun.run(Map.of("IMPRINT_TOKEN", writer), "put", "--server", address, reference);
            assertEquals(ImprintCli.EXIT_FAILURE, first.exit(), first.toString());
            assertTrue(first.err().contains("CreateProbeSet needs role admin; token 'pipeline' has role writer"),
                    first.toString());
            CliRun byAdmin = CliRun.run(Map.of("IMPRINT_TOKEN", admin), "put", "--server", address, reference);
            assertEquals(0, byAdmin.exit(), byAdmin.toString());
            CliRun byWriter = CliRun.run(Map.of("IMPRINT_TOKEN", writer), "put", "--server", address, "--replace",
                    reference);
            assertEquals(0, byWriter.exit(), byWriter.toString());
        } finally {
            serve.stop();
        }
        assertEquals(0, running.get(30, TimeUnit.SECONDS).exit());
    }

    @Test
    void eachTenantsTokenSeesOnlyItsTenantAndTheDataLiesInTheTenantsDirectory() throws Exception {
        Path data = tmp.resolve("tenants");
        String labA = CliRun.run("token", "create", "a-admin", "--role", "admin", "--tenant", "lab-a", "--data-dir",
                data.toString()).out().strip();
        String labB = CliRun.run("token", "create", "b-admin", "--role", "admin", "--tenant", "lab-b", "--data-dir",
                data.toString()).out().strip();
        CliRun listed = CliRun.run("token", "list", "--data-dir", data.toString());
        assertTrue(listed.out().lines().anyMatch(l -> l.matches("a-admin +admin +lab-a +\\d{4}-.*Z")), listed.out());
        String reference = firstSynthReference("tenant-scenario");
        CommandLine cli = ImprintCli.commandLine(Map.of());
        ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
        Future<CliRun> running = thread.submit(() -> CliRun.run(cli, "serve", "--port", "0", "--data-dir",
                data.toString()));
        String address = awaitListening(running);
        try {
            CliRun put = CliRun.run(Map.of("IMPRINT_TOKEN", labA), "put", "--server", address, reference);
            assertEquals(0, put.exit(), put.toString());
            CliRun ownList = CliRun.run(Map.of("IMPRINT_TOKEN", labA), "list", "--server", address);
            assertEquals(0, ownList.exit(), ownList.toString());
            assertTrue(ownList.out().contains("ps1"), ownList.out());
            CliRun otherList = CliRun.run(Map.of("IMPRINT_TOKEN", labB), "list", "--server", address);
            assertEquals(0, otherList.exit(), otherList.toString());
            assertFalse(otherList.out().contains("ps1"), otherList.out());
            CliRun otherDelete = CliRun.run(Map.of("IMPRINT_TOKEN", labB), "delete", "--server", address,
                    "--probe-set", "ps1", "--force");
            assertEquals(ImprintCli.EXIT_FAILURE, otherDelete.exit(), otherDelete.toString());
            assertTrue(otherDelete.err().contains("NOT_FOUND"), otherDelete.toString());
        } finally {
            serve.stop();
        }
        assertEquals(0, running.get(30, TimeUnit.SECONDS).exit());
        assertFalse(java.nio.file.Files.exists(data.resolve("ps1")), "lab-a's set landed in the default tenant");
        CliRun local = CliRun.run("list", "--data-dir", data.resolve("~tenants").resolve("lab-a").toString());
        assertEquals(0, local.exit(), local.toString());
        assertTrue(local.out().contains("ps1"), local.out());
    }

    @Test
    void aRepeatedOrNegativeDeviceIsAUsageError() {
        for (String devices : new String[] {"0,0", "-1", "0,x", ""}) {
            CliRun run = CliRun.run("serve", "--devices", devices, "--data-dir", tmp.resolve("devices").toString());
            assertEquals(ImprintCli.EXIT_USAGE, run.exit(), run.toString());
            assertTrue(run.err().contains("--devices=" + devices + "; expected all or distinct device ordinals"),
                    run.toString());
        }
        assertFalse(java.nio.file.Files.exists(tmp.resolve("devices")), "a refused serve created its data directory");
    }

    @Test
    void aNegativeTokenRateIsAUsageError() {
        CliRun run = CliRun.run("serve", "--token-rate", "-1", "--data-dir", tmp.resolve("rate").toString());
        assertEquals(ImprintCli.EXIT_USAGE, run.exit(), run.toString());
        assertTrue(run.err().contains("--token-rate=-1.0; expected 0 (no limit) or a positive number"), run.toString());
        assertFalse(java.nio.file.Files.exists(tmp.resolve("rate")), "a refused serve created its data directory");
    }

    @Test
    void serveWithAuthOffWarnsThatAnyCallerMayDoAnything() throws Exception {
        CommandLine cli = ImprintCli.commandLine(Map.of());
        ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
        Future<CliRun> running = thread.submit(() -> CliRun.run(cli, "serve", "--port", "0", "--data-dir",
                tmp.resolve("open").toString(), "--auth", "off"));
        awaitListening(running);
        serve.stop();
        assertEquals(0, running.get(30, TimeUnit.SECONDS).exit());
        assertTrue(logged.stream().anyMatch(m -> m.startsWith("authentication is off (--auth off)")), logged.toString());
    }

    @Test
    void serveWithMetricsPortZeroServesPrometheusMetricsOnAFreePortAndLogsEachCall() throws Exception {
        CommandLine cli = ImprintCli.commandLine(Map.of());
        ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
        Future<CliRun> running = thread.submit(() -> CliRun.run(cli, "serve", "--port", "0", "--data-dir",
                tmp.resolve("metered").toString(), "--metrics-port", "0"));
        String address = awaitListening(running);
        String url = logged.stream().map(METRICS::matcher).filter(Matcher::find).map(m -> m.group(1)).findFirst()
                .orElseThrow(() -> new AssertionError("no metrics URL logged: " + logged));
        try {
            CliRun info = CliRun.run(Map.of("IMPRINT_SERVER", address), "info");
            assertEquals(0, info.exit(), info.toString());

            PrometheusText scrape = PrometheusText.scrape(url);
            assertTrue(scrape.value("imprint_rpc_requests_total", "method", "imprint.v1.Imprint/GetServerInfo", "code",
                    "OK") >= 1, scrape.toString());
            assertEquals(0, scrape.value("imprint_references"), scrape.toString());
            assertEquals(1, scrape.find("imprint_references").size(), "the engine is watched");
            assertTrue(scrape.has("jvm_memory_used_bytes"), scrape.toString());
            assertTrue(logged.stream().anyMatch(m -> m.startsWith("call method=imprint.v1.Imprint/GetServerInfo ")
                    && m.contains(" status=OK ")), logged.toString());
        } finally {
            serve.stop();
        }
        assertEquals(0, running.get(30, TimeUnit.SECONDS).exit());
        assertThrows(IOException.class, () -> PrometheusText.scrape(url), "the metrics port is closed on stop");
    }

    @Test
    void aMetricsPortOutOfRangeOrInUseIsAOneLineUsageErrorAndNothingStarts() throws Exception {
        Path data = tmp.resolve("never");
        CliRun negative = CliRun.run("serve", "--port", "0", "--metrics-port=-1", "--data-dir", data.toString());
        assertEquals(ImprintCli.EXIT_USAGE, negative.exit(), negative.toString());
        assertEquals(1, negative.errLines().length, negative.toString());
        assertTrue(negative.err().contains("--metrics-port=-1; expected 0..65535"), negative.toString());

        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            CliRun clash = CliRun.run("serve", "--port", "0", "--metrics-port", Integer.toString(port), "--data-dir",
                    data.toString());
            assertEquals(ImprintCli.EXIT_USAGE, clash.exit(), clash.toString());
            assertEquals(1, clash.errLines().length, clash.toString());
            assertTrue(clash.err().contains("--metrics-port=" + port + ": cannot listen on 127.0.0.1:" + port),
                    clash.toString());
        }
        assertFalse(Files.exists(data), "the data directory was opened");
        assertTrue(logged.stream().noneMatch(m -> m.startsWith("listening on") || m.startsWith("metrics on")),
                logged.toString());
    }

    @Test
    void logFormatJsonMakesEveryLineServeLogsOneJsonObjectUntilTheNextCommandLine() throws Exception {
        CommandLine cli = ImprintCli.commandLine(Map.of("IMPRINT_LOG_FORMAT", "json"));
        ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
        Future<CliRun> running = thread.submit(() -> CliRun.run(cli, "serve", "--port", "0", "--data-dir",
                tmp.resolve("json").toString(), "--log-calls", "failures"));
        String address = awaitListening(running);
        Formatter console = consoleFormatter();
        try {
            assertEquals(0, CliRun.run(Map.of("IMPRINT_SERVER", address), "info").exit());
            CliRun missing = CliRun.run(Map.of("IMPRINT_SERVER", address), "list", "--probe-set", "ghost");
            assertEquals(ImprintCli.EXIT_FAILURE, missing.exit(), missing.toString());
        } finally {
            serve.stop();
        }
        assertEquals(0, running.get(30, TimeUnit.SECONDS).exit());

        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (LogRecord r : records) {
            String line = console.format(r);
            assertEquals(1, line.lines().count(), line);
            lines.add(json.readTree(line));
        }
        assertTrue(lines.stream().anyMatch(l -> l.path("message").asText().startsWith("listening on")), lines.toString());
        List<JsonNode> calls = lines.stream().filter(l -> l.has("method")).toList();
        assertEquals(1, calls.size(), "--log-calls failures logs the failed call only: " + calls);
        assertEquals("NOT_FOUND", calls.get(0).get("status").asText());
        assertTrue(calls.get(0).get("request_id").asText().matches("[0-9a-f]{16}"), calls.toString());

        CliRun.run("serve", "--log-format", "xml", "--data-dir", tmp.toString());
        assertFalse(consoleFormatter() instanceof JsonLogFormatter, "the next command line logs text again");
    }

    @Test
    void anUnknownLogFormatOrCallSelectionIsAUsageError() {
        CliRun format = CliRun.run("serve", "--log-format", "xml", "--data-dir", tmp.toString());
        assertEquals(ImprintCli.EXIT_USAGE, format.exit(), format.toString());
        assertTrue(format.err().contains("--log-format=xml; expected text or json"), format.toString());
        CliRun calls = CliRun.run("serve", "--log-calls", "some", "--data-dir", tmp.toString());
        assertEquals(ImprintCli.EXIT_USAGE, calls.exit(), calls.toString());
        assertTrue(calls.err().contains("--log-calls"), calls.toString());
    }

    private static Formatter consoleFormatter() {
        for (Handler h : Logger.getLogger("").getHandlers()) {
            if (h instanceof ConsoleHandler) {
                return h.getFormatter();
            }
        }
        throw new AssertionError("no console handler on the root logger");
    }

    /** Waits for the server's "listening on" log line and returns its HOST:PORT. */
    private String awaitListening(Future<CliRun> running) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (String message : logged) {
                Matcher m = LISTENING.matcher(message);
                if (m.find()) {
                    return m.group(1);
                }
            }
            if (running.isDone()) {
                throw new AssertionError("serve ended before listening: " + running.get());
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no 'listening on' line within 30 s; logged: " + logged);
    }
}
