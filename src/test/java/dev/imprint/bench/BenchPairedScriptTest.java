package dev.imprint.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/bench_paired.py, the driver of scripts/bench-compare.sh, run as bench-compare runs it,
 * on sides that are small shell scripts speaking the paced protocol with known call times.
 */
class BenchPairedScriptTest {
    /** The Python to run: IMPRINT_TEST_PYTHON (what .ci/run sets to its venv), else python3; the script needs only its standard library. */
    private static final String PYTHON = System.getenv().getOrDefault("IMPRINT_TEST_PYTHON", "python3");
    private static final Path SCRIPT = Path.of("scripts", "bench_paired.py");

    @TempDir
    Path dir;

    @BeforeAll
    static void pythonIsHere() throws Exception {
        assumeTrue(run(List.of(PYTHON, "-c", "import select, statistics"), 30).exit == 0,
                PYTHON + " is not available here (set IMPRINT_TEST_PYTHON, as .ci/run does), so the benchmark "
                        + "driver's tests cannot run");
    }

    /** A side that is ready at once and answers every line with a call of {@code seconds}. */
    private static String steady(double seconds) {
        return "echo ready; while read -r line; do echo call_s=" + seconds + "; done; echo summary of mine";
    }

    @Test
    void eachRatioIsTheMedianOverCyclesOfThePeersCallOverTheBaselinesInTheSameCycle() throws Exception {
        Run r = driver("--calls", "5", "--side", "base=" + steady(0.002), "--side", "peer=" + steady(0.005));
        assertEquals(0, r.exit, r.err);
        List<String> lines = r.out.lines().toList();
        assertEquals(List.of("side=base calls=5 min_s=0.002000 median_s=0.002000",
                "side=peer calls=5 min_s=0.005000 median_s=0.005000",
                "ratio=peer/base cycles=5 median=2.5000",
                "summary=base summary of mine",
                "summary=peer summary of mine"), lines);
    }

    @Test
    void theRatioPairsCallsOfTheSameCycleSoABurstThatSlowsBothCancels() throws Exception {
        // Both sides' third call falls into a burst that makes it ten times slower; paired by cycle,
        // every ratio is still 3.
        String burst = "echo ready; n=0; while read -r line; do n=$((n+1)); "
                + "if [ $n = 3 ]; then echo call_s=%s; else echo call_s=%s; fi; done";
        Run r = driver("--calls", "5", "--side", "base=" + burst.formatted("0.020", "0.002"),
                "--side", "peer=" + burst.formatted("0.060", "0.006"));
        assertEquals(0, r.exit, r.err);
        assertTrue(r.out.contains("ratio=peer/base cycles=5 median=3.0000"), r.out);
    }

    @Test
    void everySideComesFirstAndFollowsEveryOtherSideEquallyOften() throws Exception {
        // Three sides, six cycles: a Williams design's full round for an odd count. The trace names
        // the sides in the order their calls ran.
        Run r = driver("--calls", "6", "--trace", "--side", "a=" + steady(0.001), "--side", "b=" + steady(0.001),
                "--side", "c=" + steady(0.001));
        assertEquals(0, r.exit, r.err);
        Map<String, List<String>> orderByCycle = new TreeMap<>();
        Matcher m = Pattern.compile("cycle=(\\d+) side=(\\w+)").matcher(r.err);
        while (m.find()) {
            orderByCycle.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(m.group(2));
        }
        assertEquals(6, orderByCycle.size(), r.err);
        Map<String, Integer> firsts = new TreeMap<>();
        Map<String, Integer> follows = new TreeMap<>();
        for (List<String> order : orderByCycle.values()) {
            assertEquals(3, new HashSet<>(order).size(), "a cycle did not call each side once: " + order);
            firsts.merge(order.get(0), 1, Integer::sum);
            for (int i = 1; i < order.size(); i++) {
                follows.merge(order.get(i - 1) + ">" + order.get(i), 1, Integer::sum);
            }
        }
        assertEquals(Map.of("a", 2, "b", 2, "c", 2), firsts);
        assertEquals(Map.of("a>b", 2, "a>c", 2, "b>a", 2, "b>c", 2, "c>a", 2, "c>b", 2), follows);
    }

    @Test
    void eachSessionStartsTheSidesAfreshAndTheRatioPoolsEverySessionsCycles() throws Exception {
        // The peer's process is as slow as its start's number: 2 ms in the first session, 4 in the
        // second (a process's own memory luck, which lasts its life). The base is 2 ms throughout.
        Path starts = dir.resolve("starts");
        String numbered = "n=$(($(cat " + starts + " 2>/dev/null || echo 0) + 1)); echo $n > " + starts + "; "
                + "echo ready; while read -r line; do echo call_s=0.00$((2 * n)); done; echo summary of start $n";
        Run r = driver("--calls", "7", "--sessions", "2", "--side", "base=" + steady(0.002), "--side", "peer=" + numbered);
        assertEquals(0, r.exit, r.err);
        assertEquals("2", Files.readString(starts).trim(), "the peer was not started once per session");
        List<String> lines = r.out.lines().toList();
        // 7 calls split 3 and 4; pooled, four of the seven ratios are 2.
        assertEquals(List.of("session=1 ratio=peer/base cycles=3 median=1.0000",
                "session=2 ratio=peer/base cycles=4 median=2.0000",
                "side=base calls=7 min_s=0.002000 median_s=0.002000",
                "side=peer calls=7 min_s=0.002000 median_s=0.004000",
                "ratio=peer/base cycles=7 median=2.0000",
                "summary=base summary of mine",
                "summary=peer summary of start 2"), lines);

        Run tooMany = driver("--calls", "3", "--sessions", "4", "--side", "base=" + steady(0.001));
        assertEquals(2, tooMany.exit, tooMany.err);
        assertTrue(tooMany.err.contains("--sessions=4; expected 1 to --calls (3)"), tooMany.err);
    }

    @Test
    void aSideThatEndsBeforeItIsReadyFailsTheRunAndNamesIt() throws Exception {
        Run r = driver("--calls", "3", "--side", "base=" + steady(0.001), "--side", "broken=echo oops >&2; exit 3");
        assertEquals(1, r.exit, r.out);
        assertTrue(r.err.contains("side broken ended (exit 3) before its 'ready'"), r.err);
        assertFalse(r.out.contains("ratio="), r.out);
    }

    @Test
    void aSideThatFallsSilentTimesOutAndEverySideIsStopped() throws Exception {
        Path pid = dir.resolve("silent.pid");
        // Ready, then never answers: exec leaves the recorded pid the sleeping process itself.
        String silent = "echo ready; echo $$ > " + pid + "; exec sleep 600";
        long start = System.nanoTime();
        Run r = driver("--calls", "3", "--timeout", "2", "--side", "base=" + steady(0.001), "--side", "silent=" + silent);
        assertEquals(1, r.exit, r.out);
        assertTrue(r.err.contains("side silent printed no call_s= line in time"), r.err);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(60), "the timeout did not stop the run");
        long silentPid = Long.parseLong(Files.readString(pid).trim());
        boolean gone = ProcessHandle.of(silentPid).map(h -> {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
                return true;
            } catch (Exception e) {
                return !h.isAlive();
            }
        }).orElse(true);
        assertTrue(gone, "the silent side (pid " + silentPid + ") still runs after the driver gave up");
    }

    @Test
    void aMistakenCommandLineRunsNoSide() throws Exception {
        Run few = driver("--calls", "2", "--side", "base=" + steady(0.001));
        assertEquals(2, few.exit, few.err);
        assertTrue(few.err.contains("--calls=2; expected at least 3"), few.err);

        Run twice = driver("--calls", "3", "--side", "a=" + steady(0.001), "--side", "a=" + steady(0.001));
        assertEquals(2, twice.exit, twice.err);
        assertTrue(twice.err.contains("--side names repeat: a, a"), twice.err);

        Run unnamed = driver("--calls", "3", "--side", "no command");
        assertEquals(2, unnamed.exit, unnamed.err);
        assertTrue(unnamed.err.contains("expected NAME=COMMAND"), unnamed.err);
    }

    private static Run driver(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(PYTHON, SCRIPT.toString()));
        command.addAll(List.of(args));
        return run(command, 120);
    }

    private record Run(int exit, String out, String err) {}

    private static Run run(List<String> command, long timeoutSeconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile("paired", ".out");
        Path err = Files.createTempFile("paired", ".err");
        try {
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + command);
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
