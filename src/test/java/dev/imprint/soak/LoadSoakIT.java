package dev.imprint.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.client.ImprintClient;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The short load soak against the packaged jar (the 10-minute one is {@code scripts/hardening
 * soak}), and ScoreStream's backpressure against a client that never reads its responses.
 */
class LoadSoakIT {
    @TempDir
    Path tmp;

    @Test
    void sixtyFourClientsMixingEveryMethodGetNoErrors() throws Exception {
        LoadSoak.Report report = LoadSoak.run(new LoadSoak.Settings(BuiltJar.require(), tmp.resolve("data"),
                Duration.ofSeconds(20), 64, Duration.ofMillis(500), 20261206L));
        System.out.println(report.summary());
        assertEquals(0, report.errors(), report.summary());
        for (LoadSoak.MethodStats m : report.methods()) {
            assertTrue(m.calls() > 0, m.method() + " was never called: " + report.summary());
        }
        // 20 s is too short for the quarter-median criterion (the heap is still sizing itself); the
        // long soak asserts flatness. Here: the server's memory stays within what -Xmx1g allows.
        assertTrue(report.rss().stream().allMatch(s -> s.bytes() < 2L << 30), report.summary());
    }

    @Test
    void aStreamWhoseResponsesAreNeverReadStopsBeingReadAndStallsNoOtherClient() throws Exception {
        try (ServerProcess server = LoadSoak.startServer(BuiltJar.require(), tmp.resolve("data"))) {
            String target = "127.0.0.1:" + server.awaitPort(Duration.ofSeconds(120));
            ImprintClient setup = ImprintClient.connect(target);
            try {
                setup.awaitServer(target, Duration.ofSeconds(30));
                LoadSoak.load(setup);
            } finally {
                setup.close();
            }
            LoadSoak.Backpressure b = LoadSoak.stalledStream(server, target, Duration.ofSeconds(3));
            System.out.println(b.summary());
            assertTrue(b.stalled(), b.summary());
            // Each request is 128 KiB: 1000 of them would be 125 MiB held for one stream.
            assertTrue(b.requestsAccepted() < 1000, b.summary());
            assertTrue(b.suspectsScored() <= b.requestsAccepted(), b.summary());
            assertTrue(b.bystanderCalls() > 0, b.summary());
            assertEquals(0, b.bystanderErrors(), b.summary());
            assertTrue(b.bystanderMaxMs() < 5000, b.summary());
            assertEquals(0, b.scoredWhileStalled(),
                    "the server reads no more of a stream nobody reads: " + b.summary());
            assertTrue(b.rssAfter() - b.rssBefore() < 256L << 20, b.summary());
            assertTrue(b.rssAfter() - b.rssStalled() < 32L << 20, b.summary());
        }
    }
}
