package dev.imprint.engine;

import dev.imprint.core.ProbeSet;

/**
 * Where fingerprints are held and scored: the CPU today, a GPU beside it. The engine talks to
 * backends only through this interface and {@link ResidentReferences}, so the server, store and
 * CLI never know which one is running.
 */
public interface ScoringBackend extends AutoCloseable {

    /** A short name reported to clients, such as "cpu". */
    String name();

    /** Creates the empty resident form of one probe set's references. */
    ResidentReferences createResidentSet(ProbeSet set);

    /**
     * How many scoring batches of one probe set are worth running at once: 1 where one batch
     * already keeps every core busy, more where a batch's host work (packing, ranking) can overlap
     * another's device work.
     */
    default int batchesInFlight() {
        return 1;
    }

    /** The accelerator this backend scores on, its free memory read now; null for none (the CPU). */
    default DeviceInfo deviceInfo() {
        return null;
    }

    @Override
    void close();
}
