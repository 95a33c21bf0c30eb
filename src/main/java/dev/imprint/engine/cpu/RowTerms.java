package dev.imprint.engine.cpu;

/**
 * The terms of one suspect row that scoring needs besides the products: its unit row, its argmax,
 * and its smoothed values, their logs and the sums over them (for KL and JS). Scoring takes these
 * once per (suspect, probe), and at small D they cost as much as the products. (C2 in JDK 25 does
 * not vectorise a loop from one float array into another itself: they might be the same array.)
 *
 * <p>Two implementations, which agree to rounding: {@link ScalarRowTerms} on plain Java, and
 * {@link VectorRowTerms} on the Vector API where {@code jdk.incubator.vector} is loaded.
 */
interface RowTerms {
    /** The sum of squares of {@code row[base..base+dim-1]}, in double. */
    double sumOfSquares(float[] row, int base, int dim);

    /** {@code out[off + k] = row[base + k] * factor} for {@code k < dim}. */
    void scale(float[] row, int base, int dim, float factor, float[] out, int off);

    /** The first {@code k < dim} where {@code row[base + k]} is largest; the values are finite. */
    int argmax(float[] row, int base, int dim);

    /**
     * Smooths {@code row[base..base+dim-1]} as {@code t = (x + eps) * scale} and takes {@code ln t};
     * writes each {@code ln t} as float to {@code logs} from {@code logOff} and each {@code t} to
     * {@code smooth} from {@code smoothOff} (a caller that needs neither passes room for them), and
     * the sums {@code Σ t ln t} to {@code negEntropy[at]} and {@code Σ ln t} to {@code logSum[at]},
     * added in double.
     */
    void smoothedLogs(float[] row, int base, int dim, double eps, double scale, float[] logs, int logOff,
                      float[] smooth, int smoothOff, double[] negEntropy, double[] logSum, int at);
}
