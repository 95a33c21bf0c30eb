package dev.imprint.store;

import java.util.List;

/**
 * What {@link FingerprintStore#load} did.
 *
 * @param quarantined files found corrupt and set aside, each with the reason, e.g.
 *     "ps1/refs/m1.arrow: checksum mismatch (moved to ps1/refs/m1.arrow.corrupt)"
 * @param removedTemporaries leftovers of interrupted writes that were deleted
 */
public record LoadReport(int probeSets, int references, List<String> quarantined, int removedTemporaries) {
    public LoadReport {
        quarantined = List.copyOf(quarantined);
    }
}
