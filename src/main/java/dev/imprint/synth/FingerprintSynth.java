package dev.imprint.synth;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Generates realistic synthetic fingerprints on one probe set, seeded and deterministic: the same
 * (probe set, seed, params, recipe) always gives the same rows.
 *
 * <p>A base model's output for probe p mixes three components: a <em>world</em> component that
 * every model shares, weighted by the probe's easiness (real models agree on easy probes, so
 * independent models are positively correlated, never orthogonal), a <em>family</em> component
 * shared by models of one family (siblings are the hard negatives), and the model's own
 * <em>idiosyncrasy</em>. DISTRIBUTION rows are {@code softmax(logits / temperature)} over the
 * probe set's dim; EMBEDDING rows are the unit-normalised mixture. Distilled students follow
 * {@link ModelRecipe.Distilled}.
 *
 * <p>Thread-safe; components are generated once and cached (the world is P×D doubles, each family
 * another P×D).
 */
public final class FingerprintSynth {
    /** Easiness u in [0, 1) scales the world component by {@code EASY_FLOOR + EASY_RANGE * u}. */
    private static final double EASY_FLOOR = 0.3;
    private static final double EASY_RANGE = 1.4;

    private final ProbeSet set;
    private final long seed;
    private final SynthParams params;
    private final double[] worldWeight;
    private final double[] world;
    private final Map<String, double[]> families = new ConcurrentHashMap<>();

    public FingerprintSynth(ProbeSet set, long seed, SynthParams params) {
        this.set = set;
        this.seed = seed;
        this.params = params;
        SeededNoise easiness = new SeededNoise(seed, "easiness");
        this.worldWeight = new double[set.numProbes()];
        for (int p = 0; p < worldWeight.length; p++) {
            worldWeight[p] = params.worldScale() * (EASY_FLOOR + EASY_RANGE * easiness.uniform());
        }
        this.world = component("world");
    }

    public ProbeSet probeSet() {
        return set;
    }

    /** The weight of the shared world component on {@code probe}: larger on easier probes. */
    double worldWeight(int probe) {
        return worldWeight[probe];
    }

    /** A base model of {@code family}, its temperature drawn from the seed and its id. */
    public ModelRecipe.Base model(String modelId, String family) {
        double u = new SeededNoise(seed, "temperature:" + modelId).uniform();
        double t = params.minTemperature() + u * (params.maxTemperature() - params.minTemperature());
        return new ModelRecipe.Base(modelId, family, t);
    }

    /**
     * A student distilled from {@code teacher} with weight {@code beta}, whose own knowledge is a
     * base model of {@code ownFamily}.
     */
    public ModelRecipe.Distilled student(String modelId, ModelRecipe teacher, String ownFamily, double beta) {
        return new ModelRecipe.Distilled(modelId, teacher, model(modelId + "/own", ownFamily), beta,
                params.studentNoise());
    }

    /**
     * The model's fingerprint: {@code numProbes × dim} floats, row-major. DISTRIBUTION rows are
     * probability vectors summing to 1; EMBEDDING rows have unit norm.
     */
    public float[] fingerprint(ModelRecipe recipe) {
        double[] signal = signal(recipe);
        float[] rows = new float[signal.length];
        boolean distribution = set.kind() == ProbeSetKind.DISTRIBUTION;
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) (distribution ? Math.exp(signal[i]) : signal[i]);
        }
        return rows;
    }

    /** Log-probabilities (DISTRIBUTION) or unit rows (EMBEDDING), P×D doubles. */
    private double[] signal(ModelRecipe recipe) {
        if (recipe instanceof ModelRecipe.Base base) {
            return base(base);
        }
        ModelRecipe.Distilled student = (ModelRecipe.Distilled) recipe;
        double[] teacher = signal(student.teacher());
        double[] own = base(student.own());
        double[] noise = new SeededNoise(seed, "noise:" + student.modelId()).gaussians(teacher.length);
        double noiseScale = set.kind() == ProbeSetKind.DISTRIBUTION
                ? student.noise() : student.noise() / Math.sqrt(set.dim());
        double[] mixed = new double[teacher.length];
        for (int i = 0; i < mixed.length; i++) {
            mixed[i] = student.beta() * teacher[i] + (1 - student.beta()) * own[i] + noiseScale * noise[i];
        }
        return normaliseRows(mixed, 1.0);
    }

    private double[] base(ModelRecipe.Base model) {
        double[] family = families.computeIfAbsent(model.family(), f -> component("family:" + f));
        double[] own = component("model:" + model.modelId());
        int d = set.dim();
        double[] mixed = new double[own.length];
        for (int p = 0; p < set.numProbes(); p++) {
            double w = worldWeight[p];
            for (int k = p * d; k < (p + 1) * d; k++) {
                mixed[k] = w * world[k] + params.familyScale() * family[k] + params.idiosyncrasyScale() * own[k];
            }
        }
        return normaliseRows(mixed, model.temperature());
    }

    /**
     * Log-softmax of each row divided by {@code temperature} (DISTRIBUTION) or each row scaled to
     * unit norm (EMBEDDING), in place.
     */
    private double[] normaliseRows(double[] x, double temperature) {
        int d = set.dim();
        for (int base = 0; base < x.length; base += d) {
            if (set.kind() == ProbeSetKind.DISTRIBUTION) {
                double max = Double.NEGATIVE_INFINITY;
                for (int k = base; k < base + d; k++) {
                    x[k] /= temperature;
                    max = Math.max(max, x[k]);
                }
                double sum = 0;
                for (int k = base; k < base + d; k++) {
                    sum += Math.exp(x[k] - max);
                }
                double logZ = max + Math.log(sum);
                for (int k = base; k < base + d; k++) {
                    x[k] -= logZ;
                }
            } else {
                double sumSq = 0;
                for (int k = base; k < base + d; k++) {
                    sumSq += x[k] * x[k];
                }
                double inv = 1.0 / Math.sqrt(sumSq);
                for (int k = base; k < base + d; k++) {
                    x[k] *= inv;
                }
            }
        }
        return x;
    }

    /**
     * A P×D Gaussian component: unit variance per logit for DISTRIBUTION, variance 1/dim (so each
     * row has norm about 1) for EMBEDDING.
     */
    private double[] component(String name) {
        double[] values = new SeededNoise(seed, name).gaussians(set.elements());
        if (set.kind() == ProbeSetKind.EMBEDDING) {
            double scale = 1.0 / Math.sqrt(set.dim());
            for (int i = 0; i < values.length; i++) {
                values[i] *= scale;
            }
        }
        return values;
    }
}
