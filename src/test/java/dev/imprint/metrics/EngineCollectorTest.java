package dev.imprint.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.DeviceInfo;
import dev.imprint.engine.EngineInfo;
import dev.imprint.engine.ScoreBatching;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The engine gauges over stated engine snapshots: summed over engines, the device reported once. */
class EngineCollectorTest {

    @Test
    void gaugesSumTheEnginesAndReportTheSharedDeviceOnce() throws Exception {
        DeviceInfo gpu = new DeviceInfo("NVIDIA H200", "sm_90", "13.0", 150_000_000_000L, 100_000_000_000L);
        EngineInfo a = info(2, 5, 4096, 3, List.of("ps1/refs/m1.arrow: checksum mismatch"), gpu);
        EngineInfo b = info(1, 2, 1024, 4, List.of(), gpu);
        try (ServerMetrics metrics = new ServerMetrics().watch(() -> List.of(a, b)).serve("127.0.0.1", 0)) {
            PrometheusText scrape = PrometheusText.scrape(metrics.url());

            assertEquals(3, scrape.value("imprint_probe_sets"));
            assertEquals(7, scrape.value("imprint_references"));
            assertEquals(5120, scrape.value("imprint_reference_bytes"));
            assertEquals(7, scrape.value("imprint_scoring_queued_suspects"));
            assertEquals(1, scrape.value("imprint_quarantined_files"));
            assertEquals(1, scrape.find("imprint_device_memory_total_bytes").size(), scrape.toString());
            assertEquals(150e9, scrape.value("imprint_device_memory_total_bytes", "device", "NVIDIA H200"));
            assertEquals(50e9, scrape.value("imprint_device_memory_used_bytes", "device", "NVIDIA H200"));
        }
    }

    @Test
    void anEngineThatCannotBeReadLeavesItsGaugesOutAndTheScrapeStillAnswers() throws Exception {
        try (ServerMetrics metrics = new ServerMetrics().watch(() -> {
            throw new IllegalStateException("the CUDA backend is closed");
        }).serve("127.0.0.1", 0)) {
            PrometheusText scrape = PrometheusText.scrape(metrics.url());

            assertTrue(scrape.find("imprint_references").isEmpty(), scrape.toString());
            assertTrue(scrape.has("imprint_auth_failures_total") && scrape.has("jvm_threads_current"));
        }
    }

    private static EngineInfo info(int probeSets, int references, long bytes, int queuedSuspects,
                                   List<String> quarantined, DeviceInfo device) {
        return new EngineInfo("cuda", "test", bytes, probeSets, references, "/data", quarantined, 0, 0, 1,
                queuedSuspects, ScoreBatching.defaults(), device);
    }
}
