package dev.imprint.attribution;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The exact one-sided sign-flip test on signed ranks (Wilcoxon's signed-rank test) of paired
 * per-probe differences.
 *
 * <p>Null: the differences are independent across probes and each is symmetric about zero, so
 * every assignment of signs to their magnitudes is equally likely (what holds when the suspect is
 * no closer to one model than to the other). Alternative: they tend to be positive. The statistic
 * is W+ = the sum of the ranks of |d| over the positive differences, zeros dropped and ties given
 * their mid-rank (Wilcoxon 1945; Pratt 1959 for the treatment of zeros as "wilcox" in
 * {@code scipy.stats.wilcoxon}). The p-value P(W+ >= observed) is computed exactly over all 2^n
 * sign flips by dynamic programming on doubled ranks, so it is exact to double precision down to
 * 2^-n, however small, which a Monte-Carlo sign flip could not give without ~1/p draws.
 *
 * <p>Cost: O(n log n) to rank, plus, for untied data, a lookup in a null distribution built once per
 * n in O(n^3); with ties the distribution is built for the tie pattern, O(n^3). Above
 * {@value #EXACT_LIMIT} non-zero differences it uses the normal approximation with tie and
 * continuity corrections, which is accurate there except in tails below about 1e-12.
 */
public final class SignedRankTest {
    /** Largest n computed exactly. */
    public static final int EXACT_LIMIT = 1024;
    private static final ConcurrentHashMap<Integer, double[]> UNTIED = new ConcurrentHashMap<>();

    private SignedRankTest() {}

    /**
     * The test's outcome.
     *
     * @param n          the number of non-zero differences
     * @param wPlus      the sum of the positive differences' ranks (mid-ranks for ties)
     * @param pValue     P(W+ >= wPlus) under the null; 1 when n = 0
     * @param effectSize the matched-pairs rank-biserial correlation (W+ - W-) / (W+ + W-), in
     *                   [-1, 1]; 0 when n = 0
     */
    public record Result(int n, double wPlus, double pValue, double effectSize) {
    }

    /** Tests whether {@code d} (finite values) tends to be positive. */
    public static Result greater(double[] d) {
        Ranks ranks = Ranks.of(d);
        return ranks == null ? new Result(0, 0, 1, 0) : ranks.result(ranks.w2);
    }

    /**
     * {@link #greater} of {@code d} and of {@code -d}, from one ranking: the same magnitudes with every
     * sign flipped, so the same ranks, and W+ of {@code -d} is the rank total less W+ of {@code d}.
     * Each is what {@code greater} gives, bit for bit (a - b is exactly -(b - a) in floating point,
     * so a pair of members tested both ways is ranked once).
     */
    public static Result[] greaterBothWays(double[] d) {
        Ranks ranks = Ranks.of(d);
        if (ranks == null) {
            Result none = new Result(0, 0, 1, 0);
            return new Result[] {none, none};
        }
        return new Result[] {ranks.result(ranks.w2), ranks.result((long) ranks.n * (ranks.n + 1) - ranks.w2)};
    }

    /**
     * How the non-zero magnitudes of some differences rank: their count, the positives' sum of
     * their doubled ranks, and what a p-value is read from: within {@link #EXACT_LIMIT}, the exact
     * upper tail P(W+ >= w) by doubled w (the table cached per n when untied, else built once for
     * the tie pattern, so both directions of {@link #greaterBothWays} read one); beyond it, the
     * doubled ranks for the normal tail.
     */
    private record Ranks(int n, long w2, double[] upperTail, int[] rank2) {
        /** Null when every difference is zero. */
        static Ranks of(double[] d) {
            int n = 0;
            for (double v : d) {
                if (!Double.isFinite(v)) {
                    throw new IllegalArgumentException("difference " + v + " is not finite");
                }
                if (v != 0) {
                    n++;
                }
            }
            if (n == 0) {
                return null;
            }
            // One primitive sort of the magnitudes, each with its sign in the lowest bit: a magnitude's
            // bits (sign bit clear) shifted left keep its order as unsigned longs, and flipping the top
            // bit makes that the signed order Arrays.sort gives. Equal magnitudes of either sign end up
            // next to each other, a tie group. (A sort of boxed indices by magnitude once cost most of a
            // verdict, a test per candidate and control; two sorts, one per sign, half of what is left.)
            long[] keys = new long[n];
            int at = 0;
            for (double v : d) {
                if (v != 0) {
                    long magnitude = Double.doubleToRawLongBits(Math.abs(v));
                    keys[at++] = ((magnitude << 1) | (v > 0 ? 1 : 0)) ^ Long.MIN_VALUE;
                }
            }
            Arrays.sort(keys);
            // A tie group at a time. Doubled mid-ranks are integers: a group occupying ranks r+1..r+k
            // gets 2r+k+1. The null distribution and the normal tail depend on the multiset of ranks
            // only, not on their order.
            boolean tied = false;
            long w2 = 0;
            int ranked = 0;
            while (ranked < n) {
                long magnitude = keys[ranked] >>> 1;
                int k = 0;
                int fromUp = 0;
                while (ranked + k < n && keys[ranked + k] >>> 1 == magnitude) {
                    fromUp += (int) (keys[ranked + k] & 1);
                    k++;
                }
                w2 += (long) fromUp * (2 * ranked + k + 1);
                tied |= k > 1;
                ranked += k;
            }
            // The ranks themselves only where the untied table does not serve: ties or the normal
            // tail (untied, they are 2, 4, ..., 2n). Filling them every time took a fifth of a test.
            int[] rank2 = null;
            if (tied || n > EXACT_LIMIT) {
                rank2 = new int[n];
                for (int r = 0; r < n; ) {
                    int k = 1;
                    while (r + k < n && keys[r + k] >>> 1 == keys[r] >>> 1) {
                        k++;
                    }
                    Arrays.fill(rank2, r, r + k, 2 * r + k + 1);
                    r += k;
                }
            }
            if (n > EXACT_LIMIT) {
                return new Ranks(n, w2, null, rank2);
            }
            return new Ranks(n, w2, tied ? survival(rank2) : UNTIED.computeIfAbsent(n, SignedRankTest::untiedSurvival),
                    null);
        }

        /** The test's outcome for a doubled positive-rank sum {@code w2} over these ranks. */
        Result result(long w2) {
            long total2 = (long) n * (n + 1);
            double effect = (2.0 * w2 - total2) / total2;
            double p = upperTail == null ? normalUpperTail(w2, rank2) : upperTail[(int) w2];
            return new Result(n, w2 / 2.0, Math.min(1, p), effect);
        }
    }

    /**
     * The exact null distribution of W+ for {@code n} untied non-zero differences: element w is
     * P(W+ = w), for w = 0..n(n+1)/2. It is the distribution {@link #greater} looks p-values up
     * in when there are no ties (with ties the mid-ranks change it slightly), for plotting an
     * observed W+ against its null. O(n^3) time, O(n^2) memory.
     *
     * @throws IllegalArgumentException unless 0 <= n <= {@value #EXACT_LIMIT}
     */
    public static double[] untiedNullDistribution(int n) {
        if (n < 0 || n > EXACT_LIMIT) {
            throw new IllegalArgumentException("n=" + n + "; expected 0.." + EXACT_LIMIT);
        }
        int total = n * (n + 1) / 2;
        double[] mass = new double[total + 1];
        mass[0] = 1;
        int reach = 0;
        for (int r = 1; r <= n; r++) {
            // As in survival: rank r joins the positive sum with probability 1/2, walking down so it joins once.
            for (int w = reach; w >= 0; w--) {
                double m = mass[w] * 0.5;
                mass[w] = m;
                mass[w + r] += m;
            }
            reach += r;
        }
        return mass;
    }

    private static double[] untiedSurvival(int n) {
        int[] rank2 = new int[n];
        for (int i = 0; i < n; i++) {
            rank2[i] = 2 * (i + 1);
        }
        return survival(rank2);
    }

    /** P(sum of a random subset of {@code rank2} >= w) for every w from 0 to the total. */
    private static double[] survival(int[] rank2) {
        int total = 0;
        for (int r : rank2) {
            total += r;
        }
        double[] mass = new double[total + 1];
        mass[0] = 1;
        int reach = 0;
        for (int r : rank2) {
            // Each rank joins the positive sum with probability 1/2; walk down so each joins once.
            for (int w = reach; w >= 0; w--) {
                double m = mass[w] * 0.5;
                mass[w] = m;
                mass[w + r] += m;
            }
            reach += r;
        }
        double[] tail = new double[total + 2];
        for (int w = total; w >= 0; w--) {
            tail[w] = tail[w + 1] + mass[w];
        }
        return Arrays.copyOf(tail, total + 1);
    }

    private static double normalUpperTail(long w2, int[] rank2) {
        double mean = 0;
        double variance = 0;
        for (int r : rank2) {
            mean += r / 2.0;
            variance += (double) r * r / 4.0;
        }
        // Continuity: untied W+ moves in steps of one, which is two doubled units.
        double z = (w2 - 1 - mean) / Math.sqrt(variance);
        return 0.5 * erfc(z / Math.sqrt(2));
    }

    /** The complementary error function, relative error below 1.2e-7 (Numerical Recipes' erfcc). */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
