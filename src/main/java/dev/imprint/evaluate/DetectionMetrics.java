package dev.imprint.evaluate;

import java.util.Arrays;

/**
 * Detection-quality measures over scores where higher means "more surely distilled": ROC AUC, TPR
 * at a fixed FPR, and the Wilson interval of a rate.
 */
public final class DetectionMetrics {
    private DetectionMetrics() {}

    /**
     * The ROC AUC: the probability that a random positive scores above a random negative, ties
     * counting one half (the Mann–Whitney U statistic over {@code |pos|·|neg|}). NaN if either is empty.
     */
    public static double auc(double[] positives, double[] negatives) {
        if (positives.length == 0 || negatives.length == 0) {
            return Double.NaN;
        }
        double[] neg = negatives.clone();
        Arrays.sort(neg);
        double wins = 0;
        for (double p : positives) {
            int below = lowerBound(neg, p);
            int notAbove = upperBound(neg, p);
            wins += below + 0.5 * (notAbove - below);
        }
        return wins / ((double) positives.length * negatives.length);
    }

    /**
     * The fraction of positives scoring strictly above the threshold that lets at most
     * {@code floor(fpr · |neg|)} negatives through: with 100 negatives at 1% FPR, above the
     * second-highest negative; with fewer than 1/fpr negatives, above the highest. NaN if either is empty.
     */
    public static double tprAtFpr(double[] positives, double[] negatives, double fpr) {
        if (positives.length == 0 || negatives.length == 0) {
            return Double.NaN;
        }
        double[] neg = negatives.clone();
        Arrays.sort(neg);
        int allowed = (int) Math.floor(fpr * neg.length + 1e-9);
        double threshold = neg[neg.length - 1 - Math.min(allowed, neg.length - 1)];
        long above = Arrays.stream(positives).filter(p -> p > threshold).count();
        return above / (double) positives.length;
    }

    /** The Wilson score interval of {@code k} successes in {@code n} trials at 95%: {lower, upper}. */
    public static double[] wilson(int k, int n) {
        if (n == 0) {
            return new double[] {0, 1};
        }
        double z = 1.959963984540054;
        double p = k / (double) n;
        double denominator = 1 + z * z / n;
        double centre = (p + z * z / (2 * n)) / denominator;
        double half = z * Math.sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / denominator;
        return new double[] {Math.max(0, centre - half), Math.min(1, centre + half)};
    }

    private static int lowerBound(double[] sorted, double x) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static int upperBound(double[] sorted, double x) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
