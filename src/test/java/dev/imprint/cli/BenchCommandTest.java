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
}
