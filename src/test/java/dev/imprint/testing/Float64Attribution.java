package dev.imprint.testing;

import static dev.imprint.testing.Float64Metrics.dot;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * The attribution coefficients computed from scratch in double precision, as README "Attribution"
 * defines them: the reference the engine's float path is held to. Per probe: forms, the consensus
 * μ (mean of the references' forms), residuals with the component along μ removed, the ridge
 * regression of the suspect's residual on the references' (λ = 0.1·trace(G)/M), and β divided by
 * the suspect's root-mean-square residual norm over the probes.
 */
public final class Float64Attribution {
    /** The forms, as the engine names them. */
    public enum Form { LOG_RATIO, HELLINGER, UNIT }

    /** The log form's floor. */
    public static final double LOG_FLOOR = 1e-12;
    public static final double RIDGE = 0.1;

    private Float64Attribution() {}

    public static double[] form(Form form, float[] row, int base, int dim) {
        double[] out = new double[dim];
        switch (form) {
            case LOG_RATIO -> {
                double mean = 0;
                for (int k = 0; k < dim; k++) {
                    out[k] = Math.log((row[base + k] + LOG_FLOOR) / (1 + dim * LOG_FLOOR));
                    mean += out[k] / dim;
                }
                for (int k = 0; k < dim; k++) {
                    out[k] -= mean;
                }
            }
            case HELLINGER -> {
                for (int k = 0; k < dim; k++) {
                    out[k] = Math.sqrt(row[base + k]);
                }
            }
            case UNIT -> {
                double norm = 0;
                for (int k = 0; k < dim; k++) {
                    norm += (double) row[base + k] * row[base + k];
                }
                for (int k = 0; k < dim; k++) {
                    out[k] = row[base + k] / Math.sqrt(norm);
                }
            }
        }
        return out;
    }

    /**
     * The suspect's coefficients: [M][N].
     *
     * @param references M full rows, P×D each
     * @param suspect    N×D rows on {@code probes}
     */
    public static double[][] coefficients(Form form, float[][] references, float[] suspect, int[] probes, int dim) {
        int m = references.length;
        int n = probes.length;
        double[][] beta = new double[m][n];
        double[] norm2 = new double[n];
        for (int j = 0; j < n; j++) {
            double[][] z = residuals(form, references, probes[j], dim);
            double[] zs = residual(form(form, suspect, j * dim, dim), consensus(form, references, probes[j], dim));
            norm2[j] = dot(zs, zs);
            double[] c = new double[m];
            for (int r = 0; r < m; r++) {
                c[r] = dot(z[r], zs);
            }
            double[] b = ridgeSolve(z, c);
            for (int r = 0; r < m; r++) {
                beta[r][j] = b[r];
            }
        }
        double rms = Math.sqrt(Arrays.stream(norm2).average().orElse(0));
        for (double[] b : beta) {
            for (int j = 0; j < n; j++) {
                b[j] /= rms;
            }
        }
        return beta;
    }

    /** Keeps the k largest of a double row and spreads the rest of its mass evenly. */
    public static float[] truncate(float[] rows, int dim, int[] kept) {
        float[] out = rows.clone();
        for (int j = 0; j < kept.length; j++) {
            int base = j * dim;
            Integer[] order = IntStream.range(0, dim).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -rows[base + i]).thenComparingInt(i -> i));
            double mass = 0;
            for (int i = 0; i < kept[j]; i++) {
                mass += rows[base + order[i]];
            }
            for (int i = kept[j]; i < dim; i++) {
                out[base + order[i]] = (float) ((1 - mass) / (dim - kept[j]));
            }
        }
        return out;
    }

    /** μ on one probe: the mean of the references' forms. */
    public static double[] consensus(Form form, float[][] references, int probe, int dim) {
        double[] mu = new double[dim];
        for (float[] r : references) {
            double[] f = form(form, r, probe * dim, dim);
            for (int k = 0; k < dim; k++) {
                mu[k] += f[k] / references.length;
            }
        }
        return mu;
    }

    private static double[][] residuals(Form form, float[][] references, int probe, int dim) {
        double[] mu = consensus(form, references, probe, dim);
        double[][] z = new double[references.length][];
        for (int r = 0; r < references.length; r++) {
            z[r] = residual(form(form, references[r], probe * dim, dim), mu);
        }
        return z;
    }

    /** x with its component along μ removed. */
    public static double[] residual(double[] x, double[] mu) {
        double along = dot(x, mu) / dot(mu, mu);
        double[] z = new double[x.length];
        for (int k = 0; k < x.length; k++) {
            z[k] = x[k] - along * mu[k];
        }
        return z;
    }

    /** (Z^T Z + λI)^-1 c, λ = RIDGE·trace/M. */
    private static double[] ridgeSolve(double[][] z, double[] c) {
        int m = z.length;
        double[] g = new double[m * m];
        double trace = 0;
        for (int r = 0; r < m; r++) {
            for (int t = 0; t < m; t++) {
                g[r * m + t] = dot(z[r], z[t]);
            }
            trace += g[r * m + r];
        }
        return solve(g, RIDGE * trace / m, c, m);
    }

    /** (G + λI)^-1 c for an m×m row-major G, by Gaussian elimination with partial pivoting. */
    public static double[] solve(double[] g, double lambda, double[] c, int m) {
        double[][] a = new double[m][m + 1];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < m; j++) {
                a[i][j] = g[i * m + j] + (i == j ? lambda : 0);
            }
            a[i][m] = c[i];
        }
        for (int col = 0; col < m; col++) {
            int pivot = col;
            for (int i = col + 1; i < m; i++) {
                if (Math.abs(a[i][col]) > Math.abs(a[pivot][col])) {
                    pivot = i;
                }
            }
            double[] tmp = a[col];
            a[col] = a[pivot];
            a[pivot] = tmp;
            for (int i = col + 1; i < m; i++) {
                double f = a[i][col] / a[col][col];
                for (int j = col; j <= m; j++) {
                    a[i][j] -= f * a[col][j];
                }
            }
        }
        double[] x = new double[m];
        for (int i = m - 1; i >= 0; i--) {
            double s = a[i][m];
            for (int j = i + 1; j < m; j++) {
                s -= a[i][j] * x[j];
            }
            x[i] = s / a[i][i];
        }
        return x;
    }
}
