package dev.imprint.core;

/**
 * Sampling temperature on distribution rows: a model's row at temperature t is {@code p^(1/t)},
 * renormalised. t above 1 flattens a row, below 1 sharpens it; equal entries stay equal, so a
 * top-k row's flat tail stays flat and its kept tokens stay kept.
 */
public final class Tempering {
    private Tempering() {}

    /**
     * Row {@code [base, base + dim)} at temperature {@code t}, in place. A zero stays zero.
     *
     * @throws IllegalArgumentException unless t is finite and positive
     */
    public static void apply(float[] rows, int base, int dim, double t) {
        if (!(t > 0) || Double.isInfinite(t)) {
            throw new IllegalArgumentException("temperature " + t + " is not a finite positive number");
        }
        double max = 0;
        for (int i = 0; i < dim; i++) {
            max = Math.max(max, rows[base + i]);
        }
        if (max <= 0) {
            return;
        }
        // Relative to the largest entry, so p^(1/t) neither overflows nor underflows for t far from 1.
        double[] x = new double[dim];
        double sum = 0;
        for (int i = 0; i < dim; i++) {
            x[i] = rows[base + i] > 0 ? Math.exp(Math.log(rows[base + i] / max) / t) : 0;
            sum += x[i];
        }
        for (int i = 0; i < dim; i++) {
            rows[base + i] = (float) (x[i] / sum);
        }
    }
}
