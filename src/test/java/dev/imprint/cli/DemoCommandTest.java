package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code demo}: a real server on loopback, synthetic references, a right verdict for every suspect. */
class DemoCommandTest {

    @ParameterizedTest
    @CsvSource({"DISTRIBUTION, 42", "DISTRIBUTION, 7", "EMBEDDING, 42"})
    void demoGivesEverySuspectItsRightVerdictAndExitsZero(String kind, String seed) throws IOException {
        List<Path> before = demoDirs();
        CliRun run = CliRun.run("demo", "--kind", kind, "--seed", seed, "--probes", "32", "--dim", "128");
        assertEquals(0, run.exit(), run.toString());
        assertTrue(run.out().contains("  verdict DISTILLED_FROM: distilled from "), run.out());
        assertTrue(run.out().contains("right: DISTILLED_FROM "), run.out());
        assertTrue(run.out().contains("right: SAME_FAMILY "), run.out());
        assertTrue(run.out().contains("right: INDEPENDENT is the real answer"), run.out());
        assertTrue(run.out().contains("suspect sibling-of-"), run.out());
        assertTrue(run.out().contains("suspect unrelated"), run.out());
        assertTrue(run.out().strip().endsWith("demo passed: every verdict is right"), run.out());
        assertEquals(before, demoDirs(), "the temporary data directory is removed");
    }

    @Test
    void demoExitsNonZeroWhenAVerdictIsWrong() {
        // A student that absorbed nothing of its teacher (beta 0) cannot be traced back to it.
        CliRun run = CliRun.run("demo", "--beta", "0", "--seed", "1", "--probes", "32", "--dim", "128");
        assertEquals(ImprintCli.EXIT_FAILURE, run.exit(), run.toString());
        assertTrue(run.out().contains("WRONG: the verdict is "), run.out());
        assertEquals(1, run.errLines().length, run.toString());
        assertTrue(run.err().contains("demo failed: student-of-"), run.toString());
    }

    private static List<Path> demoDirs() throws IOException {
        try (Stream<Path> list = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return list.filter(p -> p.getFileName().toString().startsWith("imprint-demo-")).sorted().toList();
        }
    }
}
