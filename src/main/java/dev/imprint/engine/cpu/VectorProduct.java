package dev.imprint.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Products of a per-probe block of DISTRIBUTION reference rows with a few suspect columns on the
 * Vector API, for the skinny batches (S of 1 to a few) whose scoring is memory-bound (EMBEDDING sets
 * are held in panels and multiplied by {@link PanelProduct}): each reference value is loaded
 * once per pair of columns (so once at S=1), four references stream side by side (four prefetch
 * streams, each column value loaded once for the four), and nothing is packed or copied.
 *
 * <p>The four are a quarter of the block apart (slots m, m + q, m + 2q, m + 3q for q = held / 4),
 * not neighbours: each stream then runs on from one row into the next through its quarter, as a
 * row-major matrix-vector product's do, where four neighbouring rows start four short streams per
 * row (a probe's row is a few KiB) that the hardware prefetcher must pick up anew each time. On the
 * development machine that alone made W3 14% faster, W1 28% and W3 on bf16 rows 33% (alternating
 * builds, medians of four to six runs each, when this class multiplied EMBEDDING rows too; their
 * panels now stream the same way). Each slot's sum is added in the same order wherever
 * it sits, so the bits are those of neighbouring slots.
 *
 * <p>BLAS's matrix-vector product reads the block once per column: at S=1 a DISTRIBUTION set's
 * unit rows meet two columns (the suspect's unit row and its smoothed logs), so they were read
 * twice. This class is loaded only where {@code jdk.incubator.vector} is in the boot layer (see
 * {@link CpuBackend#vectorKernelsUsable()}); the JVM compiles its loops to the CPU's widest vectors.
 *
 * <p>One accumulator per reference and column: in the engine, on the development machine, two per
 * reference (eight chains of fused multiply-adds) made W3 some 30% slower, and eight references
 * side by side slower still.
 *
 * <p>Sums are float, as BLAS's are: each lane of each accumulator sums {@code k / lanes} products,
 * so a segment of 1024 (the caller's block, {@code K_BLOCK}) rounds like a sum of 64 at most.
 *
 * <p>The lanes of four accumulators are added up together ({@link #laneSums}), in a tree of
 * lanewise operations: never {@code reduceLanes}, whose order of adding is unspecified and may
 * change once the JIT compiles it, so that a cold JVM (a Spark executor) and a warm one (the server)
 * score to the same bits. On JDK 25 the compiled {@code reduceLanes(ADD)} did give other bits than the
 * interpreter for the same vector. The tree costs a little more (1.45 ns a sum against 1.0 in a
 * microbenchmark on the development machine), which did not show in W5, where D=64 makes sums
 * frequent.
 */
final class VectorProduct {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** References that stream side by side. */
    private static final int REFS = 4;
    /** Lanes whose index has the bit of half (a quarter of) the width set; see {@link #laneSums}. */
    private static final VectorMask<Float> HALF_BIT = VectorMask.fromLong(SPECIES, lanesWithBit(LANES / 2));
    private static final VectorMask<Float> QUARTER_BIT = VectorMask.fromLong(SPECIES, lanesWithBit(LANES / 4));
    /** Lane i takes lane i ^ h: the lane half (a quarter, ...) of the width away. */
    private static final VectorShuffle<Float> ACROSS_HALF = VectorShuffle.fromOp(SPECIES, i -> i ^ (LANES / 2));
    private static final VectorShuffle<Float> ACROSS_QUARTER = VectorShuffle.fromOp(SPECIES, i -> i ^ (LANES / 4));
    private static final VectorShuffle<Float> ACROSS_EIGHTH =
            VectorShuffle.fromOp(SPECIES, i -> i ^ Math.max(1, LANES / 8));
    private static final VectorShuffle<Float> ACROSS_SIXTEENTH =
            VectorShuffle.fromOp(SPECIES, i -> i ^ Math.max(1, LANES / 16));
    /** Where {@link #laneSums} leaves its second, third and fourth accumulator's sum. */
    private static final int SECOND = LANES / 2;
    private static final int THIRD = LANES / 4;
    private static final int FOURTH = 3 * LANES / 4;

    private VectorProduct() {}

    /** The lanes of a float vector here: what {@link #laneSums} folds (for the tests' model of it). */
    static int lanes() {
        return LANES;
    }

    private static long lanesWithBit(int bit) {
        long mask = 0;
        for (int lane = 0; lane < LANES; lane++) {
            if ((lane & bit) != 0) {
                mask |= 1L << lane;
            }
        }
        return mask;
    }

    /**
     * {@code c[col*held + m] = (accumulate ? c[col*held + m] : 0) + sum_{j<k} a[m*dim + k0 + j] * x[col*dim + k0 + j]}
     * for every slot {@code m < held} and column {@code col < columns}.
     */
    static void multiply(float[] a, int dim, int held, int k0, int k, float[] x, int columns, float[] c,
                         boolean accumulate) {
        int col = 0;
        for (; col + 1 < columns; col += 2) {
            twoColumns(a, dim, held, k0, k, x, col * dim + k0, (col + 1) * dim + k0, c, col * held,
                    (col + 1) * held, accumulate);
        }
        if (col < columns) {
            oneColumn(a, dim, held, k0, k, x, col * dim + k0, c, col * held, accumulate);
        }
    }

    private static void oneColumn(float[] a, int dim, int held, int k0, int k, float[] x, int xOff, float[] c,
                                  int cOff, boolean accumulate) {
        int bound = SPECIES.loopBound(k);
        int quarter = held / REFS;
        for (int m = 0; m < quarter; m++) {
            int a0 = m * dim + k0;
            int a1 = a0 + quarter * dim;
            int a2 = a1 + quarter * dim;
            int a3 = a2 + quarter * dim;
            FloatVector s0 = FloatVector.zero(SPECIES);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int j = 0; j < bound; j += LANES) {
                FloatVector xv = FloatVector.fromArray(SPECIES, x, xOff + j);
                s0 = FloatVector.fromArray(SPECIES, a, a0 + j).fma(xv, s0);
                s1 = FloatVector.fromArray(SPECIES, a, a1 + j).fma(xv, s1);
                s2 = FloatVector.fromArray(SPECIES, a, a2 + j).fma(xv, s2);
                s3 = FloatVector.fromArray(SPECIES, a, a3 + j).fma(xv, s3);
            }
            FloatVector sums = laneSums(s0, s1, s2, s3);
            store(c, cOff + m, sums.lane(0) + tail(a, a0, x, xOff, bound, k), accumulate);
            store(c, cOff + m + quarter, sums.lane(SECOND) + tail(a, a1, x, xOff, bound, k), accumulate);
            store(c, cOff + m + 2 * quarter, sums.lane(THIRD) + tail(a, a2, x, xOff, bound, k), accumulate);
            store(c, cOff + m + 3 * quarter, sums.lane(FOURTH) + tail(a, a3, x, xOff, bound, k), accumulate);
        }
        for (int m = REFS * quarter; m < held; m++) {
            int a0 = m * dim + k0;
            FloatVector s0 = FloatVector.zero(SPECIES);
            for (int j = 0; j < bound; j += LANES) {
                s0 = FloatVector.fromArray(SPECIES, a, a0 + j).fma(FloatVector.fromArray(SPECIES, x, xOff + j), s0);
            }
            store(c, cOff + m, laneSum(s0) + tail(a, a0, x, xOff, bound, k), accumulate);
        }
    }

    private static void twoColumns(float[] a, int dim, int held, int k0, int k, float[] x, int xOff, int yOff,
                                   float[] c, int cOff, int dOff, boolean accumulate) {
        int bound = SPECIES.loopBound(k);
        int quarter = held / REFS;
        for (int m = 0; m < quarter; m++) {
            int a0 = m * dim + k0;
            int a1 = a0 + quarter * dim;
            int a2 = a1 + quarter * dim;
            int a3 = a2 + quarter * dim;
            FloatVector s0 = FloatVector.zero(SPECIES);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector t0 = s0;
            FloatVector t1 = s0;
            FloatVector t2 = s0;
            FloatVector t3 = s0;
            for (int j = 0; j < bound; j += LANES) {
                FloatVector xv = FloatVector.fromArray(SPECIES, x, xOff + j);
                FloatVector yv = FloatVector.fromArray(SPECIES, x, yOff + j);
                FloatVector v0 = FloatVector.fromArray(SPECIES, a, a0 + j);
                FloatVector v1 = FloatVector.fromArray(SPECIES, a, a1 + j);
                FloatVector v2 = FloatVector.fromArray(SPECIES, a, a2 + j);
                FloatVector v3 = FloatVector.fromArray(SPECIES, a, a3 + j);
                s0 = v0.fma(xv, s0);
                s1 = v1.fma(xv, s1);
                s2 = v2.fma(xv, s2);
                s3 = v3.fma(xv, s3);
                t0 = v0.fma(yv, t0);
                t1 = v1.fma(yv, t1);
                t2 = v2.fma(yv, t2);
                t3 = v3.fma(yv, t3);
            }
            FloatVector sums = laneSums(s0, s1, s2, s3);
            store(c, cOff + m, sums.lane(0) + tail(a, a0, x, xOff, bound, k), accumulate);
            store(c, cOff + m + quarter, sums.lane(SECOND) + tail(a, a1, x, xOff, bound, k), accumulate);
            store(c, cOff + m + 2 * quarter, sums.lane(THIRD) + tail(a, a2, x, xOff, bound, k), accumulate);
            store(c, cOff + m + 3 * quarter, sums.lane(FOURTH) + tail(a, a3, x, xOff, bound, k), accumulate);
            FloatVector other = laneSums(t0, t1, t2, t3);
            store(c, dOff + m, other.lane(0) + tail(a, a0, x, yOff, bound, k), accumulate);
            store(c, dOff + m + quarter, other.lane(SECOND) + tail(a, a1, x, yOff, bound, k), accumulate);
            store(c, dOff + m + 2 * quarter, other.lane(THIRD) + tail(a, a2, x, yOff, bound, k), accumulate);
            store(c, dOff + m + 3 * quarter, other.lane(FOURTH) + tail(a, a3, x, yOff, bound, k), accumulate);
        }
        for (int m = REFS * quarter; m < held; m++) {
            int a0 = m * dim + k0;
            FloatVector s0 = FloatVector.zero(SPECIES);
            FloatVector t0 = s0;
            for (int j = 0; j < bound; j += LANES) {
                FloatVector v0 = FloatVector.fromArray(SPECIES, a, a0 + j);
                s0 = v0.fma(FloatVector.fromArray(SPECIES, x, xOff + j), s0);
                t0 = v0.fma(FloatVector.fromArray(SPECIES, x, yOff + j), t0);
            }
            store(c, cOff + m, laneSum(s0) + tail(a, a0, x, xOff, bound, k), accumulate);
            store(c, dOff + m, laneSum(t0) + tail(a, a0, x, yOff, bound, k), accumulate);
        }
    }

    /**
     * The sums of the lanes of a, b, c and d, in lanes 0, {@link #SECOND}, {@link #THIRD} and
     * {@link #FOURTH} of the result. Each step adds lane pairs that lie the remaining half width
     * apart, and while there are four accumulators it folds two into one vector: lanes with the
     * half bit clear carry a's partial sums, those with it set b's. Lanewise operations only, so the
     * same bits interpreted and compiled (see the class comment).
     */
    private static FloatVector laneSums(FloatVector a, FloatVector b, FloatVector c, FloatVector d) {
        FloatVector ab = a.blend(b, HALF_BIT).add(b.blend(a, HALF_BIT).rearrange(ACROSS_HALF));
        FloatVector cd = c.blend(d, HALF_BIT).add(d.blend(c, HALF_BIT).rearrange(ACROSS_HALF));
        FloatVector sums = ab.blend(cd, QUARTER_BIT).add(cd.blend(ab, QUARTER_BIT).rearrange(ACROSS_QUARTER));
        if (LANES >= 8) {
            sums = sums.add(sums.rearrange(ACROSS_EIGHTH));
        }
        if (LANES >= 16) {
            sums = sums.add(sums.rearrange(ACROSS_SIXTEENTH));
        }
        return sums;
    }

    /** The sum of the lanes of one accumulator, as {@link #laneSums} adds them. */
    private static float laneSum(FloatVector a) {
        FloatVector zero = FloatVector.zero(SPECIES);
        return laneSums(a, zero, zero, zero).lane(0);
    }

    /** The products past the last whole vector, {@code from..k-1}. */
    private static float tail(float[] a, int aOff, float[] x, int xOff, int from, int k) {
        float sum = 0;
        for (int j = from; j < k; j++) {
            sum += a[aOff + j] * x[xOff + j];
        }
        return sum;
    }

    private static void store(float[] c, int at, float value, boolean accumulate) {
        c[at] = accumulate ? c[at] + value : value;
    }
}
