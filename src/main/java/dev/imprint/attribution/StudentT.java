package dev.imprint.attribution;

/**
 * The upper tail of Student's t distribution, through the regularized incomplete beta function
 * (Numerical Recipes' continued fraction, evaluated by the modified Lentz method):
 * {@code P(T > x) = I_{ν/(ν+x²)}(ν/2, 1/2) / 2} for x ≥ 0. Accurate to about 1e-14 relative.
 */
public final class StudentT {
    private static final double EPS = 1e-15;
    private static final double TINY = 1e-300;
    private static final int MAX_ITERATIONS = 10_000;

    private StudentT() {}

    /**
     * P(T > x) for T ~ t with {@code df} degrees of freedom.
     *
     * @throws IllegalArgumentException unless df > 0 and x is not NaN
     */
    public static double survival(double x, double df) {
        if (!(df > 0) || Double.isNaN(x)) {
            throw new IllegalArgumentException("t survival at x=" + x + " with df=" + df + "; expected df > 0");
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? 0 : 1;
        }
        double tail = 0.5 * regularizedBeta(df / (df + x * x), df / 2, 0.5);
        return x >= 0 ? tail : 1 - tail;
    }

    /** I_x(a, b), the regularized incomplete beta function, for x in [0, 1] and a, b > 0. */
    static double regularizedBeta(double x, double a, double b) {
        if (x <= 0) {
            return 0;
        }
        if (x >= 1) {
            return 1;
        }
        double front = Math.exp(a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b));
        // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
        if (x < (a + 1) / (a + b + 2)) {
            return front * continuedFraction(x, a, b) / a;
        }
        return 1 - front * continuedFraction(1 - x, b, a) / b;
    }

    private static double continuedFraction(double x, double a, double b) {
        double c = 1;
        double d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.abs(d) < TINY ? TINY : d);
        double h = d;
        for (int m = 1; m <= MAX_ITERATIONS; m++) {
            int m2 = 2 * m;
            double even = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + even * d;
            d = 1 / (Math.abs(d) < TINY ? TINY : d);
            c = 1 + even / c;
            c = Math.abs(c) < TINY ? TINY : c;
            h *= d * c;
            double odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + odd * d;
            d = 1 / (Math.abs(d) < TINY ? TINY : d);
            c = 1 + odd / c;
            c = Math.abs(c) < TINY ? TINY : c;
            double step = d * c;
            h *= step;
            if (Math.abs(step - 1) < EPS) {
                return h;
            }
        }
        return h;
    }

    private static double logBeta(double a, double b) {
        return logGamma(a) + logGamma(b) - logGamma(a + b);
    }

    /** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-15). */
    static double logGamma(double x) {
        if (x < 0.5) {
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        }
        double[] g = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7};
        double y = x - 1;
        double sum = g[0];
        for (int i = 1; i < g.length; i++) {
            sum += g[i] / (y + i);
        }
        double t = y + 7.5;
        return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
    }
}
