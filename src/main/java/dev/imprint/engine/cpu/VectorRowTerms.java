package dev.imprint.engine.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link RowTerms} on the Vector API, in lanes as wide as the CPU's vectors (C2 does not vectorise
 * these loops itself: the two float arrays might be one). Loaded only where
 * {@code jdk.incubator.vector} is (see {@link CpuBackend#vectorKernelsUsable()}).
 *
 * <p>Every result is a fixed function of the input, whether the JIT has compiled this code or not:
 * a Spark executor that has just started must score a suspect to the same bits as a warm server
 * (RescoreJobTest). So the sums never use {@code reduceLanes}, which may add the lanes in another
 * order once compiled: each lane keeps its own sum and the lanes are added in lane order at the end,
 * then the elements past the last whole vector. And the logarithm is {@link BranchFreeLog}'s, in
 * lanes, built from exactly rounded operations: the Vector API's own {@code LOG} is {@link Math#log}
 * until compiled and the vector math library after. The sums' order depends on the lane count, so
 * two CPUs of different vector widths may differ in the last bits of a sum, as their BLAS does.
 */
final class VectorRowTerms implements RowTerms {
    static final VectorRowTerms INSTANCE = new VectorRowTerms();
    private static final VectorSpecies<Float> WIDE = FloatVector.SPECIES_PREFERRED;
    private static final int WIDE_LANES = WIDE.length();
    /** Double lanes, and float lanes as many: each float vector widens into one double vector. */
    private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> NARROW =
            VectorSpecies.of(float.class, VectorShape.forBitSize(DOUBLES.vectorBitSize() / 2));
    /** How many partial sums the double loops keep: the order in which they add up. */
    static final int LANES = DOUBLES.length();

    private VectorRowTerms() {}

    @Override
    public double sumOfSquares(float[] row, int base, int dim) {
        int bound = NARROW.loopBound(dim);
        DoubleVector acc = DoubleVector.zero(DOUBLES);
        for (int k = 0; k < bound; k += LANES) {
            DoubleVector v = widen(row, base + k);
            acc = acc.add(v.mul(v));
        }
        double sum = sumInLaneOrder(acc);
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
        float epsF = (float) eps;
        float scaleF = (float) scale;
        // First t and ln t in float lanes, into the outputs; then their sums in double lanes from
        // there, half a float vector at a time. One pass widening both halves of each float vector
        // (convertShape's parts 0 and 1) took 1.63 ns a value against 1.39 for the two (a harness
        // on the development machine, rows of 64).
        int wide = WIDE.loopBound(dim);
        for (int k = 0; k < wide; k += WIDE_LANES) {
            FloatVector t = FloatVector.fromArray(WIDE, row, base + k).add(epsF).mul(scaleF);
            t.intoArray(smooth, smoothOff + k);
            ln(t).intoArray(logs, logOff + k);
        }
        for (int k = wide; k < dim; k++) {
            float t = (row[base + k] + epsF) * scaleF;
            smooth[smoothOff + k] = t;
            logs[logOff + k] = BranchFreeLog.ln(t);
        }
        int bound = NARROW.loopBound(dim);
        DoubleVector negH = DoubleVector.zero(DOUBLES);
        DoubleVector sum = DoubleVector.zero(DOUBLES);
        for (int k = 0; k < bound; k += LANES) {
            FloatVector t = FloatVector.fromArray(NARROW, smooth, smoothOff + k);
            FloatVector lt = FloatVector.fromArray(NARROW, logs, logOff + k);
            // Converted here, not in a helper taking a FloatVector: through one, JDK 25 boxed the
            // vectors and this loop took five times as long (a harness on the development machine).
            negH = negH.add((DoubleVector) t.mul(lt).convertShape(VectorOperators.F2D, DOUBLES, 0));
            sum = sum.add((DoubleVector) lt.convertShape(VectorOperators.F2D, DOUBLES, 0));
        }
        // The lanes added here rather than in sumInLaneOrder: the JIT sometimes left that call out
        // of line in this long method (NodeCountInliningCutoff), boxing both vectors on every row.
        double negHSum = 0;
        double lnSum = 0;
        for (int lane = 0; lane < LANES; lane++) {
            negHSum += negH.lane(lane);
            lnSum += sum.lane(lane);
        }
        for (int k = bound; k < dim; k++) {
            float t = smooth[smoothOff + k];
            float lt = logs[logOff + k];
            negHSum += t * lt;
            lnSum += lt;
        }
        negEntropy[at] = negHSum;
        logSum[at] = lnSum;
    }

    /** {@code row[from..from+LANES-1]} in double. */
    private static DoubleVector widen(float[] row, int from) {
        return (DoubleVector) FloatVector.fromArray(NARROW, row, from).convertShape(VectorOperators.F2D, DOUBLES, 0);
    }

    /** Lane 0 plus lane 1 plus ..., in that order: see the class comment. */
    private static double sumInLaneOrder(DoubleVector v) {
        double sum = 0;
        for (int lane = 0; lane < LANES; lane++) {
            sum += v.lane(lane);
        }
        return sum;
    }

    /** {@link BranchFreeLog#ln} in every lane, step for step, so to the same bits. */
    static FloatVector ln(FloatVector x) {
        VectorMask<Float> inRange = x.compare(VectorOperators.GE, Float.MIN_NORMAL)
                .and(x.compare(VectorOperators.LE, Float.MAX_VALUE));
        if (!inRange.allTrue()) {
            // Zero, subnormal or worse (a smoothed probability never is): lane by lane.
            float[] lanes = x.toArray();
            for (int lane = 0; lane < lanes.length; lane++) {
                lanes[lane] = BranchFreeLog.ln(lanes[lane]);
            }
            return FloatVector.fromArray(x.species(), lanes, 0);
        }
        IntVector bits = x.reinterpretAsInts().add(BranchFreeLog.SHIFT_TO_HALF_SQRT2);
        FloatVector k = bits.lanewise(VectorOperators.LSHR, 23).or(BranchFreeLog.TWO_TO_23_BITS)
                .reinterpretAsFloats().sub(BranchFreeLog.TWO_TO_23_PLUS_BIAS);
        FloatVector f = bits.and(BranchFreeLog.MANTISSA).add(BranchFreeLog.HALF_SQRT2)
                .reinterpretAsFloats().sub(1f);
        FloatVector hfsq = f.mul(0.5f).mul(f);
        FloatVector s = f.div(f.add(2f));
        FloatVector z = s.mul(s);
        FloatVector w = z.mul(z);
        FloatVector t1 = w.mul(w.mul(BranchFreeLog.LG4).add(BranchFreeLog.LG2));
        FloatVector t2 = z.mul(w.mul(BranchFreeLog.LG3).add(BranchFreeLog.LG1));
        FloatVector r = t2.add(t1);
        return s.mul(hfsq.add(r)).add(k.mul(BranchFreeLog.LN2_LO)).sub(hfsq).add(f).add(k.mul(BranchFreeLog.LN2_HI));
    }
}
