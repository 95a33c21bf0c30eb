package dev.imprint.synth;

import dev.imprint.core.ProbeSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A ready-made detection scenario on one probe set: reference models from several families, and
 * suspects with known ground truth — students distilled from references, a new sibling of a
 * teacher (same family, not distilled) and a model of a family no reference belongs to.
 *
 * <p>Model ids: references {@code <family>-<n>} (n from 1); suspects {@code student-of-<teacher>},
 * {@code sibling-of-<teacher>} and {@code unrelated}. Every model carries the labels
 * {@value #FAMILY}, {@value #ROLE} ({@code reference}, {@code student}, {@code sibling},
 * {@code unrelated}) and {@code provider=synth}; students also {@value #TEACHER}.
 */
public record SynthScenario(ProbeSet probeSet, List<SyntheticModel> references, List<SyntheticModel> suspects) {
    public static final String FAMILY = "family";
    public static final String ROLE = "role";
    public static final String TEACHER = "teacher";

    static final String[] FAMILY_NAMES = {
        "atlas", "borealis", "cirrus", "dune", "ember", "fjord", "granite", "halo",
        "iris", "juniper", "kestrel", "lumen", "meridian", "nimbus", "onyx", "prism"};

    public SynthScenario {
        references = List.copyOf(references);
        suspects = List.copyOf(suspects);
    }

    /** One synthetic model: its id, labels and {@code numProbes × dim} row-major fingerprint. */
    public record SyntheticModel(String modelId, Map<String, String> labels, float[] rows) {
        public SyntheticModel {
            labels = Map.copyOf(labels);
        }

        /** The reference this model was distilled from, if it is a student. */
        public Optional<String> teacher() {
            return Optional.ofNullable(labels.get(TEACHER));
        }
    }

    /**
     * The shape of a scenario.
     *
     * @param families        reference families, 1..{@value #MAX_FAMILIES}
     * @param modelsPerFamily references per family, at least 1
     * @param students        distilled students, each from a different reference (at most
     *                        families × modelsPerFamily)
     * @param beta            how much of its teacher each student absorbed, in [0, 1]
     */
    public record Spec(int families, int modelsPerFamily, int students, double beta) {
        public static final int MAX_FAMILIES = 15;

        public Spec {
            if (families < 1 || families > MAX_FAMILIES) {
                throw new IllegalArgumentException("families=" + families + "; expected 1.." + MAX_FAMILIES);
            }
            if (modelsPerFamily < 1) {
                throw new IllegalArgumentException("models per family=" + modelsPerFamily + "; expected at least 1");
            }
            if (students < 0 || students > families * modelsPerFamily) {
                throw new IllegalArgumentException("students=" + students + "; expected 0.."
                        + families * modelsPerFamily + " (one per reference at most)");
            }
            if (!(beta >= 0 && beta <= 1)) {
                throw new IllegalArgumentException("beta=" + beta + "; expected a value in [0, 1]");
            }
        }

        /** Four families of three references, one student at beta 0.7. */
        public static Spec defaults() {
            return new Spec(4, 3, 1, 0.7);
        }
    }

    /**
     * Generates a scenario. Teachers are picked by the seed, spread over families; the sibling
     * suspect belongs to the first teacher's family; the unrelated suspect to a family that has no
     * reference (the last name of the family list).
     */
    public static SynthScenario generate(ProbeSet set, long seed, Spec spec, SynthParams params) {
        FingerprintSynth synth = new FingerprintSynth(set, seed, params);
        List<SyntheticModel> references = new ArrayList<>();
        List<ModelRecipe> recipes = new ArrayList<>();
        for (int f = 0; f < spec.families(); f++) {
            String family = FAMILY_NAMES[f];
            for (int m = 1; m <= spec.modelsPerFamily(); m++) {
                ModelRecipe.Base recipe = synth.model(family + "-" + m, family);
                recipes.add(recipe);
                references.add(materialise(synth, recipe, family, "reference", null));
            }
        }
        List<SyntheticModel> suspects = new ArrayList<>();
        List<Integer> teachers = pickTeachers(seed, spec);
        for (int t : teachers) {
            ModelRecipe teacher = recipes.get(t);
            String id = "student-of-" + teacher.modelId();
            String ownFamily = "indie-" + teacher.modelId();
            suspects.add(materialise(synth, synth.student(id, teacher, ownFamily, spec.beta()), ownFamily,
                    "student", teacher.modelId()));
        }
        ModelRecipe.Base firstTeacher = (ModelRecipe.Base) recipes.get(teachers.isEmpty() ? 0 : teachers.get(0));
        suspects.add(materialise(synth, synth.model("sibling-of-" + firstTeacher.modelId(), firstTeacher.family()),
                firstTeacher.family(), "sibling", null));
        String outsider = FAMILY_NAMES[FAMILY_NAMES.length - 1];
        suspects.add(materialise(synth, synth.model("unrelated", outsider), outsider, "unrelated", null));
        return new SynthScenario(set, references, suspects);
    }

    /**
     * Distinct reference indices, one per student: families are visited in a seeded order so
     * teachers spread over families before any family gives a second one.
     */
    private static List<Integer> pickTeachers(long seed, Spec spec) {
        SeededNoise noise = new SeededNoise(seed, "teachers");
        int familyOffset = (int) (noise.uniform() * spec.families());
        int memberOffset = (int) (noise.uniform() * spec.modelsPerFamily());
        List<Integer> picked = new ArrayList<>();
        for (int i = 0; i < spec.students(); i++) {
            int family = (familyOffset + i) % spec.families();
            int member = (memberOffset + i / spec.families()) % spec.modelsPerFamily();
            picked.add(family * spec.modelsPerFamily() + member);
        }
        return picked;
    }

    private static SyntheticModel materialise(FingerprintSynth synth, ModelRecipe recipe, String family,
                                              String role, String teacher) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(FAMILY, family);
        labels.put(ROLE, role);
        labels.put("provider", "synth");
        if (teacher != null) {
            labels.put(TEACHER, teacher);
        }
        return new SyntheticModel(recipe.modelId(), labels, synth.fingerprint(recipe));
    }
}
