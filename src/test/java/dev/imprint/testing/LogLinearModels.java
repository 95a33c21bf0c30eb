package dev.imprint.testing;

import java.util.Random;

/**
 * Seeded log-linear synthetic models for attribution tests: per probe, logits = consensus + family
 * offset + the model's own idiosyncrasy, and a student's logits mix its teacher's with its own
 * base's. Logits are P × D row-major doubles; {@link #softmax} turns them into DISTRIBUTION rows.
 */
public final class LogLinearModels {
    private final int probes;
    private final int dim;
    private final Random rng;
    private final double[] consensus;

    public LogLinearModels(int probes, int dim, long seed) {
        this.probes = probes;
        this.dim = dim;
        this.rng = new Random(seed);
        this.consensus = gaussian(2.0);
    }

    /** P × D independent normal values of standard deviation {@code scale}: a family offset. */
    public double[] gaussian(double scale) {
        double[] v = new double[probes * dim];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian() * scale;
        }
        return v;
    }

    /** A new model of the family with this offset: consensus + offset + its own idiosyncrasy (sd 0.5). */
    public double[] model(double[] familyOffset) {
        double[] own = gaussian(0.5);
        double[] logits = new double[probes * dim];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = consensus[i] + familyOffset[i] + own[i];
        }
        return logits;
    }

    /** beta · teacher + (1 − beta) · base, in logit space. */
    public static double[] mix(double[] teacher, double[] base, double beta) {
        double[] out = new double[teacher.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = beta * teacher[i] + (1 - beta) * base[i];
        }
        return out;
    }

    /** Per probe, the softmax of the logits: a DISTRIBUTION row of sum 1. */
    public float[] softmax(double[] logits) {
        float[] rows = new float[logits.length];
        for (int p = 0; p < probes; p++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < dim; k++) {
                max = Math.max(max, logits[p * dim + k]);
            }
            double sum = 0;
            for (int k = 0; k < dim; k++) {
                sum += Math.exp(logits[p * dim + k] - max);
            }
            for (int k = 0; k < dim; k++) {
                rows[p * dim + k] = (float) (Math.exp(logits[p * dim + k] - max) / sum);
            }
        }
        return rows;
    }
}
