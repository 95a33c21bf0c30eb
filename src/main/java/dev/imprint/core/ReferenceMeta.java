package dev.imprint.core;

import java.util.Map;

/**
 * What Imprint knows about a reference apart from its rows.
 *
 * @param createdUnixMs milliseconds since the epoch when the reference became durable
 * @param role          what the reference is for in attribution
 */
public record ReferenceMeta(String probeSetId, String modelId, Map<String, String> labels,
                            int numProbes, int dim, long createdUnixMs, ReferenceRole role) {
    public ReferenceMeta {
        Ids.requireValid("probe_set_id", probeSetId);
        Ids.requireValid("model_id", modelId);
        labels = Labels.copyOf("labels", labels);
        if (role == null) {
            throw new IllegalArgumentException("role is required");
        }
    }

    /** A protected reference. */
    public ReferenceMeta(String probeSetId, String modelId, Map<String, String> labels, int numProbes, int dim,
                         long createdUnixMs) {
        this(probeSetId, modelId, labels, numProbes, dim, createdUnixMs, ReferenceRole.PROTECTED);
    }

    /** The family label, or null when the reference has none. */
    public String family() {
        return labels.get("family");
    }
}
