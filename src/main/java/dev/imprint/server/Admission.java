package dev.imprint.server;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;

/**
 * Counts the work in flight against {@link ResourceLimits} and refuses what would pass a limit
 * with RESOURCE_EXHAUSTED, naming the numbers. Each admitted piece of work is a {@link Ticket}
 * that gives its share back once, when closed.
 */
final class Admission {
    private final ResourceLimits limits;
    private int uploads;
    private long uploadBytes;
    private int suspects;

    Admission(ResourceLimits limits) {
        this.limits = limits;
    }

    /** Work admitted; closing it (more than once is fine) gives its share back. */
    interface Ticket extends AutoCloseable {
        @Override
        void close();
    }

    /** Admits an upload that will hold {@code bytes} (num_probes × dim × 4) until its ticket closes. */
    synchronized Ticket upload(long bytes) {
        if (uploads + 1 > limits.maxConcurrentUploads()) {
            throw ImprintException.resourceExhausted("%d uploads in flight, the limit is %d (serve "
                    + "--max-concurrent-uploads); retry once one has finished", uploads + 1, limits.maxConcurrentUploads());
        }
        if (uploadBytes + bytes > limits.maxUploadBytesInFlight()) {
            throw ImprintException.resourceExhausted("uploads in flight would hold %d bytes with this one's %d "
                    + "(num_probes*dim*4), the limit is %d (serve --max-upload-bytes-in-flight)%s", uploadBytes + bytes,
                    bytes, limits.maxUploadBytesInFlight(), bytes > limits.maxUploadBytesInFlight()
                            ? "; this upload alone is larger" : "; retry once one has finished");
        }
        uploads++;
        uploadBytes += bytes;
        return once(() -> {
            synchronized (this) {
                uploads--;
                uploadBytes -= bytes;
            }
        });
    }

    /** Admits {@code count} suspects for scoring until the ticket closes. */
    synchronized Ticket suspects(int count) {
        if (suspects + count > limits.maxQueuedSuspects()) {
            throw ImprintException.resourceExhausted("%d suspects queued for scoring with this call's %d, the limit "
                    + "is %d (serve --max-queued-suspects)", suspects + count, count, limits.maxQueuedSuspects());
        }
        suspects += count;
        return once(() -> {
            synchronized (this) {
                suspects -= count;
            }
        });
    }

    /** Refuses a probe set larger than the server takes. */
    void checkProbeSet(ProbeSet set) {
        if (set.elements() > limits.maxProbeSetValues()) {
            throw ImprintException.resourceExhausted("probe set %s has num_probes*dim=%d values, the limit is %d "
                    + "(serve --max-probe-set-values)", set.id(), set.elements(), limits.maxProbeSetValues());
        }
    }

    private static Ticket once(Runnable release) {
        return new Ticket() {
            private boolean closed;

            @Override
            public synchronized void close() {
                if (!closed) {
                    closed = true;
                    release.run();
                }
            }
        };
    }
}
