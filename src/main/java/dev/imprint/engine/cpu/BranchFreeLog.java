package dev.imprint.engine.cpu;

/**
 * The natural logarithm as fdlibm computes it (the reduction without branches that musl and
 * FreeBSD use), written from additions, multiplications, one division and bit operations only, so
 * that {@link VectorRowTerms} can run the same steps in vector lanes and get the same bits. That is
 * the point of this class: every step is an exactly rounded IEEE operation, so the result does not
 * depend on whether the JIT has compiled the caller, unlike the Vector API's own {@code LOG}, which
 * is {@link Math#log} in the interpreter and the vector math library once compiled.
 *
 * <p>Accuracy: under 1 ulp for normal positive doubles (fdlibm's bound). Every other input (zero,
 * subnormal, negative, infinite, NaN) is answered by {@link Math#log}: see {@link #inRange}.
 */
final class BranchFreeLog {
    /** ln 2 split so that {@code k * LN2_HI} is exact for every exponent k. */
    static final double LN2_HI = Double.longBitsToDouble(0x3fe62e42fee00000L);
    static final double LN2_LO = Double.longBitsToDouble(0x3dea39ef35793c76L);
    /** The minimax series of ln((1+s)/(1-s)) = 2s + Lg1 s^3 + ..., fdlibm's e_log.c. */
    static final double LG1 = Double.longBitsToDouble(0x3fe5555555555593L);
    static final double LG2 = Double.longBitsToDouble(0x3fd999999997fa04L);
    static final double LG3 = Double.longBitsToDouble(0x3fd2492494229359L);
    static final double LG4 = Double.longBitsToDouble(0x3fcc71c51d8e78afL);
    static final double LG5 = Double.longBitsToDouble(0x3fc7466496cb03deL);
    static final double LG6 = Double.longBitsToDouble(0x3fc39a09d078c69fL);
    static final double LG7 = Double.longBitsToDouble(0x3fc2f112df3e5244L);
    /**
     * Added to the bits so that mantissas from sqrt(2)/2 (high word 0x3fe6a09e) up carry into the
     * exponent: the reduced argument then lies in [sqrt(2)/2, sqrt(2)) and |f| below 0.42.
     */
    static final long SHIFT_TO_HALF_SQRT2 = (0x3ff00000L - 0x3fe6a09eL) << 32;
    static final long HALF_SQRT2_HIGH = 0x3fe6a09eL << 32;
    static final long MANTISSA = 0x000fffffffffffffL;
    /**
     * The biased exponent e (0..2047) or'ed into the mantissa of 2^52 is the double 2^52 + e:
     * subtracting this gives e - 1023 exactly, without a long-to-double conversion (AVX2 has none).
     */
    static final long TWO_TO_52_BITS = 0x4330000000000000L;
    static final double TWO_TO_52_PLUS_BIAS = 4503599627370496.0 + 1023;

    private BranchFreeLog() {}

    /** ln(x). */
    static double ln(double x) {
        if (!inRange(x)) {
            return Math.log(x);
        }
        long bits = Double.doubleToRawLongBits(x) + SHIFT_TO_HALF_SQRT2;
        double k = Double.longBitsToDouble(TWO_TO_52_BITS | (bits >>> 52)) - TWO_TO_52_PLUS_BIAS;
        double f = Double.longBitsToDouble((bits & MANTISSA) + HALF_SQRT2_HIGH) - 1.0;
        double hfsq = 0.5 * f * f;
        double s = f / (2.0 + f);
        double z = s * s;
        double w = z * z;
        double t1 = w * (LG2 + w * (LG4 + w * LG6));
        double t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
        double r = t2 + t1;
        return s * (hfsq + r) + k * LN2_LO - hfsq + f + k * LN2_HI;
    }

    /** Whether {@link #ln} computes x itself rather than passing it to {@link Math#log}. */
    static boolean inRange(double x) {
        return x >= Double.MIN_NORMAL && x <= Double.MAX_VALUE;
    }
}
