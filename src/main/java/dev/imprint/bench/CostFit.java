package dev.imprint.bench;

/**
 * How a measured cost grows along one axis: the exponent of a power law fitted in log-log space,
 * over every point and over the upper half, and the knee, where a fixed cost gives way to one that
 * grows with the axis.
 *
 * <p>The knee is that of the model {@code t(x) = a + b·x}, fitted to the points by least squares
 * weighted by 1/t² (so that every point counts by its relative error, not the largest alone): at
 * {@code x = a/b} the fixed part equals the growing part. Below it a call costs about the same
 * whatever x is (per-call overhead, or a batch's shared read of the references when the axis is
 * S); above it, cost is proportional to x. NaN when the fit has no positive fixed part or slope.
 *
 * @param exponent     slope of log t against log x over every point
 * @param tailExponent the same over the upper half of the points (at least two): what dominates
 *                     past the knee
 * @param knee         a/b of the linear model, NaN when it has none
 */
public record CostFit(double exponent, double tailExponent, double knee) {

    /**
     * Fits {@code t} measured at {@code x}: at least two points, every x and t positive, x
     * increasing.
     */
    public static CostFit of(double[] x, double[] t) {
        if (x.length != t.length || x.length < 2) {
            throw new IllegalArgumentException("need at least two points, x and t of one length; got "
                    + x.length + " and " + t.length);
        }
        for (int i = 0; i < x.length; i++) {
            if (!(x[i] > 0 && t[i] > 0) || (i > 0 && !(x[i] > x[i - 1]))) {
                throw new IllegalArgumentException("point " + i + " (x=" + x[i] + ", t=" + t[i]
                        + "): x and t must be positive and x increasing");
            }
        }
        int tail = Math.min(x.length - 2, x.length / 2);
        return new CostFit(logSlope(x, t, 0), logSlope(x, t, tail), knee(x, t));
    }

    /** Least-squares slope of log t on log x over points {@code from..}. */
    private static double logSlope(double[] x, double[] t, int from) {
        int n = x.length - from;
        double mx = 0;
        double my = 0;
        for (int i = from; i < x.length; i++) {
            mx += Math.log(x[i]);
            my += Math.log(t[i]);
        }
        mx /= n;
        my /= n;
        double sxy = 0;
        double sxx = 0;
        for (int i = from; i < x.length; i++) {
            double dx = Math.log(x[i]) - mx;
            sxy += dx * (Math.log(t[i]) - my);
            sxx += dx * dx;
        }
        return sxy / sxx;
    }

    /** a/b of {@code t = a + b·x}, weighted least squares with weights 1/t²; NaN unless both are positive. */
    private static double knee(double[] x, double[] t) {
        double sw = 0;
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double sxy = 0;
        for (int i = 0; i < x.length; i++) {
            double w = 1 / (t[i] * t[i]);
            sw += w;
            sx += w * x[i];
            sy += w * t[i];
            sxx += w * x[i] * x[i];
            sxy += w * x[i] * t[i];
        }
        double det = sw * sxx - sx * sx;
        double b = (sw * sxy - sx * sy) / det;
        double a = (sy - b * sx) / sw;
        return a > 0 && b > 0 ? a / b : Double.NaN;
    }
}
