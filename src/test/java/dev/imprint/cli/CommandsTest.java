package dev.imprint.cli;

import static dev.imprint.cli.TestScenario.assertRowsMatchEngine;
import static dev.imprint.cli.TestScenario.engineScores;
import static dev.imprint.cli.TestScenario.regenerate;
import static dev.imprint.cli.TestScenario.withShape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.imprint.core.Metric;
import dev.imprint.engine.BackendProvider;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreResult;
import dev.imprint.io.ResultTable;
import dev.imprint.synth.SynthScenario;
import dev.imprint.synth.SynthScenario.SyntheticModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every file-based command in-process: synth, put, score, rescore and info against a data directory. */
class CommandsTest {
    @TempDir
    Path tmp;

    private Path scenario;
    private Path data;

    @BeforeEach
    void paths() {
        scenario = tmp.resolve("scenario");
        data = tmp.resolve("data");
    }

    @Test
    void synthPutScoreAndRescoreAgreeWithTheEngine() throws IOException {
        synth();
        CliRun put = CliRun.run("put", scenario.resolve("references").toString(), "--data-dir", data.toString());
        assertEquals(0, put.exit(), put.toString());
        assertEquals(6, put.out().lines().filter(l -> l.startsWith("put ")).count(), put.toString());

        CliRun score = CliRun.run("score", scenario.resolve("suspects.arrow").toString(), "--data-dir", data.toString(),
                "--top-k", "3");
        assertEquals(0, score.exit(), score.toString());
        SynthScenario expected = regenerate(ProbeSetKind.DISTRIBUTION);
        for (SyntheticModel suspect : expected.suspects()) {
            assertTrue(score.out().contains("suspect " + suspect.modelId() + "\n"), score.toString());
        }

        Path results = tmp.resolve("results.arrow");
        Path csv = tmp.resolve("results.csv");
        CliRun rescore = CliRun.run("rescore", scenario.resolve("suspects.arrow").toString(), "--data-dir",
                data.toString(), "--out", results.toString(), "--csv", csv.toString(), "--metrics",
                "cosine,kl_ref_suspect,js");
        assertEquals(0, rescore.exit(), rescore.toString());

        Map<String, ScoreResult> engine = engineScores(data, expected,
                EnumSet.of(Metric.COSINE, Metric.KL_REF_SUSPECT, Metric.JS));
        List<ResultTable.Row> arrowRows;
        try (BufferAllocator allocator = new RootAllocator()) {
            arrowRows = ResultTable.readAll(allocator, results);
        }
        assertRowsMatchEngine(arrowRows, engine, expected);
        // The CSV holds exactly the Arrow table's rows, in the same order.
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        assertEquals(String.join(",", ResultTable.COLUMNS), lines.get(0));
        assertEquals(arrowRows.size(), lines.size() - 1);
        for (int i = 0; i < arrowRows.size(); i++) {
            ResultTable.Row row = arrowRows.get(i);
            String[] cells = lines.get(i + 1).split(",", -1);
            assertEquals(List.of(row.suspectId(), row.modelId(), Integer.toString(row.rank())),
                    List.of(cells[0], cells[1], cells[2]));
            assertEquals(row.values().get(Metric.COSINE), Double.parseDouble(cells[4]));
            assertEquals(row.values().get(Metric.KL_REF_SUSPECT), Double.parseDouble(cells[5]));
            assertEquals("", cells[6], "kl_suspect_ref was not asked for");
            assertEquals(row.values().get(Metric.JS), Double.parseDouble(cells[7]));
        }
    }

    @Test
    void scoreRanksEachStudentsTeacherFirstInItsTable() {
        synthAndPut();
        SynthScenario expected = regenerate(ProbeSetKind.DISTRIBUTION);
        for (SyntheticModel suspect : expected.suspects()) {
            if (suspect.teacher().isEmpty()) {
                continue;
            }
            CliRun score = CliRun.run("score", scenario.resolve("suspects.arrow").toString(), "--data-dir",
                    data.toString(), "--suspect", suspect.modelId());
            assertEquals(0, score.exit(), score.toString());
            String firstRow = score.out().lines().filter(l -> l.trim().startsWith("1 ")).findFirst().orElseThrow();
            assertTrue(firstRow.contains(suspect.teacher().get()), score.out());
            assertFalse(score.out().contains("suspect unrelated"), "only the asked suspect is scored");
        }
    }

    @Test
    void scoreTakesAReferenceFileAsASuspectThatMatchesItselfExactly() {
        synthAndPut("--kind", "EMBEDDING");
        Path reference = scenario.resolve("references").resolve("atlas-2.arrow");
        CliRun score = CliRun.run("score", reference.toString(), "--data-dir", data.toString(), "--top-k", "1");
        assertEquals(0, score.exit(), score.toString());
        assertTrue(score.out().contains("ranked by cosine (higher is closer)"), score.out());
        String firstRow = score.out().lines().filter(l -> l.trim().startsWith("1 ")).findFirst().orElseThrow();
        assertTrue(firstRow.contains("atlas-2") && firstRow.contains("1.0000"), score.out());
    }

    @Test
    void infoSummarisesTheDataDirectory() {
        synthAndPut();
        CliRun info = CliRun.run("info", "--data-dir", data.toString());
        assertEquals(0, info.exit(), info.toString());
        assertTrue(info.out().contains("references:") && info.out().lines().anyMatch(l -> l.matches("references: +6")),
                info.out());
        assertTrue(info.out().contains("probe set ps1: DISTRIBUTION, 24 probes x 96, 6 references"), info.out());
    }

    @Test
    void scoreAsJsonLinesCarriesTheVerdictAndTheEnginesRanking() throws IOException {
        synthAndPut();
        CliRun json = CliRun.run("score", scenario.resolve("suspects.arrow").toString(), "--data-dir",
                data.toString(), "--format", "json", "--top-k", "0");
        assertEquals(0, json.exit(), json.toString());
        SynthScenario expected = regenerate(ProbeSetKind.DISTRIBUTION);
        Map<String, ScoreResult> engine = engineScores(data, expected, Metric.defaultsFor(ProbeSetKind.DISTRIBUTION));
        List<String> lines = json.out().lines().toList();
        assertEquals(expected.suspects().size(), lines.size(), json.out());
        com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String line : lines) {
            com.fasterxml.jackson.databind.JsonNode node = mapper.readTree(line);
            ScoreResult want = engine.get(node.get("suspect").asText());
            assertEquals(want.probesUsed(), node.get("probes_used").asInt());
            assertEquals("kl_ref_suspect", node.get("order_by").asText());
            String verdict = node.get("attribution").get("verdict").asText();
            assertTrue(List.of("DISTILLED_FROM", "SAME_FAMILY", "INDEPENDENT", "INCONCLUSIVE").contains(verdict), line);
            assertEquals(want.matches().size(), node.get("matches").size());
            for (int i = 0; i < want.matches().size(); i++) {
                com.fasterxml.jackson.databind.JsonNode match = node.get("matches").get(i);
                assertEquals(want.matches().get(i).modelId(), match.get("model_id").asText(), line);
                assertEquals(i + 1, match.get("rank").asInt());
                assertEquals(want.matches().get(i).values().get(Metric.KL_REF_SUSPECT),
                        match.get("values").get("kl_ref_suspect").asDouble(), 1e-4);
            }
        }
        CliRun bad = CliRun.run("score", scenario.resolve("suspects.arrow").toString(), "--data-dir", data.toString(),
                "--format", "yaml");
        assertEquals(ImprintCli.EXIT_USAGE, bad.exit(), bad.toString());
        assertOneLine(bad, "--format");
    }

    @Test
    void aProbeSetCreatedFromAProbesFileExportsTheSameProbesAndTakesReferences() throws IOException {
        Path probes = Files.writeString(tmp.resolve("probes.jsonl"), "{\"prompt\": \"The capital of Chile is\"}\n"
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"Name a fruit.\"}]}\n", StandardCharsets.UTF_8);
        String dir = data.toString();
        CliRun create = CliRun.run("probe-set", "create", "chat2", "--probes", probes.toString(), "--dim", "8",
                "--temperature", "0", "--vocabulary", "first_character", "--data-dir", dir);
        assertEquals(0, create.exit(), create.toString());
        assertTrue(create.out().contains("probe set chat2: DISTRIBUTION, 2 probes x 8, with their texts"), create.out());
        assertEquals(0, CliRun.run("probe-set", "create", "chat2", "--probes", probes.toString(), "--dim", "8",
                "--temperature", "0", "--vocabulary", "first_character", "--data-dir", dir).exit(), "identical again");

        Path exported = tmp.resolve("out.jsonl");
        CliRun export = CliRun.run("probe-set", "export", "chat2", "--out", exported.toString(), "--data-dir", dir);
        assertEquals(0, export.exit(), export.toString());
        assertTrue(export.out().contains("wrote 2 probes of probe set chat2"), export.out());
        assertEquals(dev.imprint.io.ProbesJson.readLines(probes), dev.imprint.io.ProbesJson.readLines(exported));

        // Other texts under the same id are refused and change nothing; so is a set without texts exported.
        Path other = Files.writeString(tmp.resolve("other.jsonl"), "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n",
                StandardCharsets.UTF_8);
        CliRun clash = CliRun.run("probe-set", "create", "chat2", "--probes", other.toString(), "--dim", "8",
                "--temperature", "0", "--vocabulary", "first_character", "--data-dir", dir);
        assertEquals(ImprintCli.EXIT_FAILURE, clash.exit(), clash.toString());
        assertOneLine(clash, "ALREADY_EXISTS: probe set chat2 already exists with different probe texts");
        synthAndPut();
        CliRun none = CliRun.run("probe-set", "export", "ps1", "--out", exported.toString(), "--data-dir", dir);
        assertEquals(ImprintCli.EXIT_FAILURE, none.exit(), none.toString());
        assertOneLine(none, "probe set ps1 does not carry its probes' texts");
        assertEquals(dev.imprint.io.ProbesJson.readLines(probes), dev.imprint.io.ProbesJson.readLines(exported),
                "a failed export leaves the earlier file whole");
        CliRun badTemperature = CliRun.run("probe-set", "create", "x", "--probes", probes.toString(), "--dim", "8",
                "--temperature", "0.5", "--data-dir", dir);
        assertEquals(ImprintCli.EXIT_FAILURE, badTemperature.exit(), badTemperature.toString());
        assertOneLine(badTemperature, "capture temperature=0.5; expected 0 or 1");
    }

    @Test
    void listAndDeleteShowAndRemoveWhatIsStored() {
        synthAndPut();
        String dir = data.toString();
        CliRun sets = CliRun.run("list", "--data-dir", dir);
        assertEquals(0, sets.exit(), sets.toString());
        assertTrue(sets.out().startsWith("ps1  DISTRIBUTION  24 probes x 96  6 references"), sets.out());
        CliRun atlas = CliRun.run("list", "--data-dir", dir, "--probe-set", "ps1", "--label", "family=atlas");
        assertEquals(List.of("atlas-1", "atlas-2"), atlas.out().lines()
                .filter(l -> l.startsWith("atlas-")).map(l -> l.substring(0, l.indexOf(' '))).toList(), atlas.out());
        assertTrue(atlas.out().contains("atlas-1  protected  family=atlas"), atlas.out());
        CliRun background = CliRun.run("list", "--data-dir", dir, "--probe-set", "ps1", "--role", "background");
        assertTrue(background.out().startsWith("0 references in probe set ps1"), background.out());
        CliRun selectorAlone = CliRun.run("list", "--data-dir", dir, "--role", "protected");
        assertEquals(ImprintCli.EXIT_USAGE, selectorAlone.exit(), selectorAlone.toString());
        assertOneLine(selectorAlone, "name their probe set with --probe-set");

        CliRun deleted = CliRun.run("delete", "--data-dir", dir, "--probe-set", "ps1", "atlas-1", "atlas-2");
        assertEquals(0, deleted.exit(), deleted.toString());
        CliRun partly = CliRun.run("delete", "--data-dir", dir, "--probe-set", "ps1", "borealis-1", "atlas-1",
                "borealis-2");
        assertEquals(ImprintCli.EXIT_FAILURE, partly.exit(), partly.toString());
        assertOneLine(partly, "NOT_FOUND: reference atlas-1 does not exist in probe set ps1 (1 of 3 deleted before "
                + "it; the 1 after it not tried)");
        CliRun notEmpty = CliRun.run("delete", "--data-dir", dir, "--probe-set", "ps1");
        assertEquals(ImprintCli.EXIT_FAILURE, notEmpty.exit(), notEmpty.toString());
        assertOneLine(notEmpty, "FAILED_PRECONDITION: probe set ps1 still holds 3 references");
        CliRun forced = CliRun.run("delete", "--data-dir", dir, "--probe-set", "ps1", "--force");
        assertEquals(0, forced.exit(), forced.toString());
        assertTrue(forced.out().contains("deleted probe set ps1 and its 3 references"), forced.out());
        assertTrue(CliRun.run("list", "--data-dir", dir).out().startsWith("0 probe sets"));
    }

    @Test
    void putRefusesAnExistingReferenceWithoutReplaceInOneLine() {
        synth();
        String file = scenario.resolve("references").resolve("atlas-1.arrow").toString();
        assertEquals(0, CliRun.run("put", file, "--data-dir", data.toString()).exit());
        CliRun again = CliRun.run("put", file, "--data-dir", data.toString());
        assertEquals(ImprintCli.EXIT_FAILURE, again.exit(), again.toString());
        assertOneLine(again, "ALREADY_EXISTS");
        CliRun replace = CliRun.run("put", file, "--data-dir", data.toString(), "--replace", "--label", "tier=gold");
        assertEquals(0, replace.exit(), replace.toString());
        // A directory stops at the first clash and says how far it got.
        CliRun directory = CliRun.run("put", scenario.resolve("references").toString(), "--data-dir", data.toString());
        assertEquals(ImprintCli.EXIT_FAILURE, directory.exit(), directory.toString());
        assertOneLine(directory, "atlas-1.arrow: ALREADY_EXISTS");
        assertTrue(directory.err().contains("(0 of 6 files put before it; the 5 after it not tried)"),
                directory.toString());
    }

    @Test
    void anOutputInADirectoryThatDoesNotExistNamesTheDirectoryNotATemporaryFile() {
        synthAndPut();
        Path missing = tmp.resolve("no-such-dir");
        CliRun rescore = CliRun.run("rescore", scenario.resolve("suspects.arrow").toString(), "--data-dir",
                data.toString(), "--out", missing.resolve("r.arrow").toString());
        assertEquals(ImprintCli.EXIT_FAILURE, rescore.exit(), rescore.toString());
        assertOneLine(rescore, "no such file or directory: " + missing + " (the directory to write "
                + missing.resolve("r.arrow") + " in)");
        assertFalse(rescore.err().contains(".tmp"), rescore.toString());
    }

    @Test
    void missingInputFileIsAOneLineNotFound() {
        CliRun run = CliRun.run("score", tmp.resolve("nope.arrow").toString(), "--data-dir", tmp.toString());
        assertEquals(ImprintCli.EXIT_FAILURE, run.exit(), run.toString());
        assertOneLine(run, "NOT_FOUND");
        assertTrue(run.err().contains("nope.arrow"), run.toString());
    }

    @Test
    void aReferenceFileThatFailsItsChecksumSaysSoWhenScored() throws IOException {
        synth();
        Path damaged = tmp.resolve("damaged.arrow");
        byte[] bytes = Files.readAllBytes(scenario.resolve("references").resolve("atlas-1.arrow"));
        bytes[bytes.length / 2] ^= 1; // the lowest mantissa bit of a value: still a valid row, not the same file
        Files.write(damaged, bytes);
        CliRun score = CliRun.run("score", damaged.toString(), "--data-dir", tmp.resolve("d").toString());
        assertEquals(ImprintCli.EXIT_FAILURE, score.exit(), score.toString());
        assertOneLine(score, "is neither a suspect table nor a reference file; as a reference file: ");
        assertTrue(score.err().indexOf("checksum mismatch") < score.err().indexOf("as a suspect table"),
                "the reference file's own failure comes first: " + score);
    }

    @Test
    void fileThatIsNotArrowIsRejectedInOneLine() throws IOException {
        Path junk = Files.writeString(tmp.resolve("junk.arrow"), "this is not an Arrow file\n");
        CliRun score = CliRun.run("score", junk.toString(), "--data-dir", tmp.resolve("d").toString());
        assertEquals(ImprintCli.EXIT_FAILURE, score.exit(), score.toString());
        assertOneLine(score, "neither a suspect table nor a reference file");
        CliRun put = CliRun.run("put", junk.toString(), "--data-dir", tmp.resolve("d").toString());
        assertEquals(ImprintCli.EXIT_FAILURE, put.exit(), put.toString());
        assertOneLine(put, "INVALID_ARGUMENT");
    }

    @Test
    void scoringAgainstAnUnknownProbeSetIsNotFound() throws IOException {
        Files.createDirectories(tmp.resolve("empty"));
        synth();
        CliRun run = CliRun.run("rescore", scenario.resolve("suspects.arrow").toString(), "--data-dir",
                tmp.resolve("empty").toString(), "--out", tmp.resolve("r.arrow").toString());
        assertEquals(ImprintCli.EXIT_FAILURE, run.exit(), run.toString());
        assertOneLine(run, "NOT_FOUND: probe set ps1 does not exist");
    }

    @Test
    void readingCommandsRefuseADataDirectoryThatDoesNotExist() {
        Path missing = tmp.resolve("typo");
        CliRun run = CliRun.run("info", "--data-dir", missing.toString());
        assertEquals(ImprintCli.EXIT_FAILURE, run.exit(), run.toString());
        assertOneLine(run, "data dir " + missing + " does not exist");
        assertFalse(Files.exists(missing), "nothing is created by a command that only reads");
    }

    @Test
    void metricTheKindDoesNotSupportIsInvalidArgument() {
        synthAndPut("--kind", "EMBEDDING");
        CliRun run = CliRun.run("score", scenario.resolve("suspects.arrow").toString(), "--data-dir", data.toString(),
                "--metrics", "js");
        assertEquals(ImprintCli.EXIT_FAILURE, run.exit(), run.toString());
        assertOneLine(run, "INVALID_ARGUMENT: metrics contains JS");
    }

    @Test
    void backendChoiceIsValidatedAndCpuIsHonouredInProcess() {
        synthAndPut();
        CliRun bogus = CliRun.run("info", "--data-dir", data.toString(), "--backend", "tpu");
        assertEquals(ImprintCli.EXIT_USAGE, bogus.exit(), bogus.toString());
        assertOneLine(bogus, "backend=tpu; expected auto, cpu or cuda");
        CliRun cpu = CliRun.run("score", scenario.resolve("suspects.arrow").toString(), "--data-dir", data.toString(),
                "--backend", "cpu");
        assertEquals(0, cpu.exit(), cpu.toString());
        assertTrue(cpu.out().contains("backend cpu"), cpu.out());
    }

    @Test
    void cudaBackendWithoutAUsableDeviceFailsFastWithTheReason() {
        SelectedBackend auto = BackendProvider.select();
        auto.backend().close();
        Assumptions.assumeFalse(auto.backend().name().equals("cuda"),
                "this host has a usable CUDA device, so --backend cuda would succeed");
        CliRun run = CliRun.run("info", "--data-dir", tmp.toString(), "--backend", "cuda");
        assertEquals(ImprintCli.EXIT_FAILURE, run.exit(), run.toString());
        assertOneLine(run, "--backend cuda, but no usable CUDA device");
    }

    @Test
    void commandLineMistakesAreUsageErrorsInOneLine() {
        CliRun unknownOption = CliRun.run("score", "x.arrow", "--frobnicate");
        assertEquals(ImprintCli.EXIT_USAGE, unknownOption.exit());
        assertOneLine(unknownOption, "--frobnicate");
        CliRun badMetric = CliRun.run("score", "x.arrow", "--metrics", "euclid");
        assertEquals(ImprintCli.EXIT_USAGE, badMetric.exit());
        assertOneLine(badMetric, "euclid");
        CliRun impossible = CliRun.run("synth", "--out", tmp.toString(), "--families", "2",
                "--models-per-family", "1", "--students", "3");
        assertEquals(ImprintCli.EXIT_USAGE, impossible.exit());
        assertOneLine(impossible, "students=3");
        CliRun badTimeout = CliRun.run("info", "--server", "127.0.0.1:50051", "--call-timeout-ms", "-5");
        assertEquals(ImprintCli.EXIT_USAGE, badTimeout.exit());
        assertOneLine(badTimeout, "--call-timeout-ms=-5; expected 0 (none) or more");
        CliRun badServer = CliRun.run("info", "--server", "localhost:99999");
        assertEquals(ImprintCli.EXIT_USAGE, badServer.exit());
        assertOneLine(badServer, "--server=localhost:99999; expected HOST:PORT");
        CliRun noCommand = CliRun.run();
        assertEquals(ImprintCli.EXIT_USAGE, noCommand.exit());
        assertOneLine(noCommand, "missing a command");
    }

    @Test
    void unreachableServerIsAOneLineFailure() {
        CliRun run = CliRun.run("info", "--server", "127.0.0.1:1");
        assertEquals(ImprintCli.EXIT_FAILURE, run.exit(), run.toString());
        assertOneLine(run, "cannot reach 127.0.0.1:1: nothing listens there (connection refused)");
        CliRun badConnect = CliRun.run("info", "--server", "127.0.0.1:1", "--connect-timeout-ms", "0");
        assertEquals(ImprintCli.EXIT_USAGE, badConnect.exit());
        assertOneLine(badConnect, "--connect-timeout-ms=0; expected a positive number of milliseconds");
    }

    @Test
    void aPortThatAcceptsButNeverSpeaksGrpcFailsWithinTheConnectTimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            List<Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        held.add(silent.accept());
                    }
                } catch (IOException closed) {
                    // The test is over.
                }
            });
            acceptor.start();
            String address = "127.0.0.1:" + silent.getLocalPort();
            synth();
            String suspects = scenario.resolve("suspects.arrow").toString();
            long start = System.nanoTime();
            Path out = scenario.resolve("results.arrow");
            for (String command : List.of("info", "score", "rescore")) {
                String[] args = switch (command) {
                    case "info" -> new String[] {"info", "--server", address, "--connect-timeout-ms", "700"};
                    case "score" -> new String[] {"score", suspects, "--server", address, "--connect-timeout-ms", "700"};
                    default -> new String[] {"rescore", suspects, "--out", out.toString(), "--server", address,
                            "--connect-timeout-ms", "700"};
                };
                CliRun run = CliRun.run(args);
                assertEquals(ImprintCli.EXIT_FAILURE, run.exit(), run.toString());
                assertOneLine(run, "cannot reach " + address + ": no gRPC server answered within 0.7 s");
            }
            assertTrue(System.nanoTime() - start < java.util.concurrent.TimeUnit.SECONDS.toNanos(20),
                    "two commands against a silent port took " + (System.nanoTime() - start) / 1e9 + " s");
            assertFalse(held.isEmpty(), "the commands did connect");
            assertFalse(Files.exists(out), "a rescore that never reached a server writes nothing");
            for (Socket s : held) {
                s.close();
            }
        }
    }

    @Test
    void anHttp1ServerIsNamedAsNotSpeakingGrpc() throws Exception {
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.createContext("/", exchange -> {
            byte[] body = "hello".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        http.start();
        try {
            String address = "127.0.0.1:" + http.getAddress().getPort();
            CliRun run = CliRun.run("info", "--server", address, "--connect-timeout-ms", "5000");
            assertEquals(ImprintCli.EXIT_FAILURE, run.exit(), run.toString());
            assertOneLine(run, "cannot reach " + address + ": what answers there does not speak gRPC");
        } finally {
            http.stop(0);
        }
    }

    /** Writes the test scenario with synth, plus {@code flags}. */
    private void synth(String... flags) {
        String[] args = Stream.concat(Stream.of("synth", "--out", scenario.toString()), Stream.of(flags))
                .toArray(String[]::new);
        CliRun run = CliRun.run(withShape(args));
        assertEquals(0, run.exit(), run.toString());
    }

    /** {@link #synth}, then puts every reference into the data directory. */
    private void synthAndPut(String... flags) {
        synth(flags);
        CliRun put = CliRun.run("put", scenario.resolve("references").toString(), "--data-dir", data.toString());
        assertEquals(0, put.exit(), put.toString());
    }

    private static void assertOneLine(CliRun run, String expected) {
        assertEquals(1, run.errLines().length, "one line expected:\n" + run);
        assertTrue(run.err().contains(expected), "expected '" + expected + "' in:\n" + run);
        assertFalse(run.err().contains("\tat "), "no stack trace:\n" + run);
    }
}
