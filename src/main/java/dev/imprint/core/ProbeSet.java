package dev.imprint.core;

import java.util.Objects;

/**
 * A fixed set of probe prompts: every fingerprint on it is a {@code numProbes × dim} matrix whose
 * row p is a model's output for probe p.
 *
 * @param smoothingEpsilon DISTRIBUTION only (0 for EMBEDDING): rows are smoothed as
 *     {@code x~ = (x + eps) / (1 + dim*eps)} before any logarithm is taken
 * @param texts            the probes themselves and how they were captured, or null when the set
 *                         does not carry them
 * @param supports         DISTRIBUTION only: the per-probe supports its rows are over, so top-k
 *                         answers can be mapped onto them; null when the set does not carry them
 */
public record ProbeSet(String id, int numProbes, int dim, ProbeSetKind kind, double smoothingEpsilon,
                       String description, ProbeTexts texts, Supports supports) {

    public static final double DEFAULT_SMOOTHING_EPSILON = 1e-6;
    /** Largest numProbes × dim: one fingerprint must fit a Java array, with room to spare (1 GiB). */
    public static final long MAX_ELEMENTS = 1L << 28;

    public ProbeSet {
        Ids.requireValid("probe_set_id", id);
        if (kind == null) {
            throw ImprintException.invalidArgument("kind is unspecified; expected EMBEDDING or DISTRIBUTION");
        }
        if (numProbes <= 0) {
            throw ImprintException.invalidArgument("num_probes=%d; expected at least 1", numProbes);
        }
        if (dim <= 0) {
            throw ImprintException.invalidArgument("dim=%d; expected at least 1", dim);
        }
        if ((long) numProbes * dim > MAX_ELEMENTS) {
            throw ImprintException.invalidArgument("num_probes*dim=%d exceeds the limit of %d values per fingerprint",
                    (long) numProbes * dim, MAX_ELEMENTS);
        }
        if (kind == ProbeSetKind.EMBEDDING && smoothingEpsilon != 0) {
            throw ImprintException.invalidArgument("smoothing_epsilon=%s on an EMBEDDING set; it applies to DISTRIBUTION sets only",
                    smoothingEpsilon);
        }
        if (kind == ProbeSetKind.DISTRIBUTION && !(smoothingEpsilon > 0 && smoothingEpsilon < 1)) {
            throw ImprintException.invalidArgument("smoothing_epsilon=%s; expected a value in (0, 1)", smoothingEpsilon);
        }
        description = description == null ? "" : description;
        if (texts != null && texts.probes().size() != numProbes) {
            throw ImprintException.invalidArgument("%d probe texts for num_probes=%d; expected one per probe",
                    texts.probes().size(), numProbes);
        }
        if (supports != null) {
            if (kind != ProbeSetKind.DISTRIBUTION) {
                throw ImprintException.invalidArgument("supports on an %s set; only DISTRIBUTION sets have them", kind);
            }
            supports.requireFits(numProbes, dim);
            if (texts != null && texts.vocabulary() != null && texts.vocabulary() != supports.mode()) {
                throw ImprintException.invalidArgument("texts.vocabulary=%s but supports.vocabulary=%s; a set maps "
                        + "tokens one way", texts.vocabulary(), supports.mode());
            }
        }
    }

    /** A probe set that may carry texts but no supports. */
    public ProbeSet(String id, int numProbes, int dim, ProbeSetKind kind, double smoothingEpsilon,
                    String description, ProbeTexts texts) {
        this(id, numProbes, dim, kind, smoothingEpsilon, description, texts, null);
    }

    /** A probe set that does not carry its probes' texts. */
    public ProbeSet(String id, int numProbes, int dim, ProbeSetKind kind, double smoothingEpsilon,
                    String description) {
        this(id, numProbes, dim, kind, smoothingEpsilon, description, null);
    }

    /** This set carrying {@code texts} (null: none), and its supports as they are. */
    public ProbeSet withTexts(ProbeTexts texts) {
        return new ProbeSet(id, numProbes, dim, kind, smoothingEpsilon, description, texts, supports);
    }

    /** This set carrying {@code supports} (null: none), and its texts as they are. */
    public ProbeSet withSupports(Supports supports) {
        return new ProbeSet(id, numProbes, dim, kind, smoothingEpsilon, description, texts, supports);
    }

    /** This set's definition alone: without texts or supports. */
    public ProbeSet definition() {
        return new ProbeSet(id, numProbes, dim, kind, smoothingEpsilon, description, null, null);
    }

    /**
     * Builds a probe set the way a create request describes it: an unset (zero) epsilon on a
     * DISTRIBUTION set means {@link #DEFAULT_SMOOTHING_EPSILON}.
     */
    public static ProbeSet fromRequest(String id, int numProbes, int dim, ProbeSetKind kind,
                                       double smoothingEpsilon, String description) {
        double eps = kind == ProbeSetKind.DISTRIBUTION && smoothingEpsilon == 0
                ? DEFAULT_SMOOTHING_EPSILON : smoothingEpsilon;
        return new ProbeSet(id, numProbes, dim, kind, eps, description);
    }

    /** Number of float values in one fingerprint. */
    public int elements() {
        return numProbes * dim;
    }

    /**
     * True when {@code other}, a set someone asks to create, is this one: the same id, shape, kind,
     * smoothing and description, and the same texts and supports unless {@code other} carries none
     * (a reference file names its probe set without them, and still belongs to it).
     */
    public boolean sameDefinitionAs(ProbeSet other) {
        return definition().equals(other.definition()) && (other.texts == null || other.texts.equals(texts))
                && (other.supports == null || other.supports.equals(supports));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProbeSet p && id.equals(p.id) && numProbes == p.numProbes && dim == p.dim
                && kind == p.kind && Double.compare(smoothingEpsilon, p.smoothingEpsilon) == 0
                && description.equals(p.description) && Objects.equals(texts, p.texts)
                && Objects.equals(supports, p.supports);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, numProbes, dim, kind, smoothingEpsilon, description, texts, supports);
    }
}
