package dev.imprint.bench;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSetKind;
import java.util.Set;

/**
 * The benchmark workloads of the performance contract: M references of P probes × D, scored
 * against a batch of S suspects with the kind's default metrics.
 */
public enum Workload {
    /** DISTRIBUTION, one suspect: memory-bound, every reference byte read once per query. */
    W1(ProbeSetKind.DISTRIBUTION, 200, 256, 1024, 1),
    /** DISTRIBUTION, a batch of 64 suspects: compute-bound matrix products. */
    W2(ProbeSetKind.DISTRIBUTION, 200, 256, 1024, 64),
    /** EMBEDDING, one suspect, COSINE. */
    W3(ProbeSetKind.EMBEDDING, 1000, 128, 768, 1),
    /** EMBEDDING, a batch of 64 suspects, COSINE. */
    W4(ProbeSetKind.EMBEDDING, 1000, 128, 768, 64);

    private final ProbeSetKind kind;
    private final int references;
    private final int probes;
    private final int dim;
    private final int suspects;

    Workload(ProbeSetKind kind, int references, int probes, int dim, int suspects) {
        this.kind = kind;
        this.references = references;
        this.probes = probes;
        this.dim = dim;
        this.suspects = suspects;
    }

    public ProbeSetKind kind() {
        return kind;
    }

    /** M at scale 1. */
    public int references() {
        return references;
    }

    /** M at {@code scale}, at least 1. */
    public int references(double scale) {
        return (int) Math.max(1, Math.round(references * scale));
    }

    public int probes() {
        return probes;
    }

    public int dim() {
        return dim;
    }

    /** S, the suspects scored per batch. */
    public int suspects() {
        return suspects;
    }

    /** The metrics scored: the kind's defaults. */
    public Set<Metric> metrics() {
        return Metric.defaultsFor(kind);
    }
}
