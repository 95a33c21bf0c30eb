package dev.imprint.evaluate;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.Tempering;
import dev.imprint.core.Truncation;
import dev.imprint.synth.FingerprintSynth;
import dev.imprint.synth.ModelRecipe;
import dev.imprint.synth.SynthParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The synthetic evaluation: a panel of {@value #FAMILIES} families × {@value #PER_FAMILY} protected
 * references plus {@value #BACKGROUND} background models, and per seed these conditions, each of
 * {@code perCondition} suspects:
 * <ul>
 *   <li>log-mixture students ({@code log p ∝ β log p_teacher + (1−β) log p_own}) for β from 0.1 to
 *       0.9, each from its own base of an unseen family;
 *   <li>β = 0.5 students whose own base belongs to another reference family (a lab that pretrains,
 *       then distils: it resembles its own family first);
 *   <li>sequence-level KD from n = 10, 100 and 1000 samples per probe: the student's distribution is
 *       the posterior mean {@code (counts + λ p_own) / (n + λ)}, λ = {@value #PRIOR_SAMPLES}, so few
 *       samples leave it mostly itself;
 *   <li>negatives: new siblings of a reference family, students of such a sibling (which is not in
 *       the panel), and models of new families;
 *   <li>stressors applied to β = 0.5 students, siblings and new-family models alike: top-k
 *       truncation at 5 and 20 (the lost mass spread evenly over the other tokens) and sampling
 *       temperature 0.7 and 1.3.
 * </ul>
 * Its students are log-mixtures by construction, the shape a residual method assumes; the real
 * network scenario ({@link RealnetScenarios}) is the check that does not flatter it.
 */
public final class SynthScenarios {
    static final int FAMILIES = 5;
    static final int PER_FAMILY = 3;
    static final int BACKGROUND = 3;
    static final int PROBES = 128;
    static final int DIM = 256;
    static final double PRIOR_SAMPLES = 50;
    static final double[] BETAS = {0.1, 0.2, 0.3, 0.5, 0.7, 0.9};
    static final int[] SAMPLES = {10, 100, 1000};
    static final String NONE = "none";

    private SynthScenarios() {}

    /** The scenario of one seed, on {@value #PROBES} probes. */
    public static Scenario generate(long seed, int perCondition) {
        return generate(seed, perCondition, PROBES);
    }

    /**
     * The scenario of one seed on {@code probes} probes: over more probes the probe-level tests
     * detect smaller systematic leans, which is what the model-level calibration must absorb.
     */
    public static Scenario generate(long seed, int perCondition, int probes) {
        ProbeSet set = new ProbeSet("synth-eval", probes, DIM, ProbeSetKind.DISTRIBUTION,
                ProbeSet.DEFAULT_SMOOTHING_EPSILON, "imprint evaluate, synthetic, seed " + seed);
        FingerprintSynth synth = new FingerprintSynth(set, seed, SynthParams.defaults());
        List<Scenario.Reference> refs = new ArrayList<>();
        List<ModelRecipe.Base> protectedModels = new ArrayList<>();
        for (int f = 0; f < FAMILIES; f++) {
            for (int i = 1; i <= PER_FAMILY; i++) {
                ModelRecipe.Base m = synth.model("fam" + f + "-" + i, "fam" + f);
                protectedModels.add(m);
                refs.add(new Scenario.Reference(m.modelId(), Map.of("family", m.family()), ReferenceRole.PROTECTED,
                        synth.fingerprint(m)));
            }
        }
        for (int b = 0; b < BACKGROUND; b++) {
            ModelRecipe.Base m = synth.model("bg-" + b, "bg-" + b);
            refs.add(new Scenario.Reference(m.modelId(), Map.of(), ReferenceRole.BACKGROUND, synth.fingerprint(m)));
        }

        Generator g = new Generator(synth, seed, protectedModels);
        List<LabelledSuspect> suspects = new ArrayList<>();
        for (double beta : BETAS) {
            String condition = String.format(Locale.ROOT, "mixture beta=%.1f", beta);
            for (int k = 0; k < perCondition; k++) {
                suspects.add(g.student(condition, NONE, k, beta, g.unseenFamily(condition, k)));
            }
        }
        for (int k = 0; k < perCondition; k++) {
            ModelRecipe.Base teacher = g.teacher(k);
            String other = "fam" + ((Integer.parseInt(teacher.family().substring(3)) + 1 + k % (FAMILIES - 1))
                    % FAMILIES);
            suspects.add(g.student("own base of a reference family, beta=0.5", NONE, k, 0.5, other));
        }
        for (int n : SAMPLES) {
            for (int k = 0; k < perCondition; k++) {
                suspects.add(g.sequenceStudent("sequence KD n=" + n, k, n));
            }
        }
        addNegatives(g, suspects, NONE, perCondition, true);
        for (String stress : List.of("top-20", "top-5", "T=0.7", "T=1.3")) {
            for (int k = 0; k < perCondition; k++) {
                suspects.add(stressed(g.student("mixture beta=0.5 " + stress, stress, k, 0.5,
                        g.unseenFamily(stress, k)), stress, DIM));
            }
            List<LabelledSuspect> negatives = new ArrayList<>();
            addNegatives(g, negatives, stress, perCondition, false);
            negatives.forEach(s -> suspects.add(stressed(s, stress, DIM)));
        }
        return new Scenario("synth seed " + seed, set, refs, suspects);
    }

    private static void addNegatives(Generator g, List<LabelledSuspect> into, String stress, int perCondition,
                                     boolean studentsOfSiblings) {
        String suffix = stress.equals(NONE) ? "" : " " + stress;
        for (int k = 0; k < perCondition; k++) {
            into.add(g.sibling("sibling" + suffix, stress, k));
        }
        if (studentsOfSiblings) {
            for (int k = 0; k < perCondition; k++) {
                into.add(g.studentOfSibling("student of a non-reference sibling" + suffix, stress, k));
            }
        }
        for (int k = 0; k < perCondition; k++) {
            into.add(g.independent("new family" + suffix, stress, k));
        }
    }

    /** The suspect as an API with that limitation would report it. */
    static LabelledSuspect stressed(LabelledSuspect s, String stress, int dim) {
        float[] rows = s.rows().clone();
        for (int base = 0; base < rows.length; base += dim) {
            if (stress.startsWith("top-")) {
                Truncation.apply(rows, base, dim, Integer.parseInt(stress.substring(4)));
            } else if (stress.startsWith("T=")) {
                Tempering.apply(rows, base, dim, Double.parseDouble(stress.substring(2)));
            }
        }
        return new LabelledSuspect(s.id(), s.condition(), stress, rows, s.truth(), s.teacher(), s.family());
    }


    /** Makes the suspects of one seed; ids are unique within it. */
    private static final class Generator {
        private final FingerprintSynth synth;
        private final long seed;
        private final List<ModelRecipe.Base> teachers;
        private int serial;

        Generator(FingerprintSynth synth, long seed, List<ModelRecipe.Base> teachers) {
            this.synth = synth;
            this.seed = seed;
            this.teachers = teachers;
        }

        ModelRecipe.Base teacher(int k) {
            // Spread over every reference, not only the first of each family.
            return teachers.get((int) Math.floorMod(7L * k + 3 * seed + serial, (long) teachers.size()));
        }

        String unseenFamily(String condition, int k) {
            return "unseen-" + condition + "-" + k;
        }

        private String id(String what) {
            return String.format(Locale.ROOT, "s%d-%04d-%s", seed, serial++, what);
        }

        LabelledSuspect student(String condition, String stress, int k, double beta, String ownFamily) {
            ModelRecipe.Base teacher = teacher(k);
            String id = id("student-of-" + teacher.modelId());
            ModelRecipe.Distilled s = synth.student(id, teacher, ownFamily, beta);
            return new LabelledSuspect(id, condition, stress, synth.fingerprint(s), Truth.DISTILLED,
                    teacher.modelId(), teacher.family());
        }

        LabelledSuspect sequenceStudent(String condition, int k, int samples) {
            ModelRecipe.Base teacher = teacher(k);
            String id = id("seqkd-of-" + teacher.modelId());
            float[] t = synth.fingerprint(teacher);
            float[] own = synth.fingerprint(synth.model(id + "/own", unseenFamily(condition, k)));
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L ^ id.hashCode());
            int dim = DIM;
            float[] rows = new float[t.length];
            double[] cumulative = new double[dim];
            for (int base = 0; base < t.length; base += dim) {
                double c = 0;
                for (int i = 0; i < dim; i++) {
                    c += t[base + i];
                    cumulative[i] = c;
                }
                int[] counts = new int[dim];
                for (int n = 0; n < samples; n++) {
                    int i = Arrays.binarySearch(cumulative, random.nextDouble() * c);
                    counts[Math.min(dim - 1, i >= 0 ? i : -i - 1)]++;
                }
                for (int i = 0; i < dim; i++) {
                    rows[base + i] = (float) ((counts[i] + PRIOR_SAMPLES * own[base + i]) / (samples + PRIOR_SAMPLES));
                }
            }
            return new LabelledSuspect(id, condition, NONE, rows, Truth.DISTILLED, teacher.modelId(),
                    teacher.family());
        }

        LabelledSuspect sibling(String condition, String stress, int k) {
            String family = "fam" + Math.floorMod(k + seed, FAMILIES);
            String id = id("new-" + family);
            return new LabelledSuspect(id, condition, stress, synth.fingerprint(synth.model(id, family)),
                    Truth.SHARES_A_BASE, null, family);
        }

        LabelledSuspect studentOfSibling(String condition, String stress, int k) {
            String family = "fam" + Math.floorMod(k + seed + 2, FAMILIES);
            String id = id("student-of-new-" + family);
            ModelRecipe.Base outside = synth.model(id + "/teacher", family);
            ModelRecipe.Distilled s = synth.student(id, outside, unseenFamily(condition, k), 0.5);
            return new LabelledSuspect(id, condition, stress, synth.fingerprint(s), Truth.SHARES_A_BASE, null,
                    family);
        }

        LabelledSuspect independent(String condition, String stress, int k) {
            String id = id("unrelated");
            return new LabelledSuspect(id, condition, stress,
                    synth.fingerprint(synth.model(id, unseenFamily(condition, k))), Truth.INDEPENDENT, null, null);
        }
    }
}
