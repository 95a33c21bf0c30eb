package dev.imprint.attribution;

import static dev.imprint.testing.Float64Metrics.dot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.testing.Float64Attribution;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PanelRegressionTest {
    /** Residuals of m members and one suspect on n probes of dimension d, as Gram matrices and products. */
    private record Problem(int m, double[][] gram, double[][] products, double[][][] x, double[][] s) {
        /** The suspect's squared residual norm per probe. */
        double[] norm2() {
            double[] n2 = new double[s.length];
            for (int j = 0; j < s.length; j++) {
                n2[j] = dot(s[j], s[j]);
            }
            return n2;
        }
    }

    /** What the regression divides β by: the root-mean-square of the suspect's residual norms. */
    private static double rms(double[] norm2) {
        double sum = 0;
        for (double v : norm2) {
            sum += v;
        }
        return Math.sqrt(sum / norm2.length);
    }

    private static Problem problem(Random rng, int m, int n, int d, boolean collinear) {
        double[][][] x = new double[n][m][d];
        double[][] s = new double[n][d];
        double[][] gram = new double[n][m * m];
        double[][] products = new double[m][n];
        for (int j = 0; j < n; j++) {
            for (int r = 0; r < m; r++) {
                for (int k = 0; k < d; k++) {
                    // Siblings: members share most of a base when collinear, as a family's do.
                    x[j][r][k] = collinear && r > 0 ? x[j][0][k] + 0.05 * rng.nextGaussian() : rng.nextGaussian();
                }
            }
            for (int k = 0; k < d; k++) {
                s[j][k] = 0.7 * x[j][m - 1][k] + rng.nextGaussian();
            }
            for (int r = 0; r < m; r++) {
                for (int t = 0; t < m; t++) {
                    gram[j][r * m + t] = dot(x[j][r], x[j][t]);
                }
                products[r][j] = dot(x[j][r], s[j]);
            }
        }
        return new Problem(m, gram, products, x, s);
    }

    @Test
    void coefficientsSolveTheRidgeNormalEquationsInDoublePrecision() {
        Random rng = new Random(3);
        for (int m : new int[] {1, 2, 5, 13}) {
            for (boolean collinear : new boolean[] {false, true}) {
                Problem p = problem(rng, m, 7, 24, collinear);
                double[][] beta = PanelRegression.of(m, p.gram()).coefficients(p.products(), p.norm2());
                double unit = rms(p.norm2());
                for (int j = 0; j < 7; j++) {
                    double lambda = PanelRegression.RIDGE * trace(p.gram()[j], m) / m;
                    double[] expected = Float64Attribution.solve(p.gram()[j], lambda, column(p.products(), j), m);
                    for (int r = 0; r < m; r++) {
                        expected[r] /= unit;
                        assertEquals(expected[r], beta[r][j], 1e-9 * (1 + Math.abs(expected[r])),
                                "m=" + m + " collinear=" + collinear + " probe " + j + " member " + r);
                    }
                }
            }
        }
    }

    @Test
    void aSuspectBuiltFromOneMemberPutsItsWeightThere() {
        Random rng = new Random(4);
        Problem p = problem(rng, 6, 40, 64, false);
        // Unscaled, so the coefficient reads as the mixing weight.
        double[] unit = new double[40];
        java.util.Arrays.fill(unit, 1);
        double[][] beta = PanelRegression.of(6, p.gram()).coefficients(p.products(), unit);
        double teacher = TeacherControls.mean(beta[5]);
        assertTrue(teacher > 0.5 && teacher < 0.75, "ridge shrinks 0.7 a little: " + teacher);
        for (int r = 0; r < 5; r++) {
            assertTrue(Math.abs(TeacherControls.mean(beta[r])) < 0.1, "member " + r + ": " + TeacherControls.mean(beta[r]));
        }
    }

    @Test
    void leaveOneOutEqualsRegressingTheMemberOnTheRestWithTheSameRidge() {
        Random rng = new Random(5);
        int m = 6;
        Problem p = problem(rng, m, 5, 20, true);
        PanelRegression regression = PanelRegression.of(m, p.gram());
        for (int k = 0; k < m; k++) {
            double[][] loo = regression.withoutMember(k);
            double[] own = new double[5];
            for (int j = 0; j < 5; j++) {
                own[j] = p.gram()[j][k * m + k];
            }
            double unit = rms(own);
            for (int j = 0; j < 5; j++) {
                double[] kProducts = new double[m];
                for (int r = 0; r < m; r++) {
                    kProducts[r] = p.gram()[j][r * m + k];
                }
                double[] expected = solveWithout(p.gram()[j], m, k, kProducts);
                for (int r = 0; r < m - 1; r++) {
                    expected[r] /= unit;
                    assertEquals(expected[r], loo[r][j], 1e-8 * (1 + Math.abs(expected[r])),
                            "without " + k + ", probe " + j + ", rest member " + r);
                }
            }
        }
    }

    @Test
    void leaveOneOutOfAnyVariantEqualsRegressingItOnTheRest() {
        Random rng = new Random(6);
        int m = 5;
        Problem p = problem(rng, m, 4, 16, true);
        PanelRegression regression = PanelRegression.of(m, p.gram());
        for (int k = 0; k < m; k++) {
            // A variant of member k (for example k truncated): its products with the members, k's own arbitrary.
            double[][] products = new double[m][4];
            double[] norm2 = new double[4];
            for (int j = 0; j < 4; j++) {
                double[] variant = new double[16];
                for (int d = 0; d < 16; d++) {
                    variant[d] = p.x()[j][k][d] + 0.3 * rng.nextGaussian();
                }
                for (int r = 0; r < m; r++) {
                    products[r][j] = r == k ? 1e6 : dot(p.x()[j][r], variant);
                }
                norm2[j] = dot(variant, variant);
            }
            double[][] loo = regression.withoutMember(k, products, norm2);
            double unit = rms(norm2);
            for (int j = 0; j < 4; j++) {
                double[] expected = solveWithout(p.gram()[j], m, k, column(products, j));
                for (int r = 0; r < m - 1; r++) {
                    expected[r] /= unit;
                    assertEquals(expected[r], loo[r][j], 1e-8 * (1 + Math.abs(expected[r])),
                            "variant of " + k + ", probe " + j + ", rest member " + r);
                }
            }
        }
    }

    /**
     * More members than dimensions: the dual (the suspect's residual transformed by the D×D inverse,
     * then dotted with each member's) gives the primal's coefficients, in double precision, with
     * collinear siblings too; the primal stays what the leave-one-out uses.
     */
    @Test
    void theDualGivesThePrimalsCoefficientsWhenMembersOutnumberDimensions() {
        Random rng = new Random(41);
        for (boolean collinear : new boolean[] {false, true}) {
            int m = 13;
            int n = 5;
            int d = 4;
            Problem p = problem(rng, m, n, d, collinear);
            double[][] outer = new double[n][d * d];
            for (int j = 0; j < n; j++) {
                for (double[] z : p.x()[j]) {
                    for (int a = 0; a < d; a++) {
                        for (int b = 0; b < d; b++) {
                            outer[j][a * d + b] += z[a] * z[b];
                        }
                    }
                }
            }
            assertTrue(PanelRegression.solvesInDual(m, d));
            PanelRegression dual = PanelRegression.withDual(m, p.gram(), d, outer);
            assertTrue(dual.dual());
            double[][] dualProducts = new double[m][n];
            double[] u = new double[d];
            for (int j = 0; j < n; j++) {
                float[] s = new float[d + 2];
                double[] exact = new double[d];
                for (int k = 0; k < d; k++) {
                    s[2 + k] = (float) p.s()[j][k];
                    exact[k] = s[2 + k];
                }
                dual.dualSolve(j, s, 2, u);
                for (int r = 0; r < m; r++) {
                    dualProducts[r][j] = dot(p.x()[j][r], u);
                    // The primal from the same float residual, so both see the same suspect.
                    p.products()[r][j] = dot(p.x()[j][r], exact);
                }
            }
            double[][] want = PanelRegression.of(m, p.gram()).coefficients(p.products(), p.norm2());
            double[][] got = dual.dualCoefficients(dualProducts, p.norm2());
            for (int r = 0; r < m; r++) {
                for (int j = 0; j < n; j++) {
                    assertEquals(want[r][j], got[r][j], 1e-9 * (1 + Math.abs(want[r][j])),
                            "collinear=" + collinear + " member " + r + " probe " + j);
                }
            }
            assertEquals(PanelRegression.of(m, p.gram()).withoutMember(3)[4][2], dual.withoutMember(3)[4][2],
                    "the leave-one-out is the primal's");
        }
        assertThrows(IllegalStateException.class, () -> PanelRegression.of(2, new double[][] {new double[4]})
                .dualSolve(0, new float[2], 0, new double[2]));
        assertThrows(IllegalArgumentException.class, () -> PanelRegression.withDual(3, new double[][] {new double[9]},
                2, new double[][] {new double[3]}));
    }

    @Test
    void aZeroGramGivesZeroCoefficientsAndAMisshapenOneIsRefused() {
        double[][] gram = {new double[9]};
        double[][] beta = PanelRegression.of(3, gram).coefficients(new double[][] {{0}, {0}, {0}}, new double[] {0});
        for (double[] b : beta) {
            assertEquals(0, b[0]);
        }
        assertThrows(IllegalArgumentException.class, () -> PanelRegression.of(3, new double[][] {new double[8]}));
    }

    /**
     * The ridge solution on the panel without member k, with the full panel's ridge: the rest's
     * Gram block against {@code products} of the rest (entry k ignored).
     */
    private static double[] solveWithout(double[] gram, int m, int k, double[] products) {
        double lambda = PanelRegression.RIDGE * trace(gram, m) / m;
        double[] g = new double[(m - 1) * (m - 1)];
        double[] c = new double[m - 1];
        int a = 0;
        for (int r = 0; r < m; r++) {
            if (r == k) {
                continue;
            }
            int b = 0;
            for (int t = 0; t < m; t++) {
                if (t != k) {
                    g[a * (m - 1) + b++] = gram[r * m + t];
                }
            }
            c[a++] = products[r];
        }
        return Float64Attribution.solve(g, lambda, c, m - 1);
    }

    private static double[] column(double[][] a, int j) {
        double[] c = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i][j];
        }
        return c;
    }

    private static double trace(double[] g, int m) {
        double t = 0;
        for (int i = 0; i < m; i++) {
            t += g[i * m + i];
        }
        return t;
    }

    /** (G + λI) x = c by Gaussian elimination with partial pivoting: an independent reference. */
}
