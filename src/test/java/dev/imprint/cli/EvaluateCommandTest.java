package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** `imprint evaluate` on the synthetic scenarios, at a chosen number of probes. */
class EvaluateCommandTest {
    @Test
    void runsTheSyntheticScenariosOnTheProbesAskedFor() {
        CliRun run = CliRun.run("evaluate", "--scenario", "synth", "--seeds", "1", "--per-condition", "1",
                "--probes", "32");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("== synthetic: 1 seeds x 1 suspects per condition, 32 probes"), run.out());
        assertTrue(run.out().contains("truth \\ verdict"), "the confusion table: " + run.out());
        assertTrue(run.out().contains("INDEPENDENT ("), "a row for the suspects related to no reference: " + run.out());
    }

    @Test
    void refusesProbesOutsideItsRangeBeforeRunningAnything() {
        CliRun run = CliRun.run("evaluate", "--scenario", "synth", "--probes", "8");
        assertEquals(2, run.exit());
        assertTrue(run.err().contains("--probes=8; expected 16 to 4096"), run.err());
        assertEquals("", run.out());
    }
}
