package dev.imprint.bench;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.synth.SynthScenario;
import java.util.Set;

/**
 * The benchmark workloads of the performance contract: M references of P probes × D, scored
 * against a batch of S suspects with the kind's default metrics. W5 and W6 score top-k
 * fingerprints twice in one run: as compact rows over each probe's support (D keys) and as the
 * same distributions over a whole vocabulary ({@link #denseDim()}), with 20 references, since the
 * dense form of 200 (with the attribution forms the engine keeps beside it) needs tens of GiB.
 */
public enum Workload {
    /** DISTRIBUTION, one suspect: memory-bound, every reference byte read once per query. */
    W1(ProbeSetKind.DISTRIBUTION, 200, 256, 1024, 1),
    /** DISTRIBUTION, a batch of 64 suspects: compute-bound matrix products. */
    W2(ProbeSetKind.DISTRIBUTION, 200, 256, 1024, 64),
    /** EMBEDDING, one suspect, COSINE. */
    W3(ProbeSetKind.EMBEDDING, 1000, 128, 768, 1),
    /** EMBEDDING, a batch of 64 suspects, COSINE. */
    W4(ProbeSetKind.EMBEDDING, 1000, 128, 768, 64),
    /** Top-k rows, one suspect: compact over a support of 64 keys, then dense over 32000 tokens. */
    W5(ProbeSetKind.DISTRIBUTION, 20, 256, 64, 1, 32000),
    /** Top-k rows, a batch of 64 suspects: compact, then dense. */
    W6(ProbeSetKind.DISTRIBUTION, 20, 256, 64, 64, 32000),
    /**
     * Attribution: the synthetic scenario {@code imprint synth --kind EMBEDDING --probes 128 --dim 512
     * --families 8 --models-per-family 4 --students 4 --seed 11} writes (32 references in 8 families;
     * 4 students, a sibling and an unrelated model as suspects), the batch of its 6 suspects scored
     * with a verdict each and every reference's p-value. scripts/bench-compare.sh writes the same
     * scenario for the peers.
     */
    A1(ProbeSetKind.EMBEDDING, 32, 128, 512, 6, 0);

    /** The scenario of {@link #A1}: families, models per family, students and their beta. */
    public static final SynthScenario.Spec ATTRIBUTION_SPEC = new SynthScenario.Spec(8, 4, 4, 0.7);
    /** The seed of {@link #A1}'s scenario. */
    public static final long ATTRIBUTION_SEED = 11;
    /** The level of {@link #A1}'s verdicts. */
    public static final double ATTRIBUTION_ALPHA = 0.01;

    private final ProbeSetKind kind;
    private final int references;
    private final int probes;
    private final int dim;
    private final int suspects;
    private final int denseDim;

    Workload(ProbeSetKind kind, int references, int probes, int dim, int suspects) {
        this(kind, references, probes, dim, suspects, 0);
    }

    Workload(ProbeSetKind kind, int references, int probes, int dim, int suspects, int denseDim) {
        this.kind = kind;
        this.denseDim = denseDim;
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

    /** True for the attribution workload, whose references and suspects are a synthetic scenario's. */
    public boolean attribution() {
        return this == A1;
    }

    /** True for the top-k workloads, which score a compact and a dense form of the same distributions. */
    public boolean topK() {
        return denseDim > 0;
    }

    /** The vocabulary size of a top-k workload's dense form; 0 for the others. */
    public int denseDim() {
        return denseDim;
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
