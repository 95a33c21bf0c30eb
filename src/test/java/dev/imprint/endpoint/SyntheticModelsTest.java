package dev.imprint.endpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/** The ground truth the endpoint serves: shaped like real LMs, and related as the catalog says. */
class SyntheticModelsTest {
    private static final SyntheticModels MODELS = SyntheticModels.catalog();
    private static final int PROMPTS = 64;

    private static String prompt(int i) {
        Noise.Stream random = new Noise.Stream(42 + i);
        List<String> words = Lexicon.get().entries();
        StringBuilder text = new StringBuilder("Probe " + i + ":");
        for (int w = 0; w < 6; w++) {
            text.append(' ').append(words.get(random.nextInt(Lexicon.WORDS)));
        }
        return text.toString();
    }

    @Test
    void distributionsSumToOneSortedMostProbableFirstAndPeakedLikeLanguageModels() {
        double top = 0;
        double top20 = 0;
        for (SyntheticModels.Model m : MODELS.all()) {
            if (m.kind() != SyntheticModels.Kind.CHAT) {
                continue;
            }
            for (int i = 0; i < PROMPTS; i++) {
                List<Double> p = List.copyOf(MODELS.nextTokenDistribution(m.id(), prompt(i)).values());
                assertEquals(1.0, p.stream().mapToDouble(Double::doubleValue).sum(), 1e-9, m.id());
                for (int k = 1; k < p.size(); k++) {
                    assertTrue(p.get(k - 1) >= p.get(k), m.id() + " not sorted at " + k);
                }
                top += p.get(0);
                top20 += p.stream().limit(20).mapToDouble(Double::doubleValue).sum();
            }
        }
        int n = 11 * PROMPTS;
        assertTrue(top / n > 0.2 && top / n < 0.6, "mean top-token mass " + top / n);
        assertTrue(top20 / n > 0.7 && top20 / n < 0.95, "mean top-20 mass " + top20 / n);
    }

    @Test
    void sameRequestGivesTheSameDistribution() {
        assertEquals(MODELS.nextTokenDistribution("atlas-7b", prompt(3)),
                MODELS.nextTokenDistribution("atlas-7b", prompt(3)));
    }

    @Test
    void tokenizersWriteTheSameWordsDifferentlyButAgreeOnFirstCharacters() {
        Set<String> bpe = MODELS.nextTokenDistribution("atlas-7b", prompt(0)).keySet();
        Set<String> pieces = MODELS.nextTokenDistribution("boreal-8b", prompt(0)).keySet();
        assertTrue(bpe.stream().filter(t -> Character.isLetter(t.charAt(t.length() - 1))).allMatch(t -> t.startsWith(" ")));
        assertTrue(pieces.stream().filter(t -> Character.isLetter(t.charAt(t.length() - 1)))
                .allMatch(t -> t.startsWith("\u2581")));
        Set<String> shared = new HashSet<>(bpe);
        shared.retainAll(pieces);
        assertTrue(shared.stream().noneMatch(t -> Character.isLetter(t.charAt(0))), "only symbols are shared: " + shared);
        assertEquals(Tokenizer.BPE.decode(" walk").strip().charAt(0), Tokenizer.SENTENCEPIECE.decode("\u2581wa").strip().charAt(0));
        assertEquals(" walk", Tokenizer.BPE.firstToken("walking"));
        assertEquals("\u2581wa", Tokenizer.SENTENCEPIECE.firstToken("walking"));
    }

    @Test
    void familyMembersAreCloserThanStrangersAndThePupilIsClosestToItsTeacher() {
        BiFunction<String, String, Double> distance = SyntheticModelsTest::meanFirstCharacterDivergence;
        double atlasSiblings = distance.apply("atlas-7b", "atlas-13b");
        double borealSiblings = distance.apply("boreal-8b", "boreal-32b");
        double acrossFamilies = Math.min(distance.apply("atlas-7b", "boreal-8b"), distance.apply("atlas-13b", "cedar-3b"));
        assertTrue(atlasSiblings * 1.3 < acrossFamilies, atlasSiblings + " vs " + acrossFamilies);
        assertTrue(borealSiblings * 1.3 < acrossFamilies, borealSiblings + " vs " + acrossFamilies);

        double teacher = distance.apply("pupil-1b", "atlas-70b");
        double uncle = distance.apply("pupil-1b", "atlas-7b");
        double stranger = distance.apply("pupil-1b", "boreal-8b");
        assertTrue(teacher * 1.2 < uncle, "teacher " + teacher + " vs atlas-7b " + uncle);
        assertTrue(teacher * 2 < stranger, "teacher " + teacher + " vs boreal-8b " + stranger);
    }

    @Test
    void embeddingsAreUnitVectorsAndThePupilPointsLikeItsTeacher() {
        double teacher = 0;
        double stranger = 0;
        for (int i = 0; i < PROMPTS; i++) {
            double[] pupil = MODELS.embedding("pupil-embed", prompt(i));
            assertEquals(SyntheticModels.EMBEDDING_DIMENSIONS, pupil.length);
            assertEquals(1.0, dot(pupil, pupil), 1e-9);
            teacher += dot(pupil, MODELS.embedding("atlas-embed", prompt(i)));
            stranger += dot(pupil, MODELS.embedding("boreal-embed", prompt(i)));
        }
        assertTrue(teacher > stranger + 0.05 * PROMPTS, teacher / PROMPTS + " vs " + stranger / PROMPTS);
        assertNotEquals(MODELS.embedding("atlas-embed", "a")[0], MODELS.embedding("atlas-embed", "b")[0]);
    }

    private static double meanFirstCharacterDivergence(String a, String b) {
        double total = 0;
        for (int i = 0; i < PROMPTS; i++) {
            total += jensenShannon(MODELS.firstCharacterDistribution(a, prompt(i)),
                    MODELS.firstCharacterDistribution(b, prompt(i)));
        }
        return total / PROMPTS;
    }

    private static double jensenShannon(Map<Character, Double> p, Map<Character, Double> q) {
        Map<Character, Double> m = new HashMap<>();
        p.forEach((c, v) -> m.merge(c, v / 2, Double::sum));
        q.forEach((c, v) -> m.merge(c, v / 2, Double::sum));
        return (kullbackLeibler(p, m) + kullbackLeibler(q, m)) / 2;
    }

    private static double kullbackLeibler(Map<Character, Double> p, Map<Character, Double> m) {
        double d = 0;
        for (Map.Entry<Character, Double> e : p.entrySet()) {
            if (e.getValue() > 0) {
                d += e.getValue() * Math.log(e.getValue() / m.get(e.getKey()));
            }
        }
        return d;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
