package dev.imprint.core;

/**
 * Checks fingerprint rows against what their probe set's kind promises: finite values, a non-zero
 * norm, and for DISTRIBUTION rows non-negative entries that sum to 1 within {@link #SUM_TOLERANCE}.
 */
public final class RowValidator {
    /** How far a DISTRIBUTION row may sum away from 1. */
    public static final double SUM_TOLERANCE = 1e-3;

    private RowValidator() {}

    /**
     * Validates {@code rowCount} rows of {@code set.dim()} values each, stored row-major in
     * {@code values} from {@code offset}.
     *
     * @param field     the request field to name in errors, e.g. "suspect"
     * @param firstRow  the row number of the first row, used in error messages
     */
    public static void validate(ProbeSet set, String field, float[] values, int offset, int rowCount, int firstRow) {
        int d = set.dim();
        boolean distribution = set.kind() == ProbeSetKind.DISTRIBUTION;
        for (int row = 0; row < rowCount; row++) {
            int base = offset + row * d;
            // Four independent sums keep the adder busy: every Score request's suspect rows are
            // validated before they queue, and one chain of dependent adds took 0.24 ms for W1's.
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            double q0 = 0, q1 = 0, q2 = 0, q3 = 0;
            // The OR of the values' bits: its sign bit is set when any value is negative (or -0.0).
            int bits = 0;
            int k = 0;
            for (; k + 3 < d; k += 4) {
                float v0 = values[base + k];
                float v1 = values[base + k + 1];
                float v2 = values[base + k + 2];
                float v3 = values[base + k + 3];
                bits |= Float.floatToRawIntBits(v0) | Float.floatToRawIntBits(v1) | Float.floatToRawIntBits(v2)
                        | Float.floatToRawIntBits(v3);
                s0 += v0;
                s1 += v1;
                s2 += v2;
                s3 += v3;
                q0 += (double) v0 * v0;
                q1 += (double) v1 * v1;
                q2 += (double) v2 * v2;
                q3 += (double) v3 * v3;
            }
            for (; k < d; k++) {
                float v = values[base + k];
                bits |= Float.floatToRawIntBits(v);
                s0 += v;
                q0 += (double) v * v;
            }
            double sum = (s0 + s1) + (s2 + s3);
            double sumSq = (q0 + q1) + (q2 + q3);
            // A NaN or infinity makes the sum of squares NaN or infinite (squares of finite floats
            // cannot overflow a double): only then look for the first bad value, to name it.
            if (!Double.isFinite(sumSq) || distribution && bits < 0) {
                throwFirstBadValue(field, values, base, d, firstRow + row, distribution);
            }
            if (sumSq == 0) {
                throw ImprintException.invalidArgument("%s row %d has zero norm; cosine is undefined for it",
                        field, firstRow + row);
            }
            if (distribution && Math.abs(sum - 1) > SUM_TOLERANCE) {
                throw ImprintException.invalidArgument("%s row %d sums to %.6f; a DISTRIBUTION row must sum to 1 within %s",
                        field, firstRow + row, sum, SUM_TOLERANCE);
            }
        }
    }

    /**
     * Throws for the first value of the row at {@code base} that is not finite, or negative in a
     * DISTRIBUTION row; returns if there is none (the row's only negative sign was a -0.0).
     */
    private static void throwFirstBadValue(String field, float[] values, int base, int d, int row, boolean distribution) {
        for (int k = 0; k < d; k++) {
            float v = values[base + k];
            if (!Float.isFinite(v)) {
                throw ImprintException.invalidArgument("%s row %d column %d is %s; values must be finite",
                        field, row, k, v);
            }
            if (distribution && v < 0) {
                throw ImprintException.invalidArgument("%s row %d column %d is %s; probabilities must be >= 0",
                        field, row, k, v);
            }
        }
    }
}
