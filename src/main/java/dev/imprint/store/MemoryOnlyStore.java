package dev.imprint.store;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import java.util.List;

/**
 * A store that loads nothing and keeps nothing, for engines whose references live only as long as
 * the process: the benchmarks (regenerated each run; the sweep extends it to load generated ones)
 * and `evaluate` (its scenarios, which leave nothing on disk, even when interrupted).
 */
public class MemoryOnlyStore implements FingerprintStore {
    @Override
    public LoadReport load(LoadVisitor visitor) {
        return new LoadReport(0, 0, List.of(), 0);
    }

    @Override
    public void saveProbeSet(ProbeSet set) {
    }

    @Override
    public void deleteProbeSet(String probeSetId) {
    }

    @Override
    public void saveReference(Reference reference) {
    }

    @Override
    public void deleteReference(String probeSetId, String modelId) {
    }

    @Override
    public String location() {
        return "(memory only)";
    }

    @Override
    public void close() {
    }
}
