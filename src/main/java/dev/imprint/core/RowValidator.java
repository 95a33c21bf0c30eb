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
            double sum = 0;
            double sumSq = 0;
            for (int k = 0; k < d; k++) {
                float v = values[base + k];
                if (!Float.isFinite(v)) {
                    throw ImprintException.invalidArgument("%s row %d column %d is %s; values must be finite",
                            field, firstRow + row, k, v);
                }
                if (distribution && v < 0) {
                    throw ImprintException.invalidArgument("%s row %d column %d is %s; probabilities must be >= 0",
                            field, firstRow + row, k, v);
                }
                sum += v;
                sumSq += (double) v * v;
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
}
