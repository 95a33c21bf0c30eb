package dev.imprint.attribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SignedRankTestTest {

    /** P(W+ >= observed) by enumerating every one of the 2^n sign flips of the magnitudes, mid-ranks for ties. */
    private static double enumerated(double[] d) {
        double[] nz = Arrays.stream(d).filter(v -> v != 0).toArray();
        int n = nz.length;
        double[] abs = Arrays.stream(nz).map(Math::abs).toArray();
        double[] rank = new double[n];
        for (int i = 0; i < n; i++) {
            int less = 0;
            int equal = 0;
            for (int j = 0; j < n; j++) {
                if (abs[j] < abs[i]) {
                    less++;
                } else if (abs[j] == abs[i]) {
                    equal++;
                }
            }
            rank[i] = less + (equal + 1) / 2.0;
        }
        double observed = 0;
        for (int i = 0; i < n; i++) {
            if (nz[i] > 0) {
                observed += rank[i];
            }
        }
        long atLeast = 0;
        for (long mask = 0; mask < (1L << n); mask++) {
            double w = 0;
            for (int i = 0; i < n; i++) {
                if ((mask >> i & 1) == 1) {
                    w += rank[i];
                }
            }
            if (w >= observed - 1e-9) {
                atLeast++;
            }
        }
        return (double) atLeast / (1L << n);
    }

    @Test
    void matchesExactEnumerationWithAndWithoutTiesAndZeros() {
        Random rng = new Random(11);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + rng.nextInt(14);
            double[] d = new double[n];
            boolean ties = trial % 3 == 0;
            for (int i = 0; i < n; i++) {
                d[i] = ties ? rng.nextInt(5) - 2 : rng.nextGaussian() + (trial % 2) * 0.5;
            }
            double expected = Arrays.stream(d).allMatch(v -> v == 0) ? 1 : enumerated(d);
            assertEquals(expected, SignedRankTest.greater(d).pValue(), 1e-12, Arrays.toString(d));
        }
    }

    @Test
    void bothWaysIsEachDirectionsOwnTestToTheBit() {
        Random rng = new Random(17);
        for (int trial = 0; trial < 2000; trial++) {
            // Untied, tied (with zeros), all zero, and past the exact limit (the normal tail).
            int n = trial % 50 == 0 ? SignedRankTest.EXACT_LIMIT + 1 + rng.nextInt(40) : rng.nextInt(130);
            double[] a = new double[n];
            double[] b = new double[n];
            for (int i = 0; i < n; i++) {
                boolean tie = trial % 3 == 0;
                a[i] = tie ? rng.nextInt(4) : rng.nextGaussian();
                b[i] = tie || trial % 7 == 0 ? rng.nextInt(4) : rng.nextGaussian() + 0.3;
            }
            double[] ab = new double[n];
            double[] ba = new double[n];
            for (int i = 0; i < n; i++) {
                ab[i] = a[i] - b[i];
                ba[i] = b[i] - a[i];
            }
            SignedRankTest.Result[] both = SignedRankTest.greaterBothWays(ab);
            assertEquals(SignedRankTest.greater(ab), both[0], "trial " + trial);
            assertEquals(SignedRankTest.greater(ba), both[1], "trial " + trial);
        }
    }

    @Test
    void allPositiveDifferencesReachTwoToTheMinusN() {
        double[] d = new double[40];
        Arrays.fill(d, 0, 40, 1);
        for (int i = 0; i < 40; i++) {
            d[i] = i + 1;
        }
        SignedRankTest.Result r = SignedRankTest.greater(d);
        assertEquals(Math.pow(2, -40), r.pValue(), 1e-25);
        assertEquals(1.0, r.effectSize(), 1e-12);
    }

    @Test
    void rejectsAtAlphaNoMoreOftenThanAlphaUnderTheNull() {
        Random rng = new Random(5);
        int trials = 4000;
        int rejected = 0;
        for (int t = 0; t < trials; t++) {
            double[] d = new double[64];
            for (int i = 0; i < d.length; i++) {
                d[i] = rng.nextGaussian() * (1 + i % 4);
            }
            if (SignedRankTest.greater(d).pValue() <= 0.05) {
                rejected++;
            }
        }
        double rate = (double) rejected / trials;
        // 0.05 within its binomial 99.9% interval at 4000 trials (about ±0.011).
        assertTrue(Math.abs(rate - 0.05) < 0.012, "rejection rate " + rate);
    }

    @Test
    void normalApproximationAgreesWithTheExactTailAboveTheExactLimit() {
        Random rng = new Random(3);
        double[] d = new double[SignedRankTest.EXACT_LIMIT + 50];
        for (int i = 0; i < d.length; i++) {
            d[i] = rng.nextGaussian() + 0.05;
        }
        double p = SignedRankTest.greater(d).pValue();
        double[] head = Arrays.copyOf(d, SignedRankTest.EXACT_LIMIT);
        double exactHead = SignedRankTest.greater(head).pValue();
        assertTrue(p > 0 && p < 1 && exactHead > 0 && exactHead < 1);
        // The same sample, approximated and exact at nearby n, agree on the order of magnitude.
        assertTrue(Math.abs(Math.log10(p) - Math.log10(exactHead)) < 1.0, p + " vs " + exactHead);
    }

    @Test
    void untiedNullDistributionSumsToOneAndGivesTheTestsPValues() {
        Random rng = new Random(23);
        for (int n : new int[] {1, 2, 5, 13, 40}) {
            double[] mass = SignedRankTest.untiedNullDistribution(n);
            assertEquals(n * (n + 1) / 2 + 1, mass.length);
            assertEquals(1.0, Arrays.stream(mass).sum(), 1e-12);
            double[] d = new double[n];
            for (int i = 0; i < n; i++) {
                d[i] = rng.nextGaussian() + 0.3;
            }
            SignedRankTest.Result r = SignedRankTest.greater(d);
            double tail = 0;
            for (int w = (int) r.wPlus(); w < mass.length; w++) {
                tail += mass[w];
            }
            assertEquals(r.pValue(), tail, 1e-12 * Math.max(1, tail), "n=" + n);
        }
        // n=3: ranks {1,2,3}, subsets sums 0,1,2,3,3,4,5,6.
        assertEquals(Arrays.toString(new double[] {0.125, 0.125, 0.125, 0.25, 0.125, 0.125, 0.125}),
                Arrays.toString(SignedRankTest.untiedNullDistribution(3)));
    }
}
