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
        if (n == 0) {
            return new int[0];
        }
        long[] keys = keys(values, higherIsCloser);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            // Unsigned order of the flipped keys is the signed order of the keys.
            keys[i] ^= Long.MIN_VALUE;
        }
        // An LSD radix sort, a byte a pass, is stable, so equal values keep index order without a
        // second key; it costs 8 linear passes (fewer where all keys share a byte), a quarter of
        // the two comparison sorts it replaced at 4000 references.
        long[] keysTo = new long[n];
        int[] orderTo = new int[n];
        int[] counts = new int[256];
        for (int shift = 0; shift < Long.SIZE; shift += 8) {
            Arrays.fill(counts, 0);
            for (long key : keys) {
                counts[(int) (key >>> shift) & 0xff]++;
            }
            if (counts[(int) (keys[0] >>> shift) & 0xff] == n) {
                continue;
            }
            for (int b = 0, start = 0; b < 256; b++) {
                int c = counts[b];
                counts[b] = start;
                start += c;
            }
            for (int i = 0; i < n; i++) {
                int to = counts[(int) (keys[i] >>> shift) & 0xff]++;
                keysTo[to] = keys[i];
                orderTo[to] = order[i];
            }
            long[] k = keys;
            keys = keysTo;
            keysTo = k;
            int[] o = order;
            order = orderTo;
            orderTo = o;
        }
        return order;
    }

    /**
     * The first {@code k} indices of {@link #order} (all of them when {@code k >= n}), in that
     * order, without ordering the rest: a query's top_k of thousands of references costs
     * O(n log k) instead of a full sort.
     */
    static int[] top(double[] values, boolean higherIsCloser, int k) {
        int n = values.length;
        if (k >= n / 8) {
            // A partial order of most of the values is no cheaper than the whole.
            return Arrays.copyOf(order(values, higherIsCloser), Math.min(k, n));
        }
        long[] keys = keys(values, higherIsCloser);
        // heap[0] is the worst of the best k seen so far: each later index only has to beat it.
        int[] heap = new int[k];
        for (int i = 0; i < k; i++) {
            heap[i] = i;
            siftUp(heap, i, keys);
        }
        for (int i = k; i < n; i++) {
            if (before(keys, i, heap[0])) {
                heap[0] = i;
                siftDown(heap, k, keys);
            }
        }
        int[] out = new int[k];
        for (int size = k; size > 0; size--) {
            out[size - 1] = heap[0];
            heap[0] = heap[size - 1];
            siftDown(heap, size - 1, keys);
        }
        return out;
    }

    /** Keys whose signed-long order is {@link Double#compare} order of the values, reversed when higher is closer. */
    private static long[] keys(double[] values, boolean higherIsCloser) {
        long[] keys = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            long bits = Double.doubleToLongBits(values[i]);
            long key = bits ^ ((bits >> 63) & Long.MAX_VALUE);
            keys[i] = higherIsCloser ? ~key : key;
        }
        return keys;
    }

    /** Whether index {@code a} ranks before {@code b}: a smaller key, or an equal key and a lower index. */
    private static boolean before(long[] keys, int a, int b) {
        return keys[a] < keys[b] || (keys[a] == keys[b] && a < b);
    }

    /** Restores the worst-first heap order above position {@code at}. */
    private static void siftUp(int[] heap, int at, long[] keys) {
        while (at > 0) {
            int parent = (at - 1) >>> 1;
            if (!before(keys, heap[parent], heap[at])) {
                return;
            }
            swap(heap, parent, at);
            at = parent;
        }
    }

    /** Restores the worst-first heap order of the first {@code size} entries below the root. */
    private static void siftDown(int[] heap, int size, long[] keys) {
        int at = 0;
        while (true) {
            int worst = at;
            int left = 2 * at + 1;
            int right = left + 1;
            if (left < size && before(keys, heap[worst], heap[left])) {
                worst = left;
            }
            if (right < size && before(keys, heap[worst], heap[right])) {
                worst = right;
            }
            if (worst == at) {
                return;
            }
            swap(heap, at, worst);
            at = worst;
        }
    }

    private static void swap(int[] heap, int a, int b) {
        int t = heap[a];
        heap[a] = heap[b];
        heap[b] = t;
    }
}
