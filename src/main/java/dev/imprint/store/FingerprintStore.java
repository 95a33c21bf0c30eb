package dev.imprint.store;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;

/**
 * Durable home of probe sets and references. Its contract: a call that returns has made its
 * change durable (it survives a crash or power loss), and a file is never seen half-written.
 * Callers serialise writes to the same probe set; the store itself need not.
 */
public interface FingerprintStore extends AutoCloseable {

    /**
     * Reads everything durable, handing each probe set to {@code visitor} before its references.
     * Temporary leftovers of interrupted writes are removed; corrupt or truncated files are moved
     * aside, reported in the result, and do not stop the rest from loading.
     */
    LoadReport load(LoadVisitor visitor);

    /** Durably records a probe set (overwriting a previous record of the same id). */
    void saveProbeSet(ProbeSet set);

    /** Durably removes a probe set and every reference stored under it. */
    void deleteProbeSet(String probeSetId);

    /** Durably records a reference, atomically replacing any previous one of the same model id. */
    void saveReference(Reference reference);

    /** Durably removes a reference; no-op if absent. */
    void deleteReference(String probeSetId, String modelId);

    /** Where the data lives, for humans (a directory path). */
    String location();

    @Override
    void close();

    /** Receives what {@link #load} finds. */
    interface LoadVisitor {
        void probeSet(ProbeSet set);

        void reference(Reference reference);
    }
}
