package dev.imprint.core;

import java.util.Map;

/**
 * What Imprint knows about a reference apart from its rows.
 *
 * @param createdUnixMs milliseconds since the epoch when the reference became durable
 */
public record ReferenceMeta(String probeSetId, String modelId, Map<String, String> labels,
                            int numProbes, int dim, long createdUnixMs) {
    public ReferenceMeta {
        Ids.requireValid("probe_set_id", probeSetId);
        Ids.requireValid("model_id", modelId);
        labels = Labels.copyOf("labels", labels);
    }
}
