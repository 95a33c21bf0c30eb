package dev.imprint.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link RowTerms} with the unit row and the argmax on the Vector API, in lanes as wide as the
 * CPU's vectors (C2 does not vectorise those loops itself: the two float arrays might be one).
 * Loaded only where {@code jdk.incubator.vector} is (see {@link CpuBackend#vectorApiLoaded()}).
 *
 * <p>The sums and the logarithm stay {@link ScalarRowTerms}': both are exact functions of their
 * input there. On the Vector API they are not: its lanewise {@code LOG} compiles to the vector math
 * library (SVML) but falls back to {@link Math#log} until the JIT has compiled the caller, and its
 * sum of lanes may add in another order once compiled, so the same suspect scored its last bits
 * differently in a cold JVM and a warm one. That broke the bit-for-bit equality of the Spark job
 * (fresh executors) with the server (RescoreJobTest); it was some six times faster per element.
 */
final class VectorRowTerms implements RowTerms {
    static final VectorRowTerms INSTANCE = new VectorRowTerms();
    private static final VectorSpecies<Float> WIDE = FloatVector.SPECIES_PREFERRED;
    private static final int WIDE_LANES = WIDE.length();

    private VectorRowTerms() {}

    @Override
    public double sumOfSquares(float[] row, int base, int dim) {
        return ScalarRowTerms.INSTANCE.sumOfSquares(row, base, dim);
    }

    @Override
    public void scale(float[] row, int base, int dim, float factor, float[] out, int off) {
        int bound = WIDE.loopBound(dim);
        for (int k = 0; k < bound; k += WIDE_LANES) {
            FloatVector.fromArray(WIDE, row, base + k).mul(factor).intoArray(out, off + k);
        }
        for (int k = bound; k < dim; k++) {
            out[off + k] = row[base + k] * factor;
        }
    }

    @Override
    public int argmax(float[] row, int base, int dim) {
        // The largest value first, then where it first occurs: both passes over a row in L1.
        int bound = WIDE.loopBound(dim);
        float max = row[base];
        if (bound > 0) {
            FloatVector acc = FloatVector.fromArray(WIDE, row, base);
            for (int k = WIDE_LANES; k < bound; k += WIDE_LANES) {
                acc = acc.max(FloatVector.fromArray(WIDE, row, base + k));
            }
            max = acc.reduceLanes(VectorOperators.MAX);
        }
        for (int k = bound; k < dim; k++) {
            max = Math.max(max, row[base + k]);
        }
        for (int k = 0; k < bound; k += WIDE_LANES) {
            var hits = FloatVector.fromArray(WIDE, row, base + k).compare(VectorOperators.EQ, max);
            if (hits.anyTrue()) {
                return k + hits.firstTrue();
            }
        }
        for (int k = bound; k < dim; k++) {
            if (row[base + k] == max) {
                return k;
            }
        }
        throw new AssertionError("the largest value of a row was not found in it");
    }

    @Override
    public void smoothedLogs(float[] row, int base, int dim, double eps, double scale, float[] logs, int logOff,
                             float[] smooth, int smoothOff, double[] negEntropy, double[] logSum, int at) {
        ScalarRowTerms.INSTANCE.smoothedLogs(row, base, dim, eps, scale, logs, logOff, smooth, smoothOff, negEntropy,
                logSum, at);
    }
}
