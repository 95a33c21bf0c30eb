package dev.imprint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.imprint.attribution.Panel;
import dev.imprint.attribution.PanelRegression;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceRole;
import dev.imprint.testing.Float64Attribution;
import dev.imprint.testing.LogLinearModels;
import java.util.ArrayList;
import java.util.List;

/**
 * The float64 contract of the attribution coefficients, for any backend: what
 * {@link AttributionScorer} computes with the backend's products must equal
 * {@link Float64Attribution} from the raw rows, in every form, for full and truncated suspects,
 * on a subset of probes in shuffled order.
 */
final class AttributionContract {
    static final int P = 24;

    private AttributionContract() {}

    /**
     * Checks every form of both kinds on {@code backend}: with fewer members than dimensions
     * (the regression's primal) and with more (its dual, {@link PanelRegression#solvesInDual}).
     */
    static void check(ScoringBackend backend) {
        for (int[] shape : new int[][] {{40, 7}, {6, 11}}) {
            int d = shape[0];
            int m = shape[1];
            for (ProbeSetKind kind : ProbeSetKind.values()) {
                ProbeSet set = new ProbeSet("contract", P, d, kind, kind == ProbeSetKind.DISTRIBUTION ? 1e-6 : 0, "");
                for (FormKind form : FormKind.of(kind)) {
                    check(backend, set, form, m);
                }
            }
        }
    }

    private static void check(ScoringBackend backend, ProbeSet set, FormKind form, int m) {
        int dim = set.dim();
        LogLinearModels gen = new LogLinearModels(P, dim, 77 + form.ordinal());
        double[] family = gen.gaussian(1.0);
        float[][] references = new float[m][];
        List<AttributionForms.Input> inputs = new ArrayList<>();
        List<Panel.Member> members = new ArrayList<>();
        try (ResidentReferences resident = backend.createResidentSet(AttributionView.residentSet(set, form))) {
            for (int r = 0; r < m; r++) {
                references[r] = rows(set, gen, gen.model(r < 3 ? family : gen.gaussian(1.0)));
                float[] f = form.formOf(set, references[r], P);
                inputs.add(new AttributionForms.Input("m" + r, f));
                resident.put("m" + r, AttributionForms.resident(set, f));
                members.add(new Panel.Member("m" + r, r < 3 ? "f" : null,
                        r == m - 1 ? ReferenceRole.BACKGROUND : ReferenceRole.PROTECTED));
            }
            AttributionForms forms = AttributionForms.of(set, form, inputs);
            Panel panel = new Panel(members);
            int[] probes = {17, 3, 0, 22, 9, 11, 5, 20, 14, 1};
            PanelRegression regression = AttributionScorer.regression(forms, panel, probes);
            assertEquals(m > dim, regression.dual(), "the dual where the panel outnumbers the dimensions");

            float[] full = rows(set, gen, LogLinearModels.mix(gen.model(family), gen.model(gen.gaussian(1.0)), 0.5));
            float[] suspect = subset(full, probes, dim);
            List<float[]> batch = new ArrayList<>(List.of(suspect));
            boolean distribution = set.kind() == ProbeSetKind.DISTRIBUTION;
            int[] kept = new int[probes.length];
            java.util.Arrays.fill(kept, Math.min(6, dim - 2));
            if (distribution) {
                batch.add(Float64Attribution.truncate(suspect, dim, kept));
            }
            double[][][] beta = AttributionScorer.score(forms, resident, panel, regression,
                    new SuspectBatch(probes, batch));
            for (int s = 0; s < batch.size(); s++) {
                double[][] expected = Float64Attribution.coefficients(Float64Attribution.Form.valueOf(form.name()),
                        references, batch.get(s), probes, dim);
                assertClose(expected, beta[s], form + " suspect " + s);
            }
            if (distribution) {
                // A reference truncated as a suspect, as the null takes it (the leave-one-out algebra on
                // these products is PanelRegressionTest's).
                checkProducts(form, references, forms, panel, probes, kept, dim,
                        AttributionScorer.truncatedProducts(forms, panel, 2, probes, kept));
            }
        }
    }

    /** The truncated variant's products and squared norms against a float64 computation. */
    private static void checkProducts(FormKind form, float[][] references, AttributionForms forms, Panel panel,
                                      int[] probes, int[] kept, int dim, AttributionScorer.Products variant) {
        Float64Attribution.Form f = Float64Attribution.Form.valueOf(form.name());
        float[] truncated = Float64Attribution.truncate(subset(references[2], probes, dim), dim, kept);
        for (int j = 0; j < probes.length; j++) {
            double[] mu = Float64Attribution.consensus(f, references, probes[j], dim);
            double[] z = Float64Attribution.residual(Float64Attribution.form(f, truncated, j * dim, dim), mu);
            assertEquals(dot(z, z), variant.norm2()[j], 2e-4 * dot(z, z), form + " norm on probe " + j);
            assertEquals(0, variant.products()[2][j], "its product with itself is left out");
            for (int r = 0; r < references.length; r++) {
                if (r == 2) {
                    continue;
                }
                double[] zr = Float64Attribution.residual(Float64Attribution.form(f, references[r], probes[j] * dim, dim), mu);
                double expected = dot(z, zr);
                assertEquals(expected, variant.products()[r][j], 2e-4 * Math.sqrt(dot(z, z) * dot(zr, zr)),
                        form + " product with m" + r + " on probe " + j);
            }
        }
    }

    private static double dot(double[] a, double[] b) {
        return dev.imprint.testing.Float64Metrics.dot(a, b);
    }

    private static void assertClose(double[][] expected, double[][] actual, String what) {
        double scale = 0;
        for (double[] row : expected) {
            for (double v : row) {
                scale = Math.max(scale, Math.abs(v));
            }
        }
        for (int r = 0; r < expected.length; r++) {
            for (int j = 0; j < expected[r].length; j++) {
                assertEquals(expected[r][j], actual[r][j], 1e-3 * scale, what + ": member " + r + ", probe " + j);
            }
        }
    }

    /** Model rows of the set's kind: softmax rows, or the logits as an embedding. */
    private static float[] rows(ProbeSet set, LogLinearModels gen, double[] logits) {
        if (set.kind() == ProbeSetKind.DISTRIBUTION) {
            return gen.softmax(logits);
        }
        float[] out = new float[logits.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) logits[i];
        }
        return out;
    }

    private static float[] subset(float[] rows, int[] probes, int dim) {
        float[] out = new float[probes.length * dim];
        for (int j = 0; j < probes.length; j++) {
            System.arraycopy(rows, probes[j] * dim, out, j * dim, dim);
        }
        return out;
    }
}
