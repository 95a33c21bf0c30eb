package dev.imprint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.Attribution;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Tempering;
import dev.imprint.core.Truncation;
import dev.imprint.core.Suspect;
import dev.imprint.core.Verdict;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.testing.LogLinearModels;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Verdicts end to end through the engine on the CPU backend, on log-linear synthetic models:
 * logits = consensus + family offset + own idiosyncrasy, per probe.
 */
class AttributionTest {
    private static final int P = 96;
    private static final int D = 32;
    private static final ProbeSet SET = new ProbeSet("attr", P, D, ProbeSetKind.DISTRIBUTION, 1e-6, "");

    @TempDir
    Path dataDir;

    private final LogLinearModels gen = new LogLinearModels(P, D, 2026);
    private final double[][] family = {gen.gaussian(1.0), gen.gaussian(1.0), gen.gaussian(1.0)};

    private double[] gaussian(double scale) {
        return gen.gaussian(scale);
    }

    private double[] model(double[] familyOffset) {
        return gen.model(familyOffset);
    }

    private static double[] mix(double[] a, double[] b, double beta) {
        return LogLinearModels.mix(a, b, beta);
    }

    private float[] softmax(double[] logits) {
        return gen.softmax(logits);
    }

    private final double[][] references = new double[9][];

    private ImprintEngine panel() {
        ImprintEngine engine = ImprintEngine.open(ArrowFingerprintStore.open(dataDir),
                new SelectedBackend(new CpuBackend(2), "test"));
        engine.createProbeSet(SET);
        for (int i = 0; i < 9; i++) {
            references[i] = model(family[i / 3]);
            engine.putReference(SET.id(), "m" + i, Map.of("family", "f" + i / 3), softmax(references[i]), false);
        }
        for (int b = 0; b < 2; b++) {
            engine.putReference(SET.id(), "bg" + b, Map.of(), ReferenceRole.BACKGROUND,
                    softmax(model(gaussian(1.0))), false);
        }
        return engine;
    }

    private static ScoreResult attribute(ImprintEngine engine, float[] suspect) {
        ScoreQuery query = ScoreQuery.defaults(SET).withTopK(5).withAttribution(0.01);
        return engine.score(SET, Suspect.of(SET, P, D, suspect, new int[0]), query);
    }

    @Test
    void aStudentFromItsOwnBaseIsDistilledFromItsTeacherNotASibling() {
        try (ImprintEngine engine = panel()) {
            double[] ownBase = model(gaussian(1.0));
            ScoreResult r = attribute(engine, softmax(mix(references[4], ownBase, 0.5)));
            Attribution a = r.attribution();
            assertEquals(Verdict.DISTILLED_FROM, a.verdict(), a.reason());
            assertEquals("m4", a.modelId());
            assertEquals("f1", a.family());
            assertTrue(a.pValue() <= 0.01 && a.effectSize() > 0);
            assertEquals(P, a.probesUsed());
            assertEquals("m4", a.evidence().get(0).modelId());
            Match teacher = r.matches().stream().filter(m -> m.modelId().equals("m4")).findFirst().orElseThrow();
            assertEquals(a.pValue(), teacher.pValue(), 1e-15);
        }
    }

    @Test
    void aNewFineTuneOfAFamilysBaseIsSameFamilyAndAnUnrelatedModelIsIndependent() {
        try (ImprintEngine engine = panel()) {
            Attribution sibling = attribute(engine, softmax(model(family[2]))).attribution();
            assertEquals(Verdict.SAME_FAMILY, sibling.verdict(), sibling.reason());
            assertEquals("f2", sibling.family());
            Attribution unrelated = attribute(engine, softmax(model(gaussian(1.0)))).attribution();
            assertEquals(Verdict.INDEPENDENT, unrelated.verdict(), unrelated.reason());
        }
    }

    @Test
    void independentSuspectsAreCalledDistilledNoMoreOftenThanAlpha() {
        try (ImprintEngine engine = panel()) {
            int distilled = 0;
            int trials = 60;
            for (int t = 0; t < trials; t++) {
                double[] base = t % 2 == 0 ? model(gaussian(1.0)) : model(family[t % 3]);
                if (attribute(engine, softmax(base)).attribution().verdict() == Verdict.DISTILLED_FROM) {
                    distilled++;
                }
            }
            // At alpha=0.01 the expected count is under 1; 3 or more has probability below 2% if calibrated.
            assertTrue(distilled <= 2, distilled + " of " + trials + " independent suspects called distilled");
        }
    }

    /** The rows top-k truncated on every probe, the lost mass spread evenly. */
    private static float[] topK(float[] rows, int k) {
        float[] out = rows.clone();
        for (int p = 0; p < P; p++) {
            Truncation.apply(out, p * D, D, k);
        }
        return out;
    }

    private static float[] tempered(float[] rows, double t) {
        float[] out = rows.clone();
        for (int p = 0; p < P; p++) {
            Tempering.apply(out, p * D, D, t);
        }
        return out;
    }

    @Test
    void aTopKStudentIsFoundInTheWeightedFormAndTopKSiblingsAreNotCalledDistilled() {
        try (ImprintEngine engine = panel()) {
            Attribution student = attribute(engine, topK(softmax(mix(references[4], model(gaussian(1.0)), 0.5)), 5))
                    .attribution();
            assertEquals(Verdict.DISTILLED_FROM, student.verdict(), student.reason());
            assertEquals("m4", student.modelId());
            assertEquals("ridge_coefficient_weighted", student.statistic());
            int distilled = 0;
            for (int t = 0; t < 20; t++) {
                Attribution sibling = attribute(engine, topK(softmax(model(family[t % 3])), t % 2 == 0 ? 5 : 3))
                        .attribution();
                assertEquals("ridge_coefficient_weighted", sibling.statistic());
                distilled += sibling.verdict() == Verdict.DISTILLED_FROM ? 1 : 0;
            }
            // At alpha=0.01 the expected count is 0.2; 2 or more has probability under 2% if calibrated.
            assertTrue(distilled <= 1, distilled + " of 20 truncated siblings called distilled");
        }
    }

    @Test
    void temperatureNeitherHidesAStudentNorMakesASiblingLookDistilled() {
        try (ImprintEngine engine = panel()) {
            for (double t : new double[] {0.7, 1.4}) {
                Attribution student = attribute(engine, tempered(softmax(mix(references[7], model(gaussian(1.0)),
                        0.5)), t)).attribution();
                assertEquals(Verdict.DISTILLED_FROM, student.verdict(), "t=" + t + ": " + student.reason());
                assertEquals("m7", student.modelId());
                assertEquals("ridge_coefficient", student.statistic());
                Attribution truncated = attribute(engine, topK(tempered(softmax(mix(references[7],
                        model(gaussian(1.0)), 0.5)), t), 8)).attribution();
                assertEquals(Verdict.DISTILLED_FROM, truncated.verdict(), "top-8, t=" + t + ": " + truncated.reason());
                int distilled = 0;
                for (int i = 0; i < 10; i++) {
                    float[] sibling = tempered(softmax(model(family[i % 3])), t);
                    distilled += attribute(engine, sibling).attribution().verdict() == Verdict.DISTILLED_FROM ? 1 : 0;
                    distilled += attribute(engine, topK(sibling, 8)).attribution().verdict() == Verdict.DISTILLED_FROM
                            ? 1 : 0;
                }
                assertTrue(distilled <= 1, "t=" + t + ": " + distilled + " of 20 tempered siblings called distilled");
            }
        }
    }

    @Test
    void formsKeptCurrentThroughPutsAndDeletesEqualFormsDerivedAfreshOnLoad() {
        float[] suspect;
        Attribution live;
        try (ImprintEngine engine = panel()) {
            engine.putReference(SET.id(), "m1", Map.of("family", "f2"), softmax(model(family[2])), true);
            engine.deleteReference(SET.id(), "m7");
            engine.deleteReference(SET.id(), "bg0");
            suspect = softmax(mix(references[0], model(gaussian(1.0)), 0.4));
            live = attribute(engine, suspect).attribution();
        }
        try (ImprintEngine reopened = ImprintEngine.open(ArrowFingerprintStore.open(dataDir),
                new SelectedBackend(new CpuBackend(2), "test"))) {
            assertEquals(ReferenceRole.BACKGROUND, reopened.getReference(SET.id(), "bg1").role());
            Attribution loaded = attribute(reopened, suspect).attribution();
            assertEquals(live.verdict(), loaded.verdict());
            assertEquals(live.modelId(), loaded.modelId());
            assertEquals(live.pValue(), loaded.pValue(), 1e-9 + 1e-6 * live.pValue());
        }
    }

    @Test
    void tooFewReferencesOrProbesIsInconclusiveWithItsReason() {
        try (ImprintEngine engine = panel()) {
            float[] student = softmax(mix(references[4], model(gaussian(1.0)), 0.5));
            ScoreQuery two = ScoreQuery.resolve(SET, java.util.Set.of(), null, 0, java.util.List.of("m3", "m4"),
                    Map.of(), false).withAttribution(0.01);
            Attribution a = engine.score(SET, Suspect.of(SET, P, D, student, new int[0]), two).attribution();
            assertEquals(Verdict.INCONCLUSIVE, a.verdict());
            assertTrue(a.reason().contains("at least 3"), a.reason());

            int[] few = {0, 1, 2, 3};
            float[] rows = new float[few.length * D];
            System.arraycopy(student, 0, rows, 0, rows.length);
            Attribution handful = engine.score(SET, Suspect.of(SET, few.length, D, rows, few),
                    ScoreQuery.defaults(SET).withAttribution(0.01)).attribution();
            assertEquals(Verdict.INCONCLUSIVE, handful.verdict());
            assertTrue(handful.reason().contains("only 4 probes"), handful.reason());
        }
    }

    @Test
    void aPanelTooLargeToRegressIsInconclusiveAndSaysHowManyToSelect() {
        ProbeSet wide = new ProbeSet("wide", 128, 2, ProbeSetKind.DISTRIBUTION, 1e-6, "");
        // 363^2 * 128 probes just exceeds the 2^24 entries a panel's regression may hold.
        int m = 363;
        java.util.Random rng = new java.util.Random(9);
        try (ImprintEngine engine = ImprintEngine.open(ArrowFingerprintStore.open(dataDir),
                new SelectedBackend(new CpuBackend(2), "test"))) {
            engine.createProbeSet(wide);
            for (int i = 0; i < m; i++) {
                float[] rows = new float[128 * 2];
                for (int p = 0; p < 128; p++) {
                    rows[2 * p] = 0.1f + 0.8f * rng.nextFloat();
                    rows[2 * p + 1] = 1 - rows[2 * p];
                }
                engine.putReference(wide.id(), "r" + i, Map.of("family", "f" + i % 40), rows, false);
            }
            float[] suspect = new float[128 * 2];
            java.util.Arrays.fill(suspect, 0.5f);
            Attribution a = engine.score(wide, Suspect.of(wide, 128, 2, suspect, new int[0]),
                    ScoreQuery.defaults(wide).withTopK(3).withAttribution(0.01)).attribution();
            assertEquals(Verdict.INCONCLUSIVE, a.verdict());
            assertTrue(a.reason().contains("a panel of 363 references on 128 probes is too large")
                    && a.reason().contains("select at most 362 references"), a.reason());
        }
    }

    @Test
    void aTeacherWithoutASiblingIsInconclusive() {
        try (ImprintEngine engine = panel()) {
            engine.deleteReference(SET.id(), "m3");
            engine.deleteReference(SET.id(), "m5");
            Attribution a = attribute(engine, softmax(mix(references[4], model(gaussian(1.0)), 0.6))).attribution();
            assertEquals(Verdict.INCONCLUSIVE, a.verdict(), a.reason());
            assertEquals("m4", a.modelId());
            assertTrue(a.reason().contains("no sibling"), a.reason());
        }
    }

    @Test
    void alphaOutsideItsRangeIsRefusedAndAQueryWithoutAttributionHasNoVerdict() {
        for (double alpha : new double[] {0, -0.1, 0.51, Double.NaN}) {
            ImprintException e = assertThrows(ImprintException.class,
                    () -> ScoreQuery.defaults(SET).withAttribution(alpha));
            assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
            assertTrue(e.getMessage().startsWith("alpha="), e.getMessage());
        }
        try (ImprintEngine engine = panel()) {
            ScoreResult plain = engine.score(SET, Suspect.of(SET, P, D, softmax(references[0]), new int[0]),
                    ScoreQuery.defaults(SET));
            assertNull(plain.attribution());
            assertTrue(Double.isNaN(plain.matches().get(0).pValue()));
            assertNotEquals(0, plain.matches().size());
        }
    }

    @Test
    void anUnknownRoleIsRefusedByName() {
        ImprintException e = assertThrows(ImprintException.class, () -> ReferenceRole.parse("role", "teacher"));
        assertTrue(e.getMessage().contains("role=teacher is not a role"), e.getMessage());
    }

}
