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
}
