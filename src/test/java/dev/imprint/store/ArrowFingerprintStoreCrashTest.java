package dev.imprint.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.imprint.core.Reference;
import dev.imprint.io.Fingerprints;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a JVM that is writing to the store at an arbitrary moment and checks what survives: every
 * acknowledged save and delete, plus at most the one operation that was in flight, and nothing
 * corrupt.
 */
class ArrowFingerprintStoreCrashTest {
    private static final int ROUNDS = 5;
    /** The kill comes up to this long after the last awaited ack, so it lands anywhere in an operation. */
    private static final int KILL_DELAY_US = 40_000;

    @TempDir
    Path dataDir;

    @Test
    void everyAcknowledgedWriteSurvivesAKillAtAnyMoment() throws Exception {
        SplittableRandom random = new SplittableRandom(2024);
        Map<String, Long> expected = new HashMap<>();
        long nextOp = 0;
        for (int round = 0; round < ROUNDS; round++) {
            int acksBeforeKill = 3 + random.nextInt(25);
            List<String> acks = runAndKill(nextOp, acksBeforeKill, random.nextInt(KILL_DELAY_US));
            assertTrue(acks.size() >= acksBeforeKill, "child acknowledged only " + acks);
            long lastAcked = nextOp - 1;
            for (String line : acks) {
                String[] parts = line.split(" ");
                long op = Long.parseLong(parts[3]);
                assertEquals(lastAcked + 1, op, "operations run in order");
                lastAcked = op;
                apply(expected, op);
            }
            long inFlight = lastAcked + 1;

            ArrowFingerprintStoreTest.Recorder loaded = new ArrowFingerprintStoreTest.Recorder();
            try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
                LoadReport report = store.load(loaded);
                assertEquals(List.of(), report.quarantined(), "round " + round);
                assertEquals(1, report.probeSets());
            }
            Map<String, Long> found = new HashMap<>();
            for (Reference r : loaded.refs.values()) {
                long seed = Long.parseLong(r.meta().labels().get("seed"));
                assertArrayEquals(Fingerprints.rows(CrashWriter.SET, seed), r.rows(), r.meta().modelId());
                assertEquals(CrashWriter.model(seed), r.meta().modelId());
                found.put(r.meta().modelId(), seed);
            }
            Map<String, Long> ifInFlightLanded = new HashMap<>(expected);
            apply(ifInFlightLanded, inFlight);
            if (!found.equals(expected) && !found.equals(ifInFlightLanded)) {
                fail("round " + round + ": after op " + lastAcked + " expected " + expected
                        + " (or with op " + inFlight + ": " + ifInFlightLanded + ") but loaded " + found);
            }
            expected = found;
            nextOp = inFlight + 1;
        }
    }

    private static void apply(Map<String, Long> state, long op) {
        if (CrashWriter.isDelete(op)) {
            state.remove(CrashWriter.model(op));
        } else {
            state.put(CrashWriter.model(op), op);
        }
    }

    /**
     * Runs a {@link CrashWriter} from {@code firstOp}, kills it {@code delayMicros} after it has
     * printed {@code acks} acks, and returns every complete ack line it printed before it died. Its stdout goes to a file
     * rather than a pipe because killing a process closes the pipe along with whatever is unread.
     */
    private List<String> runAndKill(long firstOp, int acks, int delayMicros) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path stdout = dataDir.resolveSibling(dataDir.getFileName() + "-child-stdout.txt");
        Path stderr = dataDir.resolveSibling(dataDir.getFileName() + "-child-stderr.txt");
        Process child = new ProcessBuilder(java.toString(), "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), CrashWriter.class.getName(), dataDir.toString(),
                Long.toString(firstOp))
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile())
                .start();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (referenceAcks(stdout).size() < acks) {
                if (!child.isAlive() || System.nanoTime() > deadline) {
                    fail("child stopped or stalled after " + referenceAcks(stdout).size() + " acks: "
                            + Files.readString(stderr));
                }
                Thread.sleep(1);
            }
            Thread.sleep(delayMicros / 1000, delayMicros % 1000 * 1000);
        } finally {
            child.destroyForcibly();
            child.waitFor();
        }
        return referenceAcks(stdout);
    }

    /** The complete "acked save|delete" lines of {@code stdout}; a last line without its newline is not one. */
    private static List<String> referenceAcks(Path stdout) throws IOException {
        String text = Files.readString(stdout);
        List<String> acks = new ArrayList<>();
        for (String line : text.substring(0, text.lastIndexOf('\n') + 1).split("\n")) {
            if (line.startsWith("acked save ") || line.startsWith("acked delete ")) {
                acks.add(line);
            }
        }
        return acks;
    }
}
