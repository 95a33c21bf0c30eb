package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BenchCommandTest {
    @Test
    void anUnknownSweepAxisOrFamilyIsACommandLineMistakeThatRunsNothing() {
        CliRun axis = CliRun.run("bench", "--sweep", "M,Q");
        assertEquals(2, axis.exit(), axis.err());
        assertTrue(axis.err().contains("--sweep=Q; expected M, P, D, S or all"), axis.err());
        assertEquals("", axis.out());

        CliRun family = CliRun.run("bench", "--sweep", "M", "--sweep-family", "images");
        assertEquals(2, family.exit(), family.err());
        assertTrue(family.err().contains("--sweep-family=images; expected embedding, distribution, topk or all"),
                family.err());

        CliRun small = CliRun.run("bench", "--sweep", "M", "--sweep-max-m", "5");
        assertEquals(2, small.exit(), small.err());
        assertTrue(small.err().contains("--sweep-max-m=5; expected at least 10"), small.err());

        CliRun rounds = CliRun.run("bench", "--sweep", "M", "--sweep-rounds", "0");
        assertEquals(2, rounds.exit(), rounds.err());
        assertTrue(rounds.err().contains("--sweep-rounds=0; expected at least 1"), rounds.err());
        assertEquals("", rounds.out());
    }

    @Test
    void theAttributionWorkloadIsAFixedScenarioThatScaleDoesNotResize() {
        CliRun scaled = CliRun.run("bench", "--workload", "A1", "--scale", "0.5");
        assertEquals(2, scaled.exit(), scaled.err());
        assertTrue(scaled.err().contains("--scale=0.5 multiplies M of W1-W6; A1 is a fixed scenario"), scaled.err());
        assertEquals("", scaled.out());

        CliRun unknown = CliRun.run("bench", "--workload", "A2");
        assertEquals(2, unknown.exit(), unknown.err());
        assertTrue(unknown.err().contains("--workload=A2; expected W1, W2, W3, W4, W5, W6, A1 or all"), unknown.err());
    }

    @Test
    void pacedTimesOneFormOfOneWorkloadAndNothingElseOrSaysWhyItCannot() {
        CliRun two = CliRun.run("bench", "--paced", "--workload", "W3,W4");
        assertEquals(2, two.exit(), two.err());
        assertTrue(two.err().contains("--paced times one workload; --workload names 2"), two.err());
        assertEquals("", two.out());

        CliRun profiled = CliRun.run("bench", "--paced", "--workload", "W3", "--profile");
        assertEquals(2, profiled.exit(), profiled.err());
        assertTrue(profiled.err().contains("it cannot go with --profile"), profiled.err());

        CliRun concurrent = CliRun.run("bench", "--paced", "--workload", "W3", "--concurrency", "2");
        assertEquals(2, concurrent.exit(), concurrent.err());
        assertTrue(concurrent.err().contains("it cannot go with --concurrency"), concurrent.err());

        CliRun bothForms = CliRun.run("bench", "--paced", "--workload", "W5");
        assertEquals(2, bothForms.exit(), bothForms.err());
        assertTrue(bothForms.err().contains("--paced times one form; W5 times two unless --compact-only"),
                bothForms.err());
    }
}
