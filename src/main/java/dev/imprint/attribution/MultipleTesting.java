package dev.imprint.attribution;

import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Multiple-testing adjustments of raw p-values, each one small function named after its method as
 * in statsmodels' {@code multipletests}: the input order is kept and adjusted values are capped at 1.
 */
public final class MultipleTesting {
    private MultipleTesting() {}

    /**
     * Holm's step-down adjustment (Holm 1979), which controls the family-wise error rate:
     * the i-th smallest p becomes max over j <= i of min(1, (m - j + 1) p_(j)).
     */
    public static double[] holm(double[] p) {
        int m = p.length;
        int[] order = ascending(p);
        double[] adjusted = new double[m];
        double running = 0;
        for (int i = 0; i < m; i++) {
            running = Math.max(running, Math.min(1, (m - i) * p[order[i]]));
            adjusted[order[i]] = running;
        }
        return adjusted;
    }

    /**
     * Benjamini–Hochberg q-values (Benjamini and Hochberg 1995), which control the false discovery
     * rate across independent or positively dependent tests: the i-th smallest p becomes
     * min over j >= i of min(1, m p_(j) / j).
     */
    public static double[] benjaminiHochberg(double[] p) {
        int m = p.length;
        int[] order = ascending(p);
        double[] q = new double[m];
        double running = 1;
        for (int i = m - 1; i >= 0; i--) {
            running = Math.min(running, Math.min(1, m * p[order[i]] / (i + 1)));
            q[order[i]] = running;
        }
        return q;
    }

    private static int[] ascending(double[] p) {
        for (double v : p) {
            if (!(v >= 0 && v <= 1)) {
                throw new IllegalArgumentException("p-value " + v + " is outside [0, 1]");
            }
        }
        return IntStream.range(0, p.length).boxed().sorted(Comparator.comparingDouble(i -> p[i]))
                .mapToInt(Integer::intValue).toArray();
    }

}
