package dev.imprint.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.RowValidator;
import dev.imprint.synth.SynthScenario.SyntheticModel;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.ToDoubleBiFunction;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class FingerprintSynthTest {
    private static final ProbeSet DISTRIBUTION = ProbeSet.fromRequest("dist", 48, 256, ProbeSetKind.DISTRIBUTION, 0, "");
    private static final ProbeSet EMBEDDING = ProbeSet.fromRequest("emb", 48, 96, ProbeSetKind.EMBEDDING, 0, "");

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6})
    void studentsTeacherRanksFirstAheadOfItsSiblingsUnderKlRefSuspect(long seed) {
        SynthScenario scenario = SynthScenario.generate(DISTRIBUTION, seed, new SynthScenario.Spec(4, 3, 3, 0.6),
                SynthParams.defaults());
        double eps = DISTRIBUTION.smoothingEpsilon();
        assertTeachersRankFirst(scenario, (ref, sus) -> Float64Metrics.klRefSuspect(ref, sus, DISTRIBUTION.dim(), eps));
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6})
    void studentsTeacherRanksFirstAheadOfItsSiblingsUnderCosine(long seed) {
        SynthScenario scenario = SynthScenario.generate(EMBEDDING, seed, new SynthScenario.Spec(4, 3, 3, 0.6),
                SynthParams.defaults());
        assertTeachersRankFirst(scenario, (ref, sus) -> -Float64Metrics.cosine(ref, sus, EMBEDDING.dim()));
    }

    @ParameterizedTest
    @EnumSource(ProbeSetKind.class)
    void independentModelsOfDifferentFamiliesAreClearlyCorrelated(ProbeSetKind kind) {
        ProbeSet set = kind == ProbeSetKind.DISTRIBUTION ? DISTRIBUTION : EMBEDDING;
        FingerprintSynth synth = new FingerprintSynth(set, 11, SynthParams.defaults());
        float[] a = synth.fingerprint(synth.model("a-1", "a"));
        float[] b = synth.fingerprint(synth.model("b-1", "b"));
        // Orthogonal (independent random) models would agree on the argmax of 1 probe in dim.
        double agreement = Float64Metrics.top1Agreement(a, b, set.dim());
        assertTrue(agreement > 10.0 / set.dim(), "top-1 agreement " + agreement);
        if (kind == ProbeSetKind.EMBEDDING) {
            double cosine = Float64Metrics.cosine(a, b, set.dim());
            assertTrue(cosine > 0.3, "cosine of independent embeddings " + cosine);
        }
    }

    @Test
    void independentModelsAgreeMoreOnEasyProbesThanOnHardOnes() {
        FingerprintSynth synth = new FingerprintSynth(DISTRIBUTION, 5, SynthParams.defaults());
        Integer[] byEase = new Integer[DISTRIBUTION.numProbes()];
        Arrays.setAll(byEase, p -> p);
        Arrays.sort(byEase, Comparator.comparingDouble(synth::worldWeight));
        int quarter = byEase.length / 4;
        double hard = 0;
        double easy = 0;
        for (int m = 0; m < 6; m++) {
            float[] x = synth.fingerprint(synth.model("x-" + m, "fx" + m));
            float[] y = synth.fingerprint(synth.model("y-" + m, "fy" + m));
            for (int i = 0; i < quarter; i++) {
                hard += rowCosine(x, y, byEase[i], DISTRIBUTION.dim());
                easy += rowCosine(x, y, byEase[byEase.length - 1 - i], DISTRIBUTION.dim());
            }
        }
        assertTrue(easy > 1.5 * hard, "easy-probe cosine sum " + easy + " vs hard " + hard);
    }

    @ParameterizedTest
    @EnumSource(ProbeSetKind.class)
    void siblingsAreCloserToEachOtherThanToOtherFamilies(ProbeSetKind kind) {
        ProbeSet set = kind == ProbeSetKind.DISTRIBUTION ? DISTRIBUTION : EMBEDDING;
        SynthScenario scenario = SynthScenario.generate(set, 3, new SynthScenario.Spec(3, 3, 0, 0.7),
                SynthParams.defaults());
        List<SyntheticModel> refs = scenario.references();
        double within = 0;
        double across = 0;
        int nWithin = 0;
        int nAcross = 0;
        for (int i = 0; i < refs.size(); i++) {
            for (int j = i + 1; j < refs.size(); j++) {
                double c = Float64Metrics.cosine(refs.get(i).rows(), refs.get(j).rows(), set.dim());
                if (family(refs.get(i)).equals(family(refs.get(j)))) {
                    within += c;
                    nWithin++;
                } else {
                    across += c;
                    nAcross++;
                }
            }
        }
        assertTrue(within / nWithin > across / nAcross + 0.1,
                "mean cosine within families " + within / nWithin + ", across " + across / nAcross);
    }

    @ParameterizedTest
    @EnumSource(ProbeSetKind.class)
    void fingerprintsPassTheirProbeSetsRowValidation(ProbeSetKind kind) {
        ProbeSet set = kind == ProbeSetKind.DISTRIBUTION ? DISTRIBUTION : EMBEDDING;
        SynthScenario scenario = SynthScenario.generate(set, 8, SynthScenario.Spec.defaults(), SynthParams.defaults());
        for (SyntheticModel model : concat(scenario)) {
            assertEquals(set.elements(), model.rows().length, model.modelId());
            RowValidator.validate(set, model.modelId(), model.rows(), 0, set.numProbes(), 0);
            if (kind == ProbeSetKind.EMBEDDING) {
                assertEquals(1.0, Math.sqrt(rowDot(model.rows(), model.rows(), 0, set.dim())), 1e-5);
            }
        }
    }

    @Test
    void sameSeedGivesIdenticalScenariosAndAnotherSeedDoesNot() {
        SynthScenario a = SynthScenario.generate(DISTRIBUTION, 21, SynthScenario.Spec.defaults(), SynthParams.defaults());
        SynthScenario b = SynthScenario.generate(DISTRIBUTION, 21, SynthScenario.Spec.defaults(), SynthParams.defaults());
        SynthScenario c = SynthScenario.generate(DISTRIBUTION, 22, SynthScenario.Spec.defaults(), SynthParams.defaults());
        List<SyntheticModel> all = concat(a);
        List<SyntheticModel> again = concat(b);
        assertEquals(all.size(), again.size());
        for (int i = 0; i < all.size(); i++) {
            assertEquals(all.get(i).modelId(), again.get(i).modelId());
            assertEquals(all.get(i).labels(), again.get(i).labels());
            assertArrayEquals(all.get(i).rows(), again.get(i).rows());
        }
        assertFalse(Arrays.equals(a.references().get(0).rows(), c.references().get(0).rows()));
    }

    @Test
    void higherTemperatureFlattensADistribution() {
        FingerprintSynth synth = new FingerprintSynth(DISTRIBUTION, 4, SynthParams.defaults());
        float[] cold = synth.fingerprint(new ModelRecipe.Base("m", "f", 0.5));
        float[] hot = synth.fingerprint(new ModelRecipe.Base("m", "f", 2.0));
        assertTrue(entropy(hot, DISTRIBUTION.dim()) > entropy(cold, DISTRIBUTION.dim()) + 0.5);
    }

    @Test
    void scenarioLabelsNameEachSuspectsRoleAndTeacher() {
        SynthScenario scenario = SynthScenario.generate(EMBEDDING, 2, new SynthScenario.Spec(4, 2, 2, 0.7),
                SynthParams.defaults());
        Map<String, Long> roles = scenario.suspects().stream()
                .collect(Collectors.groupingBy(s -> s.labels().get(SynthScenario.ROLE), Collectors.counting()));
        assertEquals(Map.of("student", 2L, "sibling", 1L, "unrelated", 1L), roles);
        List<String> referenceIds = scenario.references().stream().map(SyntheticModel::modelId).toList();
        for (SyntheticModel suspect : scenario.suspects()) {
            suspect.teacher().ifPresent(t -> assertTrue(referenceIds.contains(t), t));
            assertFalse(referenceIds.contains(suspect.modelId()));
        }
        assertEquals(2, scenario.suspects().stream().map(SyntheticModel::teacher).flatMap(Optional::stream)
                .distinct().count());
    }

    /** Ranks references by {@code distance} (smaller is closer) and checks each student's teacher is first. */
    private static void assertTeachersRankFirst(SynthScenario scenario, ToDoubleBiFunction<float[], float[]> distance) {
        int students = 0;
        for (SyntheticModel suspect : scenario.suspects()) {
            if (suspect.teacher().isEmpty()) {
                continue;
            }
            students++;
            List<SyntheticModel> ranked = scenario.references().stream()
                    .sorted(Comparator.comparingDouble(r -> distance.applyAsDouble(r.rows(), suspect.rows())))
                    .toList();
            String teacher = suspect.teacher().get();
            assertEquals(teacher, ranked.get(0).modelId(), "closest reference to " + suspect.modelId());
            SyntheticModel teacherModel = ranked.get(0);
            long siblings = scenario.references().stream()
                    .filter(r -> family(r).equals(family(teacherModel)) && !r.modelId().equals(teacher)).count();
            assertTrue(siblings > 0, "the scenario gives the teacher siblings to beat");
        }
        assertEquals(3, students);
    }

    private static String family(SyntheticModel model) {
        return model.labels().get(SynthScenario.FAMILY);
    }

    private static List<SyntheticModel> concat(SynthScenario scenario) {
        return java.util.stream.Stream.concat(scenario.references().stream(), scenario.suspects().stream()).toList();
    }

    private static double rowCosine(float[] x, float[] y, int probe, int dim) {
        return rowDot(x, y, probe, dim) / Math.sqrt(rowDot(x, x, probe, dim) * rowDot(y, y, probe, dim));
    }

    private static double rowDot(float[] x, float[] y, int probe, int dim) {
        double dot = 0;
        for (int k = probe * dim; k < (probe + 1) * dim; k++) {
            dot += (double) x[k] * y[k];
        }
        return dot;
    }

    private static double entropy(float[] rows, int dim) {
        double h = 0;
        for (float p : rows) {
            if (p > 0) {
                h -= p * Math.log(p);
            }
        }
        return h / (rows.length / dim);
    }
}
