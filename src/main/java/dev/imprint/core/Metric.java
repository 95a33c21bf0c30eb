package dev.imprint.core;

import java.util.EnumSet;
import java.util.Set;

/**
 * The similarity metrics, each a mean over the probes a suspect supplied. See README "Metrics" for
 * the exact definitions; {@code x~ = (x + eps) / (1 + D*eps)} is the smoothed row.
 */
public enum Metric {
    /** Mean of r.s/(|r||s|) on raw rows. */
    COSINE(true, true),
    /** Mean of KL(r~ || s~), nats. The divergence a distilled student minimises against its teacher. */
    KL_REF_SUSPECT(false, false),
    /** Mean of KL(s~ || r~), nats. */
    KL_SUSPECT_REF(false, false),
    /** Mean Jensen-Shannon divergence of r~ and s~, nats. */
    JS(false, false),
    /** Fraction of probes whose argmax agrees, ties to the lowest index. */
    TOP1_AGREEMENT(true, false);

    private final boolean higherIsCloser;
    private final boolean embeddingSupported;

    Metric(boolean higherIsCloser, boolean embeddingSupported) {
        this.higherIsCloser = higherIsCloser;
        this.embeddingSupported = embeddingSupported;
    }

    /** True when a larger value means the suspect is closer to the reference. */
    public boolean higherIsCloser() {
        return higherIsCloser;
    }

    public boolean supports(ProbeSetKind kind) {
        return kind == ProbeSetKind.DISTRIBUTION || embeddingSupported;
    }

    /** The metrics computed when a request names none: all the kind supports except the costly JS. */
    public static Set<Metric> defaultsFor(ProbeSetKind kind) {
        return kind == ProbeSetKind.EMBEDDING
                ? EnumSet.of(COSINE)
                : EnumSet.of(COSINE, KL_REF_SUSPECT, KL_SUSPECT_REF, TOP1_AGREEMENT);
    }

    /** The metric results are ranked by when a request names none. */
    public static Metric defaultOrderFor(ProbeSetKind kind) {
        return kind == ProbeSetKind.EMBEDDING ? COSINE : KL_REF_SUSPECT;
    }
}
