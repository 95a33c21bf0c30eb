package dev.imprint.core;

import java.util.Arrays;

/**
 * Top-k truncated distribution rows, as APIs that return only the k most likely tokens give them:
 * the k largest probabilities kept and the lost mass spread evenly over the other tokens. That is
 * the canonical full row of a top-k answer, and what a row with an exactly flat tail is read as.
 */
public final class Truncation {
    private Truncation() {}

    /**
     * How many tokens row {@code [base, base + dim)} keeps: {@code dim} minus the number of entries
     * equal to its minimum when at least two are (a flat tail), else {@code dim}. Every untruncated
     * tail token is at most the smallest kept probability, so the spread value, their mean, is the
     * row's minimum; real distributions do not tie exactly there.
     */
    public static int keptOf(float[] rows, int base, int dim) {
        float min = Float.POSITIVE_INFINITY;
        for (int k = 0; k < dim; k++) {
            min = Math.min(min, rows[base + k]);
        }
        int atMin = 0;
        for (int k = 0; k < dim; k++) {
            if (rows[base + k] == min) {
                atMin++;
            }
        }
        return atMin >= 2 ? dim - atMin : dim;
    }

    /** Per row of a block of {@code rowCount} rows, {@link #keptOf}; null when no row is truncated. */
    public static int[] keptPerRow(float[] rows, int rowCount, int dim) {
        int[] kept = new int[rowCount];
        boolean any = false;
        for (int p = 0; p < rowCount; p++) {
            kept[p] = keptOf(rows, p * dim, dim);
            any |= kept[p] < dim;
        }
        return any ? kept : null;
    }

    /**
     * Keeps the {@code k} largest probabilities of row {@code [base, base + dim)} and spreads the rest
     * of its mass evenly over the other tokens, in place. Ties at the cut keep the lower token index.
     *
     * @throws IllegalArgumentException unless 0 <= k <= dim
     */
    public static void apply(float[] rows, int base, int dim, int k) {
        if (k < 0 || k > dim) {
            throw new IllegalArgumentException("k=" + k + " outside [0, " + dim + "]");
        }
        if (k == dim) {
            return;
        }
        Integer[] order = new Integer[dim];
        for (int i = 0; i < dim; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(rows[base + b], rows[base + a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        double kept = 0;
        for (int i = 0; i < k; i++) {
            kept += rows[base + order[i]];
        }
        float rest = (float) (Math.max(0, 1 - kept) / (dim - k));
        for (int i = k; i < dim; i++) {
            rows[base + order[i]] = rest;
        }
    }
}
