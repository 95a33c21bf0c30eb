package dev.imprint.core;

/**
 * A reference model's fingerprint on one probe set.
 *
 * @param rows {@code numProbes × dim} values, row-major; row p is the model's output for probe p
 */
public record Reference(ReferenceMeta meta, float[] rows) {
    public Reference {
        if (rows.length != meta.numProbes() * meta.dim()) {
            throw ImprintException.invalidArgument("reference %s has %d values; expected num_probes*dim=%d",
                    meta.modelId(), rows.length, meta.numProbes() * meta.dim());
        }
    }
}
