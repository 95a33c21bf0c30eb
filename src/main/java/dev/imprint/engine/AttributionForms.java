package dev.imprint.engine;

import dev.imprint.core.ProbeSet;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The forms of one {@link FormKind} attribution compares, for every reference of one probe set,
 * and the population mean they are centred on: an immutable snapshot, replaced whole by each put
 * and delete so a score sees the state before a write or after it, never between. Each probe is
 * treated on its own.
 *
 * <p><b>Residuals.</b> With μ the mean form over every reference of the set (the population
 * consensus) and P⊥ the projection that removes the component along μ, a model's residual is
 * {@code z = P⊥ x'}: the consensus regressed out. Because a suspect's z_s ⟂ μ,
 * {@code z_s·z_r = z_s·r'}: the backend computes those products against the resident forms. Between references, {@code z_r·z_t = r'·t' − (r'·μ)(t'·μ)/|μ|²}, from the forms
 * and the per-probe scalars kept here.
 *
 * <p><b>Update cost.</b> A put or delete adds or subtracts one reference's form to the population
 * sum (O(P·D)) and copies the map of rows (O(M)). Every reference's dot product with the new μ
 * (O(M·P·D), on all cores) is computed when a snapshot is first read, once: a burst of puts costs
 * one such pass, at the first score after it, not one per put, which made building M references
 * O(M²·P·D). Host memory: one float copy of every form.
 */
final class AttributionForms {
    /** Per reference: its form, and per probe its squared norm and its dot product with μ. */
    record Row(float[] form, double[] norm2, double[] dotMu) {
    }

    /**
     * What depends on μ, computed once per snapshot at its first read.
     *
     * @param mu      μ, the mean form, P×D: kept so scoring reads it without dividing per element
     * @param muNorm2 |μ_p|², per probe
     * @param rows    every reference's row with its dot products with μ
     */
    private record Derived(double[] mu, double[] muNorm2, Map<String, Row> rows) {
    }

    private final ProbeSet set;
    private final FormKind kind;
    /** Every reference's form and norms, without the dot products with μ. */
    private final Map<String, Row> rows;
    /** Sum of every reference's form, P×D. */
    private final double[] populationSum;
    /**
     * Null until first read; then fixed, as the snapshot is. Not volatile, so the scoring loops
     * that read μ per element keep it in a register: a Derived's fields are final, so a thread that
     * sees the reference sees it whole (JLS 17.5), and one that sees null takes the lock.
     */
    private Derived derived;

    private AttributionForms(ProbeSet set, FormKind kind, Map<String, Row> rows, double[] populationSum) {
        this.set = set;
        this.kind = kind;
        this.rows = rows;
        this.populationSum = populationSum;
    }

    static AttributionForms empty(ProbeSet set, FormKind kind) {
        return new AttributionForms(set, kind, Map.of(), new double[set.elements()]);
    }

    ProbeSet set() {
        return set;
    }

    FormKind kind() {
        return kind;
    }

    /** The form of a P×D or N×D row block of this set, in this snapshot's kind. */
    float[] formOf(float[] values, int rowCount) {
        return kind.formOf(set, values, rowCount);
    }

    int size() {
        return rows.size();
    }

    Row row(String modelId) {
        return derived().rows().get(modelId);
    }

    /** The model ids of every reference held. */
    java.util.Set<String> ids() {
        return rows.keySet();
    }

    /** μ at element {@code at} (probe-major, p·D + k). */
    double mu(int at) {
        return derived().mu()[at];
    }

    double muNorm2(int probe) {
        return derived().muNorm2()[probe];
    }

    /** z_r·z_t on probe {@code p}: the product of two references' residuals. */
    double residualProduct(Row r, Row t, int p) {
        int dim = set.dim();
        int base = p * dim;
        double s = 0;
        for (int k = 0; k < dim; k++) {
            s += r.form()[base + k] * t.form()[base + k];
        }
        double muNorm2 = muNorm2(p);
        return muNorm2 > 0 ? s - r.dotMu()[p] * t.dotMu()[p] / muNorm2 : s;
    }

    /** One reference's form as {@link #of} takes it. */
    record Input(String modelId, float[] form) {
    }

    /** The snapshot holding exactly {@code inputs} (what loading a data directory needs). */
    static AttributionForms of(ProbeSet set, FormKind kind, java.util.List<Input> inputs) {
        Map<String, Row> rows = new HashMap<>();
        double[] sum = new double[set.elements()];
        AttributionForms empty = empty(set, kind);
        for (Input in : inputs) {
            rows.put(in.modelId(), new Row(in.form(), empty.norms(in.form()), null));
            add(sum, in.form());
        }
        return new AttributionForms(set, kind, Map.copyOf(rows), sum);
    }

    /**
     * The form as the backend holds it: a probe whose form is zero (a uniform distribution) gets a
     * unit basis row instead, since a cosine needs a direction; its squared norm here stays 0, which
     * tells the scorer to discard the product.
     */
    static float[] resident(ProbeSet set, float[] form) {
        float[] out = form.clone();
        int dim = set.dim();
        for (int p = 0; p < set.numProbes(); p++) {
            boolean zero = true;
            for (int k = 0; k < dim && zero; k++) {
                zero = out[p * dim + k] == 0f;
            }
            if (zero) {
                out[p * dim] = 1f;
            }
        }
        return out;
    }

    /** This snapshot with {@code modelId} added or replaced by {@code form}. */
    AttributionForms with(String modelId, float[] form) {
        Map<String, Row> next = new HashMap<>(rows);
        double[] sum = populationSum.clone();
        Row old = next.remove(modelId);
        if (old != null) {
            subtract(sum, old.form());
        }
        add(sum, form);
        next.put(modelId, new Row(form, norms(form), null));
        return new AttributionForms(set, kind, Map.copyOf(next), sum);
    }

    /** This snapshot without {@code modelId}; itself if absent. */
    AttributionForms without(String modelId) {
        Row old = rows.get(modelId);
        if (old == null) {
            return this;
        }
        Map<String, Row> next = new HashMap<>(rows);
        double[] sum = populationSum.clone();
        next.remove(modelId);
        subtract(sum, old.form());
        return new AttributionForms(set, kind, Map.copyOf(next), sum);
    }

    /** This snapshot's μ and dot products with it, computed by the first reader. */
    private Derived derived() {
        Derived d = derived;
        if (d == null) {
            synchronized (this) {
                d = derived;
                if (d == null) {
                    d = derive(rows, populationSum);
                    derived = d;
                }
            }
        }
        return d;
    }

    /** Computes every scalar that depends on the means. */
    private Derived derive(Map<String, Row> next, double[] sum) {
        int probes = set.numProbes();
        int dim = set.dim();
        int count = next.size();
        double[] mu = new double[sum.length];
        if (count > 0) {
            for (int i = 0; i < mu.length; i++) {
                mu[i] = sum[i] / count;
            }
        }
        double[] muNorm = new double[probes];
        for (int p = 0; p < probes; p++) {
            muNorm[p] = dot(mu, mu, p * dim, dim);
        }
        Map<String, Row> withDotMu = new HashMap<>();
        String[] ids = next.keySet().toArray(new String[0]);
        Row[] built = new Row[ids.length];
        IntStream.range(0, ids.length).parallel().forEach(i -> {
            Row r = next.get(ids[i]);
            double[] dotMu = new double[probes];
            for (int p = 0; p < probes; p++) {
                int base = p * dim;
                double a = 0;
                for (int k = 0; k < dim; k++) {
                    a += r.form()[base + k] * mu[base + k];
                }
                dotMu[p] = a;
            }
            built[i] = new Row(r.form(), r.norm2(), dotMu);
        });
        for (int i = 0; i < ids.length; i++) {
            withDotMu.put(ids[i], built[i]);
        }
        return new Derived(mu, muNorm, Map.copyOf(withDotMu));
    }

    private double[] norms(float[] form) {
        int dim = set.dim();
        double[] n2 = new double[set.numProbes()];
        for (int p = 0; p < n2.length; p++) {
            double s = 0;
            for (int k = 0; k < dim; k++) {
                double v = form[p * dim + k];
                s += v * v;
            }
            n2[p] = s;
        }
        return n2;
    }

    private static void add(double[] sum, float[] form) {
        for (int i = 0; i < sum.length; i++) {
            sum[i] += form[i];
        }
    }

    private static void subtract(double[] sum, float[] form) {
        for (int i = 0; i < sum.length; i++) {
            sum[i] -= form[i];
        }
    }

    private static double dot(double[] a, double[] b, int from, int length) {
        double s = 0;
        for (int k = from; k < from + length; k++) {
            s += a[k] * b[k];
        }
        return s;
    }
}
