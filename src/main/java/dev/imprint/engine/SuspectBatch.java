package dev.imprint.engine;

import java.util.List;

/**
 * Suspects that answered the same probes, scored together so the backend can turn S
 * matrix-vector products into one matrix-matrix product.
 *
 * @param probeIndices the probes every suspect answered, distinct, in row order
 * @param suspects     each {@code probeIndices.length × dim}, row-major, validated
 */
public record SuspectBatch(int[] probeIndices, List<float[]> suspects) {
    public SuspectBatch {
        suspects = List.copyOf(suspects);
    }

    public int size() {
        return suspects.size();
    }

    public int probeCount() {
        return probeIndices.length;
    }
}
