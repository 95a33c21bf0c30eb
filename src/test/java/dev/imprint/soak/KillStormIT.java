package dev.imprint.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The short kill-9 storm against the packaged jar: a handful of SIGKILLs of a server under
 * concurrent puts, replaces, deletes and scores (the long one is {@code scripts/hardening storm}).
 */
class KillStormIT {
    @TempDir
    Path tmp;

    @Test
    void everyAcknowledgedWriteAndDeleteSurvivesRepeatedKillNines() throws Exception {
        KillStorm.Report report = KillStorm.run(new KillStorm.Settings(BuiltJar.require(), tmp.resolve("data"), 5, 4,
                3, 20261206L, Duration.ofSeconds(30), Duration.ofMillis(300), Duration.ofMillis(1500)));
        System.out.println(report.summary());
        assertEquals(0, report.lost(), report.summary());
        assertEquals(0, report.halfVisible(), report.summary());
        assertEquals(0, report.corrupt(), report.summary());
        assertTrue(report.problems().isEmpty(), report.summary());
        assertEquals(6, report.startupMillis().size(), "the first start and one per kill: " + report.summary());
        assertTrue(report.maxStartupMillis() <= 30_000, report.summary());
        assertTrue(report.ackedPuts() > 0 && report.ackedDeletes() > 0 && report.scoreChecks() > 0, report.summary());
        assertTrue(report.passed(), report.summary());
    }
}
