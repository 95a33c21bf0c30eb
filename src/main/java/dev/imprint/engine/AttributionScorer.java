package dev.imprint.engine;

import dev.imprint.attribution.Panel;
import dev.imprint.attribution.PanelRegression;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Truncation;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Computes the products attribution needs (see {@link AttributionForms}): for a batch of suspects,
 * their residuals' products with the panel's, by the backend against the resident forms; for a
 * panel, its members' residual Gram matrices. {@link PanelRegression} turns them into
 * coefficients.
 */
final class AttributionScorer {
    /** Below this squared norm a residual carries no direction, and its probe no evidence. */
    private static final double NEGLIGIBLE = 1e-20;

    private AttributionScorer() {}

    /**
     * @param forms      the snapshot matching {@code resident}
     * @param resident   the forms as an EMBEDDING set, where a zero form is stored as a unit basis row
     * @param panel      the selected references, all held
     * @param regression the panel's regression on {@code batch}'s probes
     * @return per suspect, [M][N]: its coefficients on the panel members
     */
    static double[][][] score(AttributionForms forms, ResidentReferences resident, Panel panel,
                              PanelRegression regression, SuspectBatch batch) {
        int n = batch.probeIndices().length;
        int[] probes = batch.probeIndices();
        int dim = forms.set().dim();
        int s = batch.size();
        float[][] residual = new float[s][];
        double[][] residualNorm = new double[s][];
        // In the dual the backend takes each residual transformed by K_p, and its products are β_p;
        // the norm of what it was sent turns its cosines back into products.
        boolean dual = regression.dual();
        double[][] sentNorm = new double[s][];
        double[] transformed = dual ? new double[dim] : null;
        for (int i = 0; i < s; i++) {
            float[] form = forms.formOf(batch.suspects().get(i), n);
            double[] norm = new double[n];
            double[] sent = dual ? new double[n] : norm;
            for (int j = 0; j < n; j++) {
                norm[j] = Math.sqrt(removeConsensus(forms, form, j * dim, probes[j]));
                if (norm[j] * norm[j] > NEGLIGIBLE && dual) {
                    regression.dualSolve(j, form, j * dim, transformed);
                    double n2 = 0;
                    for (int k = 0; k < dim; k++) {
                        float u = (float) transformed[k];
                        form[j * dim + k] = u;
                        n2 += (double) u * u;
                    }
                    sent[j] = Math.sqrt(n2);
                }
                if (norm[j] * norm[j] <= NEGLIGIBLE) {
                    // The backend's cosine needs a direction; the product is discarded below.
                    Arrays.fill(form, j * dim, (j + 1) * dim, 0f);
                    form[j * dim] = 1f;
                }
            }
            residual[i] = form;
            residualNorm[i] = norm;
            sentNorm[i] = sent;
        }
        List<String> ids = panel.members().stream().map(Panel.Member::modelId).toList();
        BatchScores cos = resident.score(new SuspectBatch(probes, List.of(residual)), ids, EnumSet.of(Metric.COSINE),
                true);
        double[] perProbe = cos.perProbe(Metric.COSINE);
        int m = panel.size();
        double[][][] out = new double[s][][];
        for (int i = 0; i < s; i++) {
            double[][] products = new double[m][n];
            for (int r = 0; r < m; r++) {
                double[] rn2 = forms.row(ids.get(r)).norm2();
                for (int j = 0; j < n; j++) {
                    double zs = residualNorm[i][j];
                    double norm2 = rn2[probes[j]];
                    if (zs * zs > NEGLIGIBLE && norm2 > NEGLIGIBLE) {
                        products[r][j] = perProbe[(i * m + r) * n + j] * sentNorm[i][j] * Math.sqrt(norm2);
                    }
                }
            }
            double[] norm2 = new double[n];
            for (int j = 0; j < n; j++) {
                norm2[j] = residualNorm[i][j] * residualNorm[i][j];
            }
            out[i] = dual ? regression.dualCoefficients(products, norm2)
                    : regression.coefficients(products, norm2);
        }
        return out;
    }

    /**
     * The panel's regression on {@code probes}: in the dual where it has more members than a
     * residual has dimensions ({@link PanelRegression#solvesInDual}), so that each suspect's solve
     * grows linearly in M.
     */
    static PanelRegression regression(AttributionForms forms, Panel panel, int[] probes) {
        double[][] gram = gram(forms, panel, probes);
        int dim = forms.set().dim();
        return PanelRegression.solvesInDual(panel.size(), dim)
                ? PanelRegression.withDual(panel.size(), gram, dim, outer(forms, panel, probes))
                : PanelRegression.of(panel.size(), gram);
    }

    /**
     * Per probe, the sum over the panel members of their residuals' outer products z zᵀ: [N][D·D],
     * row-major. O(M·D²·N) on all cores, once per snapshot, panel and probe list.
     */
    static double[][] outer(AttributionForms forms, Panel panel, int[] probes) {
        int dim = forms.set().dim();
        AttributionForms.Row[] rows = panel.members().stream().map(p -> forms.row(p.modelId()))
                .toArray(AttributionForms.Row[]::new);
        double[][] outer = new double[probes.length][dim * dim];
        IntStream.range(0, probes.length).parallel().forEach(j -> {
            int p = probes[j];
            double muNorm2 = forms.muNorm2(p);
            double[] o = outer[j];
            double[] z = new double[dim];
            for (AttributionForms.Row row : rows) {
                // z = r' - (r'·μ/|μ|²) μ, as residualProduct takes it.
                double along = muNorm2 > 0 ? row.dotMu()[p] / muNorm2 : 0;
                for (int k = 0; k < dim; k++) {
                    z[k] = row.form()[p * dim + k] - along * forms.mu(p * dim + k);
                }
                for (int a = 0; a < dim; a++) {
                    for (int b = 0; b <= a; b++) {
                        o[a * dim + b] += z[a] * z[b];
                    }
                }
            }
            for (int a = 0; a < dim; a++) {
                for (int b = 0; b < a; b++) {
                    o[b * dim + a] = o[a * dim + b];
                }
            }
        });
        return outer;
    }

    /**
     * The panel members' residual Gram matrices on {@code probes}: [N][M·M], row-major. Costs
     * O(M²·N·D) on all cores, once per snapshot, panel and probe list.
     */
    static double[][] gram(AttributionForms forms, Panel panel, int[] probes) {
        int m = panel.size();
        AttributionForms.Row[] rows = panel.members().stream().map(p -> forms.row(p.modelId()))
                .toArray(AttributionForms.Row[]::new);
        double[][] gram = new double[probes.length][m * m];
        IntStream.range(0, probes.length).parallel().forEach(j -> {
            double[] g = gram[j];
            for (int r = 0; r < m; r++) {
                for (int t = 0; t <= r; t++) {
                    double v = forms.residualProduct(rows[r], rows[t], probes[j]);
                    g[r * m + t] = v;
                    g[t * m + r] = v;
                }
            }
        });
        return gram;
    }

    /**
     * A suspect's residual as the regression takes it: [M][N] its products with each member's
     * residual, and [N] its own squared norm.
     */
    record Products(double[][] products, double[] norm2) {
    }

    /**
     * Member {@code k}'s products, as they would be were k a suspect truncated like one: on probe
     * j, k's row keeps its {@code kept[j]} most likely tokens and spreads the rest evenly
     * ({@link Truncation}). Row k of the products is left zero. Costs O(M·N·D); DISTRIBUTION sets
     * only, since only those truncate.
     */
    static Products truncatedProducts(AttributionForms forms, Panel panel, int k, int[] probes, int[] kept) {
        ProbeSet set = forms.set();
        int dim = set.dim();
        int m = panel.size();
        float[] own = forms.row(panel.member(k).modelId()).form();
        float[] rows = new float[probes.length * dim];
        for (int j = 0; j < probes.length; j++) {
            forms.kind().probabilitiesOf(set, own, probes[j] * dim, rows, j * dim);
            Truncation.apply(rows, j * dim, dim, kept[j]);
        }
        float[] residual = forms.formOf(rows, probes.length);
        AttributionForms.Row[] members = panel.members().stream().map(p -> forms.row(p.modelId()))
                .toArray(AttributionForms.Row[]::new);
        double[][] products = new double[m][probes.length];
        double[] norm2 = new double[probes.length];
        for (int j = 0; j < probes.length; j++) {
            norm2[j] = removeConsensus(forms, residual, j * dim, probes[j]);
            if (norm2[j] <= NEGLIGIBLE) {
                continue;
            }
            for (int r = 0; r < m; r++) {
                AttributionForms.Row row = members[r];
                if (r == k || row.norm2()[probes[j]] <= NEGLIGIBLE) {
                    continue;
                }
                // The residual is orthogonal to μ, so its product with r's residual is its product with r's form.
                double dot = 0;
                for (int d = 0; d < dim; d++) {
                    dot += residual[j * dim + d] * row.form()[probes[j] * dim + d];
                }
                products[r][j] = dot;
            }
        }
        return new Products(products, norm2);
    }

    /** [F][N]: per panel family, the sum of its members' coefficients. */
    static double[][] familySums(Panel panel, double[][] beta) {
        int n = beta.length == 0 ? 0 : beta[0].length;
        List<Panel.Family> families = panel.families();
        double[][] sums = new double[families.size()][n];
        for (int f = 0; f < families.size(); f++) {
            for (int r : families.get(f).members()) {
                for (int j = 0; j < n; j++) {
                    sums[f][j] += beta[r][j];
                }
            }
        }
        return sums;
    }

    /**
     * Replaces {@code form[at .. at+D)}, a form on probe {@code probe}, by its residual (the
     * component along μ removed) and returns the residual's squared norm.
     */
    private static double removeConsensus(AttributionForms forms, float[] form, int at, int probe) {
        int dim = forms.set().dim();
        double muNorm2 = forms.muNorm2(probe);
        double along = 0;
        for (int k = 0; k < dim; k++) {
            along += form[at + k] * forms.mu(probe * dim + k);
        }
        double b = muNorm2 > NEGLIGIBLE ? along / muNorm2 : 0;
        double n2 = 0;
        for (int k = 0; k < dim; k++) {
            float z = (float) (form[at + k] - b * forms.mu(probe * dim + k));
            form[at + k] = z;
            n2 += (double) z * z;
        }
        return n2;
    }
}
