package dev.imprint.engine.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link RowTerms} on the Vector API, in double lanes as wide as the CPU's vectors. The logarithm
 * is the API's lanewise {@code LOG}, which HotSpot compiles to its vector math library (SVML) on
 * x86: some six times faster per element than {@link FastLog}, and as accurate as {@link Math#log}
 * to an ulp or so. Loaded only where {@code jdk.incubator.vector} is (see
 * {@link CpuBackend#vectorApiLoaded()}).
 *
 * <p>The sums are the lanes' partial sums added at the end, in double: their rounding differs from
 * {@link ScalarRowTerms}'s in the last bits only.
 */
final class VectorRowTerms implements RowTerms {
    static final VectorRowTerms INSTANCE = new VectorRowTerms();
    private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
    /** Floats loaded as many at a time as a double vector has lanes, and widened to it. */
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED.withShape(
            VectorShape.forBitSize(DOUBLES.vectorBitSize() / 2));
    private static final int LANES = DOUBLES.length();
    private static final VectorSpecies<Float> WIDE = FloatVector.SPECIES_PREFERRED;
    private static final int WIDE_LANES = WIDE.length();

    private VectorRowTerms() {}

    @Override
    public double sumOfSquares(float[] row, int base, int dim) {
        int bound = DOUBLES.loopBound(dim);
        DoubleVector acc = DoubleVector.zero(DOUBLES);
        for (int k = 0; k < bound; k += LANES) {
            DoubleVector v = widened(row, base + k);
            acc = v.fma(v, acc);
        }
        double sum = acc.reduceLanes(VectorOperators.ADD);
        for (int k = bound; k < dim; k++) {
            double v = row[base + k];
            sum += v * v;
        }
        return sum;
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
        int bound = DOUBLES.loopBound(dim);
        DoubleVector negH = DoubleVector.zero(DOUBLES);
        DoubleVector sum = negH;
        for (int k = 0; k < bound; k += LANES) {
            DoubleVector t = widened(row, base + k).add(eps).mul(scale);
            DoubleVector lt = t.lanewise(VectorOperators.LOG);
            negH = t.fma(lt, negH);
            sum = sum.add(lt);
            if (logs != null) {
                narrowed(lt).intoArray(logs, logOff + k);
            }
            if (smooth != null) {
                narrowed(t).intoArray(smooth, smoothOff + k);
            }
        }
        double negHSum = negH.reduceLanes(VectorOperators.ADD);
        double lnSum = sum.reduceLanes(VectorOperators.ADD);
        for (int k = bound; k < dim; k++) {
            double t = (row[base + k] + eps) * scale;
            double lt = Math.log(t);
            negHSum += t * lt;
            lnSum += lt;
            if (logs != null) {
                logs[logOff + k] = (float) lt;
            }
            if (smooth != null) {
                smooth[smoothOff + k] = (float) t;
            }
        }
        negEntropy[at] = negHSum;
        logSum[at] = lnSum;
    }

    private static DoubleVector widened(float[] row, int from) {
        return (DoubleVector) FloatVector.fromArray(FLOATS, row, from).convertShape(VectorOperators.F2D, DOUBLES, 0);
    }

    private static FloatVector narrowed(DoubleVector v) {
        return (FloatVector) v.convertShape(VectorOperators.D2F, FLOATS, 0);
    }
}
