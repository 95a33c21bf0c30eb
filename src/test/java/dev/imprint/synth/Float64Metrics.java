package dev.imprint.synth;

/**
 * The contract's metrics in plain float64, one pair of fingerprints at a time: the independent
 * reference the synth tests judge rankings by.
 */
final class Float64Metrics {
    private Float64Metrics() {}

    /** Mean over probes of the cosine of row p of {@code r} and {@code s}. */
    static double cosine(float[] r, float[] s, int dim) {
        double total = 0;
        int probes = r.length / dim;
        for (int p = 0; p < probes; p++) {
            double dot = 0;
            double rr = 0;
            double ss = 0;
            for (int k = p * dim; k < (p + 1) * dim; k++) {
                dot += (double) r[k] * s[k];
                rr += (double) r[k] * r[k];
                ss += (double) s[k] * s[k];
            }
            total += dot / Math.sqrt(rr * ss);
        }
        return total / probes;
    }

    /** Mean over probes of KL(r~ || s~) in nats, rows smoothed with {@code eps}. */
    static double klRefSuspect(float[] r, float[] s, int dim, double eps) {
        double total = 0;
        int probes = r.length / dim;
        double norm = 1 + dim * eps;
        for (int p = 0; p < probes; p++) {
            for (int k = p * dim; k < (p + 1) * dim; k++) {
                double rs = (r[k] + eps) / norm;
                double ss = (s[k] + eps) / norm;
                total += rs * (Math.log(rs) - Math.log(ss));
            }
        }
        return total / probes;
    }

    /** Fraction of probes whose argmax (lowest index on ties) agrees. */
    static double top1Agreement(float[] r, float[] s, int dim) {
        int probes = r.length / dim;
        int agree = 0;
        for (int p = 0; p < probes; p++) {
            if (argmax(r, p, dim) == argmax(s, p, dim)) {
                agree++;
            }
        }
        return (double) agree / probes;
    }

    private static int argmax(float[] x, int p, int dim) {
        int best = 0;
        for (int k = 1; k < dim; k++) {
            if (x[p * dim + k] > x[p * dim + best]) {
                best = k;
            }
        }
        return best;
    }
}
