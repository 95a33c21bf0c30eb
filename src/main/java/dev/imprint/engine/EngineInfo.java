package dev.imprint.engine;

import java.util.List;

/**
 * A snapshot of the engine's state for GetServerInfo and the CLI's {@code info}.
 *
 * @param referenceBytes backend memory held by references, precomputed forms included
 * @param quarantined    files set aside as corrupt when the store was loaded
 * @param scoringBatches backend scoring calls since the engine opened, deleted probe sets included
 * @param scoredSuspects suspects those calls scored
 * @param scoringQueued  scoring calls waiting now for a batch, not counting those being scored
 * @param scoringQueuedSuspects the suspects of those calls
 * @param batching       how concurrent scoring calls are merged
 * @param device         the accelerator the backend scores on; null for the CPU
 */
public record EngineInfo(String backend, String backendReason, long referenceBytes, int probeSetCount,
                         int referenceCount, String storeLocation, List<String> quarantined, long scoringBatches,
                         long scoredSuspects, int scoringQueued, int scoringQueuedSuspects, ScoreBatching batching,
                         DeviceInfo device) {
}
