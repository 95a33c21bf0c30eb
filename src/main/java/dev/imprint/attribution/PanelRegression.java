package dev.imprint.attribution;

import java.util.stream.IntStream;

/**
 * How much of a suspect each panel member explains: per probe, the ridge regression of the
 * suspect's residual on the residuals of every panel member at once.
 *
 * <p>Why a joint regression and not one similarity per member. Siblings of a family share most of
 * their fingerprint (their base), so a model of the family, distilled or not, is similar to all of
 * them; a per-member similarity ranks whichever sibling it leans to first and cannot tell a lean
 * from a copy. Regressed jointly, a model that shares the family's base spreads its weight over
 * the siblings (the base is their common part), while a student of A that starts from a base of
 * its own puts its weight on A alone. The teacher test then asks whether A's coefficient exceeds
 * the sum of its siblings' and every other member's (see {@link Attributor}).
 *
 * <p>Per probe p, with G_p the M×M Gram matrix of the members' residuals and c_p the suspect's
 * products with them, the coefficients are {@code β_p = (G_p + λ_p I)^-1 c_p}, where
 * {@code λ_p = RIDGE · trace(G_p) / M}: the ridge keeps near-collinear siblings from trading
 * arbitrarily large opposite weights, and scaling it by the mean squared norm makes it independent
 * of the forms' units. The inverse is factored once per panel and probe (O(M³·N)); each suspect
 * then costs O(M²·N).
 *
 * <p>Per unit of the suspect. β is divided by the suspect's root-mean-square residual norm over the
 * probes, so it says how much of the suspect each member explains, not how large the suspect is:
 * in the log form a model sampled at temperature T has its residual scaled by 1/T, and without
 * this a sharpened sibling would get margins that a null of models at their own temperature never
 * reaches.
 *
 * <p>The dual, for panels larger than a residual is long. With Z_p the D×M matrix of the members'
 * residuals and s_p the suspect's, c_p = Z_pᵀ s_p, and {@code (G_p + λ I_M)^-1 Z_pᵀ = Z_pᵀ (Z_p Z_pᵀ +
 * λ I_D)^-1}, so {@code β_p = Z_pᵀ u_p} with {@code u_p = K_p s_p}, K_p the D×D inverse: the
 * suspect's residual transformed by K_p and then dotted with each member's, as the untransformed one
 * is. That costs O(D²) per probe for the transform, and the products, which the backend computes
 * anyway, instead of O(M²): when M > D ({@link #solvesInDual}), a suspect's regression costs
 * O((D² + M·D)·N), linear in M. Factored once per panel and probe from Z_p Z_pᵀ, O(M·D²·N + D³·N).
 *
 * <p>Leave-one-out. {@link #withoutMember} gives member k's coefficients (or those of a variant of
 * k, such as k truncated) on the rest of the panel from the same inverse by the block-inverse
 * identity, in O(M²·N), with the ridge of the full panel and the consensus the full panel's
 * residuals were taken against (which holds k with weight 1/M).
 */
public final class PanelRegression {
    /** The ridge as a fraction of the mean squared residual norm. */
    public static final double RIDGE = 0.1;

    private final int members;
    private final int probes;
    /** [N][M·M], row-major: G_p. */
    private final double[][] gram;
    /** [N][M·M], row-major: (G_p + λ_p I)^-1. */
    private final double[][] inverse;
    /** D, where the panel is regressed in the dual; 0 where it is not. */
    private final int dim;
    /** [N][D·D], row-major: K_p = (Z_p Z_pᵀ + λ_p I)^-1; null where the panel is not regressed in the dual. */
    private final double[][] dualInverse;

    private PanelRegression(int members, int probes, double[][] gram, double[][] inverse, int dim,
                            double[][] dualInverse) {
        this.members = members;
        this.probes = probes;
        this.gram = gram;
        this.inverse = inverse;
        this.dim = dim;
        this.dualInverse = dualInverse;
    }

    /** Whether a panel of {@code members} residuals of length {@code dim} is cheaper to regress in the dual. */
    public static boolean solvesInDual(int members, int dim) {
        return members > dim;
    }

    /**
     * Factors the regression of each probe.
     *
     * @param gram [N][M·M], row-major, symmetric positive semi-definite: probe j's Gram matrix of the
     *             members' residuals
     * @throws IllegalArgumentException if a matrix is not M×M for one M
     */
    public static PanelRegression of(int members, double[][] gram) {
        for (double[] g : gram) {
            if (g.length != members * members) {
                throw new IllegalArgumentException("a Gram matrix of " + g.length + " entries for " + members
                        + " members; expected " + members * members);
            }
        }
        double[][] inverse = new double[gram.length][];
        IntStream.range(0, gram.length).parallel().forEach(j -> inverse[j] = ridgeInverse(gram[j], members,
                ridge(gram[j], members)));
        return new PanelRegression(members, gram.length, gram, inverse, 0, null);
    }

    /**
     * Factors the regression of each probe and its dual (see the class comment), for a panel with
     * more members than dimensions ({@link #solvesInDual}); a suspect's coefficients are then
     * {@link #dualCoefficients} of its residual transformed by {@link #dualSolve}.
     *
     * @param outer [N][D·D], row-major: probe j's sum over the members of z zᵀ, their residuals' outer products
     * @throws IllegalArgumentException if a matrix is not M×M or D×D, or there are not as many of each
     */
    public static PanelRegression withDual(int members, double[][] gram, int dim, double[][] outer) {
        // Checked before the primal is factored, O(M³·N), so a misshapen call costs nothing.
        if (outer.length != gram.length) {
            throw new IllegalArgumentException(outer.length + " outer-product sums for " + gram.length + " probes");
        }
        for (double[] o : outer) {
            if (o.length != dim * dim) {
                throw new IllegalArgumentException("an outer-product sum of " + o.length + " entries for residuals of "
                        + dim + "; expected " + dim * dim);
            }
        }
        PanelRegression primal = of(members, gram);
        // The same ridge as the primal's: trace(Z Zᵀ) = trace(Zᵀ Z), but λ is that over M, not D.
        double[][] dual = new double[outer.length][];
        IntStream.range(0, outer.length).parallel().forEach(j -> dual[j] = ridgeInverse(outer[j], dim,
                ridge(gram[j], members)));
        return new PanelRegression(members, gram.length, gram, primal.inverse, dim, dual);
    }

    /** Whether suspects are regressed in the dual: through {@link #dualSolve} and {@link #dualCoefficients}. */
    public boolean dual() {
        return dualInverse != null;
    }

    /**
     * {@code u = K_j s}: the suspect's residual on probe j ({@code s[from..from+D)}) transformed for
     * the dual, into {@code u[0..D)}.
     *
     * @throws IllegalStateException if this panel is not regressed in the dual
     */
    public void dualSolve(int probe, float[] s, int from, double[] u) {
        if (dualInverse == null) {
            throw new IllegalStateException("this panel of " + members + " is regressed in the primal");
        }
        double[] k = dualInverse[probe];
        for (int r = 0; r < dim; r++) {
            double sum = 0;
            for (int t = 0; t < dim; t++) {
                sum += k[r * dim + t] * s[from + t];
            }
            u[r] = sum;
        }
    }

    /**
     * The coefficients of one suspect from its {@link #dualSolve transformed} residual's products
     * with each member's residual: those products are β_p already, so only the per-unit scaling of
     * {@link #coefficients} is left.
     *
     * @param dualProducts [M][N]: z_r · u_p per member and probe
     * @param norm2        [N]: the suspect's own squared residual norm (of s, not u), per probe
     */
    public double[][] dualCoefficients(double[][] dualProducts, double[] norm2) {
        double[][] beta = new double[members][];
        for (int r = 0; r < members; r++) {
            beta[r] = dualProducts[r].clone();
        }
        return perUnit(beta, norm2);
    }

    public int members() {
        return members;
    }

    /**
     * The coefficients of one suspect, per unit of its residual (see the class comment).
     *
     * @param products [M][N]: the suspect's residual dotted with each member's, per probe
     * @param norm2    [N]: the suspect's squared residual norm, per probe
     * @return [M][N]: β, per member and probe
     */
    public double[][] coefficients(double[][] products, double[] norm2) {
        double[][] beta = new double[members][probes];
        double[] c = new double[members];
        for (int j = 0; j < probes; j++) {
            for (int r = 0; r < members; r++) {
                c[r] = products[r][j];
            }
            double[] h = inverse[j];
            for (int r = 0; r < members; r++) {
                double s = 0;
                for (int t = 0; t < members; t++) {
                    s += h[r * members + t] * c[t];
                }
                beta[r][j] = s;
            }
        }
        return perUnit(beta, norm2);
    }

    /**
     * Member k taken out of the panel and regressed on the others: [M−1][N], the others in panel
     * order. Same as {@link #withoutMember(int, double[][])} with k's own residual.
     */
    public double[][] withoutMember(int k) {
        double[][] products = new double[members][probes];
        double[] norm2 = new double[probes];
        for (int j = 0; j < probes; j++) {
            for (int t = 0; t < members; t++) {
                products[t][j] = gram[j][t * members + k];
            }
            norm2[j] = gram[j][k * members + k];
        }
        return withoutMember(k, products, norm2);
    }

    /**
     * A suspect regressed on the panel without member k: [M−1][N], the others in panel order. Used
     * with a variant of k itself (truncated as a suspect is) to learn what k would score as that
     * suspect. From the block inverse: with H the full inverse, the rest's inverse is
     * {@code H_{-k,-k} − H_{-k,k} H_{k,-k} / H_{kk}}, applied to the suspect's products with the rest.
     *
     * @param products [M][N]: the suspect's residual dotted with each member's; row k is ignored
     * @param norm2    [N]: the suspect's squared residual norm, per probe
     */
    public double[][] withoutMember(int k, double[][] products, double[] norm2) {
        double[][] beta = new double[members - 1][probes];
        for (int j = 0; j < probes; j++) {
            double[] h = inverse[j];
            double hkk = h[k * members + k];
            // H_{k,-k} · c, c the products with the rest.
            double along = 0;
            for (int t = 0; t < members; t++) {
                if (t != k) {
                    along += h[k * members + t] * products[t][j];
                }
            }
            int out = 0;
            for (int r = 0; r < members; r++) {
                if (r == k) {
                    continue;
                }
                double s = 0;
                for (int t = 0; t < members; t++) {
                    if (t != k) {
                        s += h[r * members + t] * products[t][j];
                    }
                }
                beta[out++][j] = s - h[r * members + k] * along / hkk;
            }
        }
        return perUnit(beta, norm2);
    }

    /**
     * β divided by the suspect's root-mean-square residual norm over the probes, in place: the
     * coefficients of a suspect whose residual is scaled by c are the same as its own, so a margin
     * does not grow with how peaked the suspect is. A zero residual leaves β (then zero) as it is.
     */
    private static double[][] perUnit(double[][] beta, double[] norm2) {
        double rms = Math.sqrt(java.util.Arrays.stream(norm2).average().orElse(0));
        if (rms > 0) {
            for (double[] b : beta) {
                for (int j = 0; j < b.length; j++) {
                    b[j] /= rms;
                }
            }
        }
        return beta;
    }

    /** λ = RIDGE·trace(G)/M, with a tiny floor when G is zero so G + λI stays invertible. */
    static double ridge(double[] g, int m) {
        double trace = 0;
        for (int i = 0; i < m; i++) {
            trace += g[i * m + i];
        }
        return trace > 0 ? RIDGE * trace / m : 1e-12;
    }

    /** (G + λI)^-1 by Cholesky, G m×m. */
    static double[] ridgeInverse(double[] g, int m, double lambda) {
        double[] l = new double[m * m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j <= i; j++) {
                double s = g[i * m + j] + (i == j ? lambda : 0);
                for (int k = 0; k < j; k++) {
                    s -= l[i * m + k] * l[j * m + k];
                }
                l[i * m + j] = i == j ? Math.sqrt(Math.max(s, lambda * 1e-12)) : s / l[j * m + j];
            }
        }
        // Invert L, then (L L^T)^-1 = L^-T L^-1.
        double[] li = new double[m * m];
        for (int col = 0; col < m; col++) {
            for (int i = col; i < m; i++) {
                double s = i == col ? 1 : 0;
                for (int k = col; k < i; k++) {
                    s -= l[i * m + k] * li[k * m + col];
                }
                li[i * m + col] = s / l[i * m + i];
            }
        }
        double[] inv = new double[m * m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int k = i; k < m; k++) {
                    s += li[k * m + i] * li[k * m + j];
                }
                inv[i * m + j] = s;
                inv[j * m + i] = s;
            }
        }
        return inv;
    }
}
