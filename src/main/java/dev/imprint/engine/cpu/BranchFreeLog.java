package dev.imprint.engine.cpu;

/**
 * The natural logarithm of a float as fdlibm's {@code e_logf.c} computes it (with the reduction
 * without branches and the shorter series that musl and FreeBSD use), written from additions,
 * multiplications, one division and bit operations only, so that {@link VectorRowTerms} can run
 * the same steps in vector lanes and get the same bits. That is the point of this class: every
 * step is an exactly rounded IEEE operation, so the result does not depend on whether the JIT has
 * compiled the caller, unlike the Vector API's own {@code LOG}, which is {@link Math#log} in the
 * interpreter and the vector math library once compiled.
 *
 * <p>Why float. Scoring takes one logarithm per element of every smoothed suspect row, and stores
 * it as a float for the products. The double form of the same steps (seven terms of the series, a
 * division of doubles, four lanes) took about half of W6's Java samples; this one fills twice the
 * lanes with four terms. In a harness on the development machine (rows of 64, one thread) a row's
 * logarithms and sums took a median 2.0 ns a value against 4.4, and W6 paired against the build
 * before, 0.81 of the time. Its error, under 1 ulp of a float (6e-8 of the value), is far inside
 * the 1e-4 + 1e-3·|value| allowed on KL and JS (README, Metrics).
 *
 * <p>Accuracy: under 1 ulp for normal positive floats (fdlibm's bound; {@code BranchFreeLogTest}
 * measures it). Every other input (zero, subnormal, negative, infinite, NaN) is answered by
 * {@link Math#log}: see {@link #inRange}.
 */
final class BranchFreeLog {
    /** ln 2 split so that {@code k * LN2_HI} is exact for every exponent k. */
    static final float LN2_HI = Float.intBitsToFloat(0x3f317180);
    static final float LN2_LO = Float.intBitsToFloat(0x3717f7d1);
    /** The minimax series of ln((1+s)/(1-s)) = 2s + Lg1 s^3 + ..., to within 2^-34.24 (musl's logf.c). */
    static final float LG1 = 0xaaaaaa.0p-24f;
    static final float LG2 = 0xccce13.0p-25f;
    static final float LG3 = 0x91e9ee.0p-25f;
    static final float LG4 = 0xf89e26.0p-26f;
    /**
     * Added to the bits so that mantissas from sqrt(2)/2 (0x3f3504f3) up carry into the exponent:
     * the reduced argument then lies in [sqrt(2)/2, sqrt(2)) and |f| below 0.42.
     */
    static final int SHIFT_TO_HALF_SQRT2 = 0x3f800000 - 0x3f3504f3;
    static final int HALF_SQRT2 = 0x3f3504f3;
    static final int MANTISSA = 0x007fffff;
    /**
     * The biased exponent e (0..255) or'ed into the mantissa of 2^23 is the float 2^23 + e:
     * subtracting this gives e - 127 exactly, with the same steps in lanes as here.
     */
    static final int TWO_TO_23_BITS = 0x4b000000;
    static final float TWO_TO_23_PLUS_BIAS = 8388608f + 127;

    private BranchFreeLog() {}

    /** ln(x). */
    static float ln(float x) {
        if (!inRange(x)) {
            return (float) Math.log(x);
        }
        int bits = Float.floatToRawIntBits(x) + SHIFT_TO_HALF_SQRT2;
        float k = Float.intBitsToFloat(TWO_TO_23_BITS | (bits >>> 23)) - TWO_TO_23_PLUS_BIAS;
        float f = Float.intBitsToFloat((bits & MANTISSA) + HALF_SQRT2) - 1f;
        float hfsq = 0.5f * f * f;
        float s = f / (2f + f);
        float z = s * s;
        float w = z * z;
        float t1 = w * (LG2 + w * LG4);
        float t2 = z * (LG1 + w * LG3);
        float r = t2 + t1;
        return s * (hfsq + r) + k * LN2_LO - hfsq + f + k * LN2_HI;
    }

    /** Whether {@link #ln} computes x itself rather than passing it to {@link Math#log}. */
    static boolean inRange(float x) {
        return x >= Float.MIN_NORMAL && x <= Float.MAX_VALUE;
    }
}
