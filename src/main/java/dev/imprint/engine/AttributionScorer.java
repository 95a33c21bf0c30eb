package dev.imprint.engine;

import dev.imprint.attribution.Panel;
import dev.imprint.core.Metric;
import java.util.EnumSet;
import java.util.List;

/**
 * Computes, for a batch of suspects, the per-probe similarities attribution compares (see
 * {@link AttributionForms}): the backend multiplies the suspects' residuals with the resident
 * forms, and the centring terms are applied here in double.
 */
final class AttributionScorer {
    /** Below this squared norm a residual carries no direction, and its probe no evidence. */
    private static final double NEGLIGIBLE = 1e-20;

    /** One suspect's similarities: [M][N] to each panel member, [F][N] to each panel family. */
    record Similarities(double[][] members, double[][] families) {
    }

    private AttributionScorer() {}

    /**
     * @param forms    the snapshot matching {@code resident}
     * @param resident the forms as an EMBEDDING set, where a zero form is stored as a unit basis row
     * @param panel    the selected references, all held
     */
    static Similarities[] score(AttributionForms forms, ResidentReferences resident, Panel panel, SuspectBatch batch) {
        int n = batch.probeIndices().length;
        List<float[]> suspectForms = batch.suspects().stream()
                .map(rows -> AttributionForms.formOf(forms.set(), rows, n)).toList();
        return scoreForms(forms, resident, panel, batch.probeIndices(), suspectForms);
    }

    /**
     * As {@link #score}, for suspects given by their forms: n × dim each, row j the form on probe
     * {@code probes[j]}. The forms are not modified.
     */
    static Similarities[] scoreForms(AttributionForms forms, ResidentReferences resident, Panel panel, int[] probes,
                                     List<float[]> suspectForms) {
        var set = forms.set();
        int dim = set.dim();
        int n = probes.length;
        int s = suspectForms.size();
        float[][] residual = new float[s][];
        double[][] residualNorm = new double[s][];
        for (int i = 0; i < s; i++) {
            float[] form = suspectForms.get(i).clone();
            double[] norm = new double[n];
            for (int j = 0; j < n; j++) {
                int p = probes[j];
                int base = j * dim;
                double muNorm2 = forms.muNorm2(p);
                double along = 0;
                for (int k = 0; k < dim; k++) {
                    along += form[base + k] * forms.mu(p * dim + k);
                }
                double b = muNorm2 > NEGLIGIBLE ? along / muNorm2 : 0;
                double n2 = 0;
                for (int k = 0; k < dim; k++) {
                    float z = (float) (form[base + k] - b * forms.mu(p * dim + k));
                    form[base + k] = z;
                    n2 += (double) z * z;
                }
                norm[j] = Math.sqrt(n2);
                if (n2 <= NEGLIGIBLE) {
                    // The backend's cosine needs a direction; the product is discarded below.
                    java.util.Arrays.fill(form, base, base + dim, 0f);
                    form[base] = 1f;
                }
            }
            residual[i] = form;
            residualNorm[i] = norm;
        }
        List<String> ids = panel.members().stream().map(Panel.Member::modelId).toList();
        BatchScores cos = resident.score(new SuspectBatch(probes, List.of(residual)), ids, EnumSet.of(Metric.COSINE),
                true);
        int m = panel.size();
        List<Panel.Family> families = panel.families();
        Similarities[] out = new Similarities[s];
        for (int i = 0; i < s; i++) {
            double[][] members = new double[m][n];
            double[][] fam = new double[families.size()][n];
            // z_s·(family mean) once per family label of the panel.
            double[][] dotFamily = new double[families.size()][];
            for (int f = 0; f < families.size(); f++) {
                Panel.Family pf = families.get(f);
                AttributionForms.Family label = pf.labelled() ? forms.family(pf.name()) : null;
                if (label != null && label.count() >= 2) {
                    dotFamily[f] = new double[n];
                    for (int j = 0; j < n; j++) {
                        int base = probes[j] * dim;
                        double d = 0;
                        for (int k = 0; k < dim; k++) {
                            d += residual[i][j * dim + k] * label.mean(base + k);
                        }
                        dotFamily[f][j] = d;
                    }
                }
            }
            double[] perProbe = cos.perProbe(Metric.COSINE);
            for (int r = 0; r < m; r++) {
                AttributionForms.Row row = forms.row(ids.get(r));
                AttributionForms.Family centre = forms.centreOf(row);
                double[] zc = centre == null ? null : dotFamily[panel.familyOf(r)];
                for (int j = 0; j < n; j++) {
                    int p = probes[j];
                    double zs = residualNorm[i][j];
                    double rn2 = row.norm2()[p];
                    if (zs * zs <= NEGLIGIBLE || rn2 <= NEGLIGIBLE) {
                        continue;
                    }
                    double zr = perProbe[(i * m + r) * n + j] * zs * Math.sqrt(rn2);
                    double centredNorm2 = rn2;
                    double alongMu = row.dotMu()[p];
                    if (centre != null) {
                        zr -= zc == null ? 0 : zc[j];
                        centredNorm2 = rn2 - 2 * row.dotCentre()[p] + centre.meanNorm2()[p];
                        alongMu -= centre.meanDotMu()[p];
                    }
                    double mu2 = forms.muNorm2(p);
                    double perp2 = centredNorm2 - (mu2 > NEGLIGIBLE ? alongMu * alongMu / mu2 : 0);
                    if (perp2 > NEGLIGIBLE * Math.max(1, rn2)) {
                        members[r][j] = zr / (zs * Math.sqrt(perp2));
                    }
                }
            }
            for (int f = 0; f < families.size(); f++) {
                Panel.Family pf = families.get(f);
                AttributionForms.Family label = pf.labelled() ? forms.family(pf.name()) : null;
                if (label == null || label.count() < 2) {
                    // A family of one: its shared direction is its member's own residual.
                    int r = pf.members()[0];
                    AttributionForms.Row row = forms.row(ids.get(r));
                    for (int j = 0; j < n; j++) {
                        int p = probes[j];
                        double zs = residualNorm[i][j];
                        double rn2 = row.norm2()[p];
                        double mu2 = forms.muNorm2(p);
                        double perp2 = rn2 - (mu2 > NEGLIGIBLE ? row.dotMu()[p] * row.dotMu()[p] / mu2 : 0);
                        if (zs * zs > NEGLIGIBLE && perp2 > NEGLIGIBLE * Math.max(1, rn2)) {
                            fam[f][j] = perProbe[(i * m + r) * n + j] * Math.sqrt(rn2) / Math.sqrt(perp2);
                        }
                    }
                } else {
                    for (int j = 0; j < n; j++) {
                        int p = probes[j];
                        double zs = residualNorm[i][j];
                        double mu2 = forms.muNorm2(p);
                        double along = label.meanDotMu()[p];
                        double perp2 = label.meanNorm2()[p] - (mu2 > NEGLIGIBLE ? along * along / mu2 : 0);
                        if (zs * zs > NEGLIGIBLE && perp2 > NEGLIGIBLE * Math.max(1, label.meanNorm2()[p])) {
                            fam[f][j] = dotFamily[f][j] / (zs * Math.sqrt(perp2));
                        }
                    }
                }
            }
            out[i] = new Similarities(members, fam);
        }
        return out;
    }
}
