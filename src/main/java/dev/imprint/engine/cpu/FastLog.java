package dev.imprint.engine.cpu;

/**
 * The natural logarithm, about 1.5x faster than {@link Math#log} and branch-free on the hot path:
 * scoring takes one per element of every smoothed suspect row.
 *
 * <p>Accuracy: relative error below 1e-10 for normal positive doubles (1e-10 is far below the
 * float32 the result usually goes into, and below the 1e-3 relative error allowed on KL); every
 * other input (zero, subnormal, negative, infinite, NaN) is answered by {@link Math#log}.
 */
final class FastLog {
    private static final double LN2 = 0.6931471805599453;
    /** The bits of sqrt(1/2): subtracting them splits x as 2^e * m with m in [sqrt(1/2), sqrt(2)). */
    private static final long SQRT_HALF_BITS = 0x3fe6a09e667f3bcdL;

    private FastLog() {}

    /** ln(x). */
    static double ln(double x) {
        if (!(x >= Double.MIN_NORMAL && x <= Double.MAX_VALUE)) {
            return Math.log(x);
        }
        long bits = Double.doubleToRawLongBits(x);
        long e = (bits - SQRT_HALF_BITS) >> 52;
        double m = Double.longBitsToDouble(bits - (e << 52));
        // ln m = 2 atanh(z), z = (m-1)/(m+1), |z| <= 0.172: the series to z^11 leaves < 1e-10.
        double z = (m - 1) / (m + 1);
        double z2 = z * z;
        double series = 2 + z2 * (2.0 / 3 + z2 * (2.0 / 5 + z2 * (2.0 / 7 + z2 * (2.0 / 9 + z2 * (2.0 / 11)))));
        return e * LN2 + z * series;
    }
}
