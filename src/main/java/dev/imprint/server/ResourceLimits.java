package dev.imprint.server;

import dev.imprint.core.ProbeSet;

/**
 * How much work the server takes on at once; past a limit a call fails with RESOURCE_EXHAUSTED
 * naming the numbers, and the server goes on serving the rest (see {@link Admission}).
 *
 * @param maxConcurrentUploads    PutReference calls past their header at once
 * @param maxUploadBytesInFlight  bytes those uploads hold, each counted as num_probes × dim × 4 from its header
 * @param maxConcurrentCalls      calls of {@code imprint.v1.Imprint} in flight at once (a stream counts once)
 * @param maxQueuedSuspects       suspects waiting for or in a scoring batch, over all calls
 * @param maxProbeSetValues       largest num_probes × dim a CreateProbeSet may ask for
 * @param tokenCallsPerSecond     calls each token may make per second, in bursts of up to a second's
 *                                worth ({@link TokenRates}); 0 for no limit
 */
public record ResourceLimits(int maxConcurrentUploads, long maxUploadBytesInFlight, int maxConcurrentCalls,
                             int maxQueuedSuspects, long maxProbeSetValues, double tokenCallsPerSecond) {
    public static final int DEFAULT_MAX_CONCURRENT_UPLOADS = 64;
    public static final int DEFAULT_MAX_CONCURRENT_CALLS = 1024;
    public static final int DEFAULT_MAX_QUEUED_SUSPECTS = 8192;

    public ResourceLimits {
        positive("maxConcurrentUploads", maxConcurrentUploads);
        positive("maxUploadBytesInFlight", maxUploadBytesInFlight);
        positive("maxConcurrentCalls", maxConcurrentCalls);
        positive("maxQueuedSuspects", maxQueuedSuspects);
        if (maxProbeSetValues < 1 || maxProbeSetValues > ProbeSet.MAX_ELEMENTS) {
            throw new IllegalArgumentException("maxProbeSetValues=" + maxProbeSetValues + "; expected 1.."
                    + ProbeSet.MAX_ELEMENTS);
        }
        if (!(tokenCallsPerSecond >= 0) || Double.isInfinite(tokenCallsPerSecond)) {
            throw new IllegalArgumentException("tokenCallsPerSecond=" + tokenCallsPerSecond
                    + "; expected 0 (no limit) or a positive number of calls per second");
        }
    }

    /** As the canonical constructor, with no per-token rate. */
    public ResourceLimits(int maxConcurrentUploads, long maxUploadBytesInFlight, int maxConcurrentCalls,
                          int maxQueuedSuspects, long maxProbeSetValues) {
        this(maxConcurrentUploads, maxUploadBytesInFlight, maxConcurrentCalls, maxQueuedSuspects, maxProbeSetValues, 0);
    }

    /** Half the JVM's largest heap: what uploads may hold by default. */
    public static long defaultMaxUploadBytesInFlight() {
        return Runtime.getRuntime().maxMemory() / 2;
    }

    /** Generous limits that only a runaway client reaches. */
    public static ResourceLimits defaults() {
        return new ResourceLimits(DEFAULT_MAX_CONCURRENT_UPLOADS, defaultMaxUploadBytesInFlight(),
                DEFAULT_MAX_CONCURRENT_CALLS, DEFAULT_MAX_QUEUED_SUSPECTS, ProbeSet.MAX_ELEMENTS);
    }

    private static void positive(String name, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + "=" + value + "; expected at least 1");
        }
    }
}
