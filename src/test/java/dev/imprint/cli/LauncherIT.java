package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.metrics.PrometheusText;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scripts/imprint} as a user runs it, in a subprocess. An integration test: failsafe runs it
 * in {@code mvn verify} after the shaded jar is packaged. It still checks that the jar is newer than
 * every source, and skips with the reason otherwise, so the launcher never starts a Maven build
 * inside the test run.
 */
class LauncherIT {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path LAUNCHER = ROOT.resolve("scripts/imprint");

    @TempDir
    Path tmp;

    @BeforeEach
    void requireAFreshJar() throws IOException {
        assumeAFreshJar();
    }

    /** Skips, saying why, unless the launcher exists and its jar is newer than every source. */
    static void assumeAFreshJar() throws IOException {
        assumeTrue(Files.isExecutable(LAUNCHER), "scripts/imprint is missing or not executable");
        Optional<Path> jar = builtJar();
        assumeTrue(jar.isPresent(), "target/imprint-*-all.jar is not built (run mvn package first)");
        FileTime built = Files.getLastModifiedTime(jar.get());
        assumeTrue(newestSource().compareTo(built) <= 0,
                "target/imprint-*-all.jar is older than the sources; the launcher would rebuild it");
    }

    @Test
    void launcherRunsTheJarAndPrintsHelp() throws Exception {
        Process p = new ProcessBuilder(LAUNCHER.toString(), "--help").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.startsWith("Usage: imprint"), out);
        for (String command : List.of("serve", "synth", "put", "score", "rescore", "bench", "info", "demo")) {
            assertTrue(out.contains("\n  " + command + " "), command + " missing from:\n" + out);
        }
    }

    @Test
    void serveLogsListeningAndStopsGracefullyOnSigterm() throws Exception {
        Process p = new ProcessBuilder(LAUNCHER.toString(), "serve", "--port", "0", "--data-dir",
                tmp.resolve("data").toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = err.readLine()) != null) {
                lines.add(line);
                if (line.contains(" INFO listening on 127.0.0.1:")) {
                    // SIGTERM through the handle: Process.destroy() would also close the stream read here.
                    p.toHandle().destroy();
                }
            }
        } finally {
            p.destroyForcibly();
        }
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, lines.stream().filter(l -> l.contains("listening on")).count(), String.join("\n", lines));
        assertTrue(lines.get(lines.size() - 1).endsWith(" INFO stopped"), String.join("\n", lines));
        // A clean stop on SIGTERM is a success, as service managers expect (not 128 + 15).
        assertEquals(0, p.exitValue(), String.join("\n", lines));
    }

    @Test
    void serveFromTheJarLogsJsonLinesAndServesPrometheusMetrics() throws Exception {
        Process p = new ProcessBuilder(LAUNCHER.toString(), "serve", "--port", "0", "--data-dir",
                tmp.resolve("data").toString(), "--metrics-port", "0", "--log-format", "json")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        PrometheusText scrape = null;
        try (BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
            String url = null;
            String line;
            while ((line = err.readLine()) != null) {
                lines.add(line);
                String message = json.readTree(line).path("message").asText();
                if (message.startsWith("metrics on ")) {
                    url = message.substring("metrics on ".length());
                }
                if (message.startsWith("listening on ")) {
                    scrape = PrometheusText.scrape(url);
                    p.toHandle().destroy();
                }
            }
        } finally {
            p.destroyForcibly();
        }
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join("\n", lines));
        for (String line : lines) {
            JsonNode node = json.readTree(line);
            assertTrue(node.has("time") && node.has("level") && node.has("message"), line);
        }
        assertTrue(scrape != null && scrape.has("jvm_memory_used_bytes") && scrape.has("imprint_references"),
                String.join("\n", lines) + "\n" + scrape);
    }

    @Test
    void anUnknownHostIsOneLineOnStderrWithoutTheChannelsStackTrace() throws Exception {
        Process p = new ProcessBuilder(LAUNCHER.toString(), "info", "--server", "no-such-host.invalid:50051")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), err);
        assertEquals("imprint info: cannot reach no-such-host.invalid:50051: unknown host", err.strip(), err);
    }

    @Test
    void aRescoreStoppedMidwayLeavesTheEarlierResultsWholeAndNoDraft() throws Exception {
        Path scenario = tmp.resolve("scn");
        Path data = tmp.resolve("data");
        assertEquals(0, CliRun.run("synth", "--out", scenario.toString()).exit());
        assertEquals(0, CliRun.run("put", scenario.resolve("references").toString(), "--data-dir", data.toString())
                .exit());
        // Many copies of the scenario's suspects, so the run is still going when it is stopped.
        Path big = tmp.resolve("big.arrow");
        try (org.apache.arrow.memory.BufferAllocator allocator = new org.apache.arrow.memory.RootAllocator()) {
            List<dev.imprint.io.SuspectTable.SuspectRows> suspects = new ArrayList<>();
            int dim;
            try (dev.imprint.io.SuspectTable.Reader r = dev.imprint.io.SuspectTable.open(allocator,
                    scenario.resolve("suspects.arrow"), 1 << 20)) {
                dim = r.dim();
                for (var s = r.next(); s != null; s = r.next()) {
                    suspects.add(s);
                }
            }
            try (dev.imprint.io.SuspectTable.Writer w = new dev.imprint.io.SuspectTable.Writer(allocator, big,
                    "synth", dim)) {
                for (int copy = 0; copy < 400; copy++) {
                    for (var s : suspects) {
                        w.write(s.modelId() + "-" + copy, s.probeIndices(), s.rows());
                    }
                }
            }
        }
        Path results = tmp.resolve("results.arrow");
        assertEquals(0, CliRun.run("rescore", scenario.resolve("suspects.arrow").toString(), "--data-dir",
                data.toString(), "--out", results.toString()).exit());
        byte[] before = Files.readAllBytes(results);

        Process p = new ProcessBuilder(LAUNCHER.toString(), "rescore", big.toString(), "--data-dir", data.toString(),
                "--out", results.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        StringBuilder err = new StringBuilder();
        try (var in = p.getErrorStream()) {
            byte[] buffer = new byte[4096];
            for (int n; (n = in.read(buffer)) > 0; ) {
                err.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                if (err.indexOf(" suspects ") >= 0) {
                    p.toHandle().destroy(); // SIGTERM, as a service manager or Ctrl-C's shutdown would run it
                    break;
                }
            }
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertTrue(p.exitValue() != 0, "stopped midway: " + err);
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(results)), "the earlier results are whole");
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList(),
                    "no draft is left behind");
        }
    }

    @Test
    void demoGivesEveryRightVerdictThroughTheLauncher() throws Exception {
        Process p = new ProcessBuilder(LAUNCHER.toString(), "demo").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("demo passed: every verdict is right"), out);
    }

    /**
     * On vectors narrower than the Vector API kernels are written for (here forced with
     * -XX:MaxVectorSize=8, two floats), the CPU backend scores through BLAS and gets the demo's
     * verdicts right; the kernels' classes once failed to initialise there.
     */
    @Test
    void vectorsTooNarrowForTheKernelsFallBackToBlas() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString(), "demo").redirectErrorStream(true);
        pb.environment().put("IMPRINT_JAVA_OPTS", "-XX:MaxVectorSize=8");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("demo passed: every verdict is right"), out);
    }

    /**
     * Two launchers started at once on a stale jar (bench-compare starts two Imprint sides
     * together) build it once: a copy of the launcher in a root of its own, with a Maven on PATH
     * that logs each build, notes one that overlaps another, and "builds" by copying the real jar
     * after two seconds. Without the launcher's build lock both built, overlapping, and in a real
     * target/ one of the two Maven builds failed.
     */
    @Test
    void twoLaunchersStartedTogetherOnAStaleJarBuildItOnce() throws Exception {
        Path root = tmp.resolve("root");
        Files.createDirectories(root.resolve("scripts"));
        Files.createDirectories(root.resolve("src/main"));
        Files.createDirectories(root.resolve("proto"));
        Files.writeString(root.resolve("pom.xml"), "<project/>");
        Files.writeString(root.resolve("src/main/Changed.java"), "class Changed {}");
        Path launcher = root.resolve("scripts/imprint");
        Files.copy(LAUNCHER, launcher);
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path log = tmp.resolve("builds.log");
        Path mvn = bin.resolve("mvn");
        Files.writeString(mvn, String.join("\n",
                "#!/bin/sh",
                "[ -e \"$FAKE_RUNNING\" ] && echo overlap >> \"$FAKE_LOG\"",
                "touch \"$FAKE_RUNNING\"",
                "echo build >> \"$FAKE_LOG\"",
                "sleep 2",
                "mkdir -p target && cp \"$REAL_JAR\" target/imprint-test-all.jar",
                "rm -f \"$FAKE_RUNNING\"",
                ""));
        assertTrue(mvn.toFile().setExecutable(true), "the fake mvn is executable");

        List<Process> launchers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "--help").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
            pb.environment().put("FAKE_LOG", log.toString());
            pb.environment().put("FAKE_RUNNING", tmp.resolve("running").toString());
            pb.environment().put("REAL_JAR", builtJar().orElseThrow().toString());
            launchers.add(pb.start());
        }
        for (Process p : launchers) {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "a launcher still runs after 120 s");
            assertEquals(0, p.exitValue(), "each launcher runs the jar once it is built");
        }
        assertEquals(List.of("build"), Files.readAllLines(log), "one build, and none overlapping another");
    }

    private static Optional<Path> builtJar() throws IOException {
        Path target = ROOT.resolve("target");
        if (!Files.isDirectory(target)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.list(target)) {
            return files.filter(f -> f.getFileName().toString().matches("imprint-.*-all\\.jar"))
                    .max(Comparator.comparing(LauncherIT::modified));
        }
    }

    private static FileTime newestSource() throws IOException {
        FileTime newest = modified(ROOT.resolve("pom.xml"));
        for (Path dir : List.of(ROOT.resolve("src/main"), ROOT.resolve("proto"))) {
            try (Stream<Path> walk = Files.walk(dir)) {
                for (Path p : walk.filter(Files::isRegularFile).toList()) {
                    FileTime t = modified(p);
                    if (t.compareTo(newest) > 0) {
                        newest = t;
                    }
                }
            }
        }
        return newest;
    }

    private static FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
