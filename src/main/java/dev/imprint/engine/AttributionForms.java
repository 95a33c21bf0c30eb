package dev.imprint.engine;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The forms attribution compares, for every reference of one probe set, and the population and
 * family means they are centred on: an immutable snapshot, replaced whole by each put and delete
 * so a score sees the state before a write or after it, never between.
 *
 * <p><b>The form of a row.</b> DISTRIBUTION: the centred log of the smoothed row,
 * {@code ln x~ - mean(ln x~)} (its centred log-ratio, so a model's distribution and any power of it
 * differ only in scale); EMBEDDING: the unit row. Each probe is treated on its own.
 *
 * <p><b>Residuals.</b> With μ the mean form over every reference of the set (the population
 * consensus) and P⊥ the projection that removes the component along μ:
 * <ul>
 *   <li>a suspect's residual is {@code z_s = P⊥ s'}: the consensus regressed out, which also absorbs
 *       a global temperature;
 *   <li>a reference's residual is {@code z_r = P⊥ (r' - c_r)}, with c_r the mean form of its family
 *       (the references sharing its {@code family} label) when the family has two or more members,
 *       else 0. What is left is the model's own idiosyncrasy: what its siblings share is gone.
 * </ul>
 * The per-probe similarity is {@code cos(z_s, z_r)}. Because z_s ⟂ μ,
 * {@code z_s·z_r = z_s·r' - z_s·c_r}: the backend computes the products {@code z_s·r'} against
 * the resident forms, and the rest are per-probe scalars kept here. A family's similarity, for the
 * family test, is {@code cos(z_s, P⊥ m_F)}.
 *
 * <p><b>Update cost.</b> A put or delete adds or subtracts one reference's form to the population
 * and family sums (O(P·D)), recomputes every reference's dot product with the new μ (O(M·P·D), on
 * all cores) and its family members' products with the new family mean. Host memory: one float
 * copy of every form, plus a double sum per family.
 */
final class AttributionForms {
    /** Per reference: its form and the scalars derived from it. */
    record Row(float[] form, String family, double[] norm2, double[] dotMu, double[] dotCentre) {
    }

    /** Per family label: the sum of its members' forms and its mean's scalars. */
    record Family(double[] sum, int count, double[] meanNorm2, double[] meanDotMu) {
        double mean(int at) {
            return sum[at] / count;
        }
    }

    private final ProbeSet set;
    private final Map<String, Row> rows;
    private final Map<String, Family> families;
    /** Sum of every reference's form, P×D. */
    private final double[] populationSum;
    /** μ, the mean form, P×D: kept so scoring reads it without dividing per element. */
    private final double[] mu;
    /** |μ_p|², per probe. */
    private final double[] muNorm2;

    private AttributionForms(ProbeSet set, Map<String, Row> rows, Map<String, Family> families,
                             double[] populationSum, double[] mu, double[] muNorm2) {
        this.set = set;
        this.rows = rows;
        this.families = families;
        this.populationSum = populationSum;
        this.mu = mu;
        this.muNorm2 = muNorm2;
    }

    static AttributionForms empty(ProbeSet set) {
        return new AttributionForms(set, Map.of(), Map.of(), new double[set.elements()], new double[set.elements()],
                new double[set.numProbes()]);
    }

    ProbeSet set() {
        return set;
    }

    int size() {
        return rows.size();
    }

    Row row(String modelId) {
        return rows.get(modelId);
    }

    Family family(String label) {
        return families.get(label);
    }

    /** μ at element {@code at} (probe-major, p·D + k). */
    double mu(int at) {
        return mu[at];
    }

    double muNorm2(int probe) {
        return muNorm2[probe];
    }

    /** The centre c_r of {@code row}: its family's mean when the family has two or more members, else none. */
    Family centreOf(Row row) {
        if (row.family() == null) {
            return null;
        }
        Family f = families.get(row.family());
        return f != null && f.count() >= 2 ? f : null;
    }

    /** The form of a P×D or N×D row block of this set's kind, float, row-major. */
    static float[] formOf(ProbeSet set, float[] values, int rowCount) {
        int dim = set.dim();
        float[] form = new float[rowCount * dim];
        double eps = set.smoothingEpsilon();
        double scale = 1 + dim * eps;
        for (int p = 0; p < rowCount; p++) {
            int base = p * dim;
            if (set.kind() == ProbeSetKind.DISTRIBUTION) {
                double[] logs = new double[dim];
                double mean = 0;
                for (int k = 0; k < dim; k++) {
                    logs[k] = Math.log((values[base + k] + eps) / scale);
                    mean += logs[k];
                }
                mean /= dim;
                for (int k = 0; k < dim; k++) {
                    form[base + k] = (float) (logs[k] - mean);
                }
            } else {
                double sumSq = 0;
                for (int k = 0; k < dim; k++) {
                    sumSq += (double) values[base + k] * values[base + k];
                }
                double inv = 1 / Math.sqrt(sumSq);
                for (int k = 0; k < dim; k++) {
                    form[base + k] = (float) (values[base + k] * inv);
                }
            }
        }
        return form;
    }

    /** One reference's form as {@link #of} takes it. */
    record Input(String modelId, float[] form, String family) {
    }

    /** The snapshot holding exactly {@code inputs}, derived once (what loading a data directory needs). */
    static AttributionForms of(ProbeSet set, java.util.List<Input> inputs) {
        Map<String, Row> rows = new HashMap<>();
        Map<String, Family> families = new HashMap<>();
        double[] sum = new double[set.elements()];
        AttributionForms empty = empty(set);
        for (Input in : inputs) {
            rows.put(in.modelId(), new Row(in.form(), in.family(), empty.norms(in.form()), null, null));
            add(sum, in.form());
            if (in.family() != null) {
                Family f = families.get(in.family());
                double[] fs = f == null ? new double[set.elements()] : f.sum();
                add(fs, in.form());
                families.put(in.family(), new Family(fs, (f == null ? 0 : f.count()) + 1, null, null));
            }
        }
        return empty.derive(rows, families, sum);
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

    /** This snapshot with {@code modelId} added or replaced by {@code form}, in {@code family} (null for none). */
    AttributionForms with(String modelId, float[] form, String family) {
        Map<String, Row> next = new HashMap<>(rows);
        Map<String, Family> nextFamilies = new HashMap<>(families);
        double[] sum = populationSum.clone();
        Row old = next.remove(modelId);
        if (old != null) {
            subtract(sum, old.form());
            leave(nextFamilies, old);
        }
        add(sum, form);
        next.put(modelId, new Row(form, family, norms(form), null, null));
        if (family != null) {
            Family f = nextFamilies.get(family);
            double[] fs = f == null ? new double[set.elements()] : f.sum().clone();
            add(fs, form);
            nextFamilies.put(family, new Family(fs, (f == null ? 0 : f.count()) + 1, null, null));
        }
        return derive(next, nextFamilies, sum);
    }

    /** This snapshot without {@code modelId}; itself if absent. */
    AttributionForms without(String modelId) {
        Row old = rows.get(modelId);
        if (old == null) {
            return this;
        }
        Map<String, Row> next = new HashMap<>(rows);
        Map<String, Family> nextFamilies = new HashMap<>(families);
        double[] sum = populationSum.clone();
        next.remove(modelId);
        subtract(sum, old.form());
        leave(nextFamilies, old);
        return derive(next, nextFamilies, sum);
    }

    private void leave(Map<String, Family> families, Row row) {
        if (row.family() == null) {
            return;
        }
        Family f = families.get(row.family());
        if (f.count() == 1) {
            families.remove(row.family());
        } else {
            double[] fs = f.sum().clone();
            subtract(fs, row.form());
            families.put(row.family(), new Family(fs, f.count() - 1, null, null));
        }
    }

    /** Recomputes every scalar that depends on the means. */
    private AttributionForms derive(Map<String, Row> next, Map<String, Family> nextFamilies, double[] sum) {
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
        Map<String, Family> families = new HashMap<>();
        nextFamilies.forEach((label, f) -> {
            double[] mean = new double[f.sum().length];
            for (int i = 0; i < mean.length; i++) {
                mean[i] = f.sum()[i] / f.count();
            }
            double[] n2 = new double[probes];
            double[] dm = new double[probes];
            for (int p = 0; p < probes; p++) {
                n2[p] = dot(mean, mean, p * dim, dim);
                dm[p] = dot(mean, mu, p * dim, dim);
            }
            families.put(label, new Family(f.sum(), f.count(), n2, dm));
        });
        Map<String, Row> derived = new HashMap<>();
        String[] ids = next.keySet().toArray(new String[0]);
        Row[] built = new Row[ids.length];
        IntStream.range(0, ids.length).parallel().forEach(i -> {
            Row r = next.get(ids[i]);
            Family f = r.family() == null ? null : families.get(r.family());
            boolean centred = f != null && f.count() >= 2;
            double[] dotMu = new double[probes];
            double[] dotCentre = new double[probes];
            for (int p = 0; p < probes; p++) {
                int base = p * dim;
                double a = 0;
                double c = 0;
                for (int k = 0; k < dim; k++) {
                    a += r.form()[base + k] * mu[base + k];
                    if (centred) {
                        c += r.form()[base + k] * f.sum()[base + k];
                    }
                }
                dotMu[p] = a;
                dotCentre[p] = centred ? c / f.count() : 0;
            }
            built[i] = new Row(r.form(), r.family(), r.norm2(), dotMu, dotCentre);
        });
        for (int i = 0; i < ids.length; i++) {
            derived.put(ids[i], built[i]);
        }
        return new AttributionForms(set, Map.copyOf(derived), Map.copyOf(families), sum, mu, muNorm);
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
