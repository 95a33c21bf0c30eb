package dev.imprint.engine;

import java.util.Arrays;

/** Orders references by one metric's values without boxing, so ranking stays cheap at thousands of references. */
final class Ranking {
    private Ranking() {}

    /**
     * The indices of {@code values} closest first: ascending, or descending when {@code higherIsCloser},
     * in {@link Double#compare} order; equal values keep index order.
     *
     * @return a permutation of {@code 0..values.length-1}
     */
    static int[] order(double[] values, boolean higherIsCloser) {
        int n = values.length;
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            long bits = Double.doubleToLongBits(values[i]);
            // Signed-long order of these keys is Double.compare order; ~ reverses it.
            long key = bits ^ ((bits >> 63) & Long.MAX_VALUE);
            keys[i] = higherIsCloser ? ~key : key;
        }
        long[] sorted = keys.clone();
        Arrays.sort(sorted);
        // Replacing each key by its first position among the sorted keys leaves room for the index
        // in the low half, so one primitive sort orders by value, then by index.
        long[] packed = new long[n];
        for (int i = 0; i < n; i++) {
            packed[i] = (long) firstAtLeast(sorted, keys[i]) << 32 | i;
        }
        Arrays.sort(packed);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = (int) packed[i];
        }
        return order;
    }

    /** The first position in ascending {@code sorted} holding a value >= {@code key}. */
    private static int firstAtLeast(long[] sorted, long key) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < key) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
