package dev.imprint.testing;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import java.util.stream.IntStream;

/**
 * The metric definitions of the issue, written literally in double: the oracle every backend is
 * checked against. Nothing here is precomputed or rearranged, so it shares no shortcut with the
 * code under test.
 */
public final class Float64Metrics {
    private Float64Metrics() {}

    /**
     * The mean of {@code metric} over the suspect's probes.
     *
     * @param reference    numProbes × dim, row-major
     * @param suspect      probeIndices.length × dim, row-major; row i answers probe probeIndices[i]
     */
    public static double mean(ProbeSet set, Metric metric, float[] reference, float[] suspect, int[] probeIndices) {
        double sum = 0;
        for (int i = 0; i < probeIndices.length; i++) {
            sum += perProbe(set, metric, reference, probeIndices[i], suspect, i);
        }
        return sum / probeIndices.length;
    }

    /** The mean of {@code metric} when the suspect answered every probe, in order. */
    public static double mean(ProbeSet set, Metric metric, float[] reference, float[] suspect) {
        return mean(set, metric, reference, suspect, IntStream.range(0, set.numProbes()).toArray());
    }

    /** The value of {@code metric} between reference row {@code p} and suspect row {@code i}. */
    public static double perProbe(ProbeSet set, Metric metric, float[] reference, int p, float[] suspect, int i) {
        int d = set.dim();
        double[] r = row(reference, p, d);
        double[] s = row(suspect, i, d);
        double eps = set.smoothingEpsilon();
        return switch (metric) {
            case COSINE -> dot(r, s) / (Math.sqrt(dot(r, r)) * Math.sqrt(dot(s, s)));
            case KL_REF_SUSPECT -> kl(smooth(r, eps), smooth(s, eps));
            case KL_SUSPECT_REF -> kl(smooth(s, eps), smooth(r, eps));
            case JS -> js(smooth(r, eps), smooth(s, eps));
            case TOP1_AGREEMENT -> argmax(r) == argmax(s) ? 1.0 : 0.0;
        };
    }

    /** {@code x~ = (x + eps) / (1 + D*eps)}. */
    public static double[] smooth(double[] x, double eps) {
        double[] out = new double[x.length];
        for (int k = 0; k < x.length; k++) {
            out[k] = (x[k] + eps) / (1 + x.length * eps);
        }
        return out;
    }

    /** sum_k a (ln a - ln b), natural log. */
    public static double kl(double[] a, double[] b) {
        double sum = 0;
        for (int k = 0; k < a.length; k++) {
            sum += a[k] * (Math.log(a[k]) - Math.log(b[k]));
        }
        return sum;
    }

    /** 1/2 KL(a||m) + 1/2 KL(b||m), m = (a+b)/2. */
    public static double js(double[] a, double[] b) {
        double[] m = new double[a.length];
        for (int k = 0; k < a.length; k++) {
            m[k] = (a[k] + b[k]) / 2;
        }
        return 0.5 * kl(a, m) + 0.5 * kl(b, m);
    }

    /** The index of the largest value; ties go to the lowest index. */
    public static int argmax(double[] x) {
        int best = 0;
        for (int k = 1; k < x.length; k++) {
            if (x[k] > x[best]) {
                best = k;
            }
        }
        return best;
    }

    /** The largest error the contract allows for {@code metric} at {@code expected}. */
    public static double tolerance(Metric metric, double expected) {
        return switch (metric) {
            case COSINE, TOP1_AGREEMENT -> 1e-5;
            case KL_REF_SUSPECT, KL_SUSPECT_REF, JS -> 1e-4 + 1e-3 * Math.abs(expected);
        };
    }

    private static double[] row(float[] values, int row, int d) {
        double[] out = new double[d];
        for (int k = 0; k < d; k++) {
            out[k] = values[row * d + k];
        }
        return out;
    }

    public static double dot(double[] a, double[] b) {
        double sum = 0;
        for (int k = 0; k < a.length; k++) {
            sum += a[k] * b[k];
        }
        return sum;
    }
}
