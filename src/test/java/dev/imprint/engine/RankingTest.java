package dev.imprint.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class RankingTest {

    @Test
    void ordersLikeABoxedComparatorWithIndexTieBreakInBothDirections() {
        SplittableRandom rng = new SplittableRandom(42);
        double[] pool = {-0.0, 0.0, -1.5, 1.5, Double.MIN_VALUE, -Double.MIN_VALUE, Double.MAX_VALUE,
                Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, 0.25, Double.NaN};
        for (int n : new int[] {0, 1, 2, 7, 100, 1000, 4097}) {
            double[] values = new double[n];
            for (int i = 0; i < n; i++) {
                // Half the values come from a small pool, so ties and signed zeros are common.
                values[i] = rng.nextBoolean() ? pool[rng.nextInt(pool.length)] : rng.nextGaussian();
            }
            for (boolean higherIsCloser : new boolean[] {false, true}) {
                assertArrayEquals(expected(values, higherIsCloser), Ranking.order(values, higherIsCloser),
                        "n=" + n + " higherIsCloser=" + higherIsCloser);
            }
        }
    }

    @Test
    void equalValuesKeepIndexOrderAndValuesDifferingInOneByteSortByIt() {
        double[] same = new double[3000];
        java.util.Arrays.fill(same, 0.5);
        assertArrayEquals(IntStream.range(0, 3000).toArray(), Ranking.order(same, true));
        // Neighbouring doubles differ only in their lowest bits: every byte pass but the first is skipped.
        double[] close = new double[300];
        for (int i = 0; i < close.length; i++) {
            close[i] = Math.nextUp(1.0) + Math.ulp(1.0) * ((i * 37) % 251);
        }
        for (boolean higherIsCloser : new boolean[] {false, true}) {
            assertArrayEquals(expected(close, higherIsCloser), Ranking.order(close, higherIsCloser));
        }
    }

    @Test
    void theTopKAreTheFirstKOfTheFullOrderForEveryK() {
        SplittableRandom rng = new SplittableRandom(7);
        double[] pool = {-0.0, 0.0, -1.5, 1.5, 0.25};
        for (int n : new int[] {1, 2, 9, 100, 4000}) {
            double[] values = new double[n];
            for (int i = 0; i < n; i++) {
                values[i] = rng.nextBoolean() ? pool[rng.nextInt(pool.length)] : rng.nextGaussian();
            }
            for (boolean higherIsCloser : new boolean[] {false, true}) {
                int[] full = expected(values, higherIsCloser);
                for (int k : new int[] {1, 2, 3, 10, n / 9, n / 8, n - 1, n}) {
                    if (k < 1) {
                        continue;
                    }
                    assertArrayEquals(java.util.Arrays.copyOf(full, Math.min(k, n)), Ranking.top(values, higherIsCloser, k),
                            "n=" + n + " k=" + k + " higherIsCloser=" + higherIsCloser);
                }
            }
        }
    }

    private static int[] expected(double[] values, boolean higherIsCloser) {
        Comparator<Integer> closer = Comparator.comparingDouble(i -> values[i]);
        if (higherIsCloser) {
            closer = closer.reversed();
        }
        return IntStream.range(0, values.length).boxed().sorted(closer.thenComparing(i -> i))
                .mapToInt(Integer::intValue).toArray();
    }
}
