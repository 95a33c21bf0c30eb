package dev.imprint.testing;

import dev.imprint.core.ProbeSetKind;
import java.util.Random;

/**
 * A seeded generator of fingerprint rows for tests: gaussian embeddings, and probability rows of
 * several shapes (dense, peaked, sparse with exact zeros, tied maxima) so every path of the
 * metrics is exercised. The same seed always gives the same rows.
 */
public final class TestFingerprints {
    /** The shape of generated probability rows. */
    public enum Shape {
        /** Softmax of unit gaussian logits: every entry well above zero. */
        DENSE,
        /** Softmax of sharp logits: one entry near 1, the rest tiny, some underflowing to 0. */
        PEAKED,
        /** A handful of non-zero entries, exact zeros elsewhere. */
        SPARSE,
        /** Two entries share the maximum (the argmax tie goes to the lower index). */
        TIED,
        /** Each row picks one of the shapes above at random. */
        MIXED
    }

    private final Random rng;

    public TestFingerprints(long seed) {
        this.rng = new Random(seed);
    }

    /** {@code rows × dim} row-major values of {@code kind}; DISTRIBUTION rows are MIXED. */
    public float[] rows(ProbeSetKind kind, int rows, int dim) {
        return kind == ProbeSetKind.EMBEDDING ? embedding(rows, dim) : distribution(rows, dim, Shape.MIXED);
    }

    /** Gaussian rows with a random offset, so they are not centred. */
    public float[] embedding(int rows, int dim) {
        float[] out = new float[rows * dim];
        for (int r = 0; r < rows; r++) {
            double offset = rng.nextGaussian();
            for (int k = 0; k < dim; k++) {
                out[r * dim + k] = (float) (offset + rng.nextGaussian());
            }
        }
        return out;
    }

    /** Probability rows of {@code shape}, each summing to 1 up to float rounding. */
    public float[] distribution(int rows, int dim, Shape shape) {
        float[] out = new float[rows * dim];
        Shape[] concrete = {Shape.DENSE, Shape.PEAKED, Shape.SPARSE, Shape.TIED};
        for (int r = 0; r < rows; r++) {
            Shape s = shape == Shape.MIXED ? concrete[rng.nextInt(concrete.length)] : shape;
            double[] p = switch (s) {
                case DENSE -> softmax(gaussian(dim, 1.0));
                case PEAKED -> softmax(gaussian(dim, 12.0));
                case SPARSE -> sparse(dim);
                case TIED -> tied(dim);
                case MIXED -> throw new IllegalStateException();
            };
            for (int k = 0; k < dim; k++) {
                out[r * dim + k] = (float) p[k];
            }
        }
        return out;
    }

    /**
     * A row-by-row perturbation of {@code base}: embeddings get gaussian noise of relative size
     * {@code noise}; probability rows are mixed as {@code (1-noise)*base + noise*fresh}, so a
     * small noise gives a near copy with small divergences.
     */
    public float[] near(ProbeSetKind kind, float[] base, int dim, double noise) {
        int rows = base.length / dim;
        float[] fresh = rows(kind, rows, dim);
        float[] out = new float[base.length];
        for (int i = 0; i < base.length; i++) {
            out[i] = kind == ProbeSetKind.EMBEDDING
                    ? (float) (base[i] + noise * fresh[i])
                    : (float) ((1 - noise) * base[i] + noise * fresh[i]);
        }
        return out;
    }

    /** {@code count} distinct probe numbers from [0, numProbes) in random order. */
    public int[] shuffledSubset(int numProbes, int count) {
        int[] all = new int[numProbes];
        for (int i = 0; i < numProbes; i++) {
            all[i] = i;
        }
        for (int i = numProbes - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        int[] out = new int[count];
        System.arraycopy(all, 0, out, 0, count);
        return out;
    }

    /** The rows of {@code values} (row-major, {@code dim} wide) listed in {@code indices}, in that order. */
    public static float[] selectRows(float[] values, int dim, int[] indices) {
        float[] out = new float[indices.length * dim];
        for (int i = 0; i < indices.length; i++) {
            System.arraycopy(values, indices[i] * dim, out, i * dim, dim);
        }
        return out;
    }

    public Random random() {
        return rng;
    }

    private double[] gaussian(int dim, double scale) {
        double[] x = new double[dim];
        for (int k = 0; k < dim; k++) {
            x[k] = scale * rng.nextGaussian();
        }
        return x;
    }

    private static double[] softmax(double[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] p = new double[logits.length];
        for (int k = 0; k < p.length; k++) {
            p[k] = Math.exp(logits[k] - max);
            sum += p[k];
        }
        for (int k = 0; k < p.length; k++) {
            p[k] /= sum;
        }
        return p;
    }

    private double[] sparse(int dim) {
        double[] p = new double[dim];
        int nonZero = 1 + rng.nextInt(Math.min(dim, 5));
        double sum = 0;
        for (int i = 0; i < nonZero; i++) {
            int k = rng.nextInt(dim);
            double w = 0.1 + rng.nextDouble();
            p[k] += w;
            sum += w;
        }
        for (int k = 0; k < dim; k++) {
            p[k] /= sum;
        }
        return p;
    }

    private double[] tied(int dim) {
        if (dim < 2) {
            return new double[] {1.0};
        }
        double[] p = new double[dim];
        int a = rng.nextInt(dim);
        int b = (a + 1 + rng.nextInt(dim - 1)) % dim;
        p[a] = 0.5;
        p[b] = 0.5;
        return p;
    }
}
