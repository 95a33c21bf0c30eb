package dev.imprint.core;

import java.util.BitSet;

/**
 * The outputs of a model under test on some probes of a set.
 *
 * @param rows          {@code probeIndices.length × dim} values, row-major; row i answers probe
 *                      {@code probeIndices[i]}
 * @param probeIndices  distinct probe numbers in [0, numProbes), in the order of {@code rows}
 */
public record Suspect(float[] rows, int[] probeIndices) {

    /**
     * Validates a suspect against its probe set and returns it. An empty {@code probeIndices}
     * means all probes in order.
     */
    public static Suspect of(ProbeSet set, int rowCount, int colCount, float[] rows, int[] probeIndices) {
        if (colCount != set.dim()) {
            throw ImprintException.invalidArgument("suspect.cols=%d but probe set %s has dim=%d",
                    colCount, set.id(), set.dim());
        }
        int[] indices = probeIndices == null || probeIndices.length == 0 ? allProbes(set) : probeIndices.clone();
        if (rowCount != indices.length) {
            throw ImprintException.invalidArgument(probeIndices == null || probeIndices.length == 0
                    ? "suspect.rows=%d but the probe set has num_probes=%d and probe_indices is empty"
                    : "suspect.rows=%d but probe_indices has %d entries", rowCount, indices.length);
        }
        if (rows.length != rowCount * colCount) {
            throw ImprintException.invalidArgument("suspect has %d values; expected rows*cols=%d",
                    rows.length, rowCount * colCount);
        }
        BitSet seen = new BitSet(set.numProbes());
        for (int i = 0; i < indices.length; i++) {
            int p = indices[i];
            if (p < 0 || p >= set.numProbes()) {
                throw ImprintException.invalidArgument("probe_indices[%d]=%d is out of range [0, %d)",
                        i, Integer.toUnsignedLong(p), set.numProbes());
            }
            if (seen.get(p)) {
                throw ImprintException.invalidArgument("probe_indices[%d]=%d is a duplicate", i, p);
            }
            seen.set(p);
        }
        RowValidator.validate(set, "suspect", rows, 0, rowCount, 0);
        return new Suspect(rows, indices);
    }

    public int probeCount() {
        return probeIndices.length;
    }

    private static int[] allProbes(ProbeSet set) {
        int[] all = new int[set.numProbes()];
        for (int p = 0; p < all.length; p++) {
            all[p] = p;
        }
        return all;
    }
}
