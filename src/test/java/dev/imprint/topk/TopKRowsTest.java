package dev.imprint.topk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.VocabularyMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TopKRowsTest {
    private static final List<String> ABC = List.of("a", "b", "c", TopKRows.OTHER);

    private static TopKEntry e(String token, double p) {
        return new TopKEntry(token, Math.log(p));
    }

    private static double[] row(List<String> support, TopKEntry... entries) {
        return TopKRows.row(List.of(entries), support, VocabularyMode.EXACT, "test");
    }

    @Test
    void theTailIsSharedByUnlistedKeysAndOtherEvenlyUpToTheSmallestListedProbability() {
        // Hand-computed in double: s = 0.8, tail 0.2 over c and <other>, 0.1 each (cap 0.3 not binding).
        assertArrayEquals(new double[] {0.5, 0.3, 0.1, 0.1}, row(ABC, e("a", 0.5), e("b", 0.3)), 1e-12);
        // Cap binding: the tail 0.49 would give c 0.245, but c can be no likelier than b's 0.01.
        assertArrayEquals(new double[] {0.5, 0.01, 0.01, 0.48}, row(ABC, e("a", 0.5), e("b", 0.01)), 1e-12);
        // Nothing listed: the tail spreads evenly.
        assertArrayEquals(new double[] {0.25, 0.25, 0.25, 0.25}, row(ABC), 1e-12);
    }

    @Test
    void minusInfinityIsZeroAMissingLogprobIsRefusedAndAKeyOutsideTheSupportIsOther() {
        assertArrayEquals(new double[] {0.6, 0, 0.2, 0.2},
                row(ABC, e("a", 0.6), new TopKEntry("b", Double.NEGATIVE_INFINITY)), 1e-12);
        ImprintException missing = assertThrows(ImprintException.class,
                () -> row(ABC, e("a", 0.6), new TopKEntry("b\n", Double.NaN)));
        assertTrue(missing.getMessage().contains("test: token 'b\\n' has no logprob"), missing.getMessage());
        assertArrayEquals(new double[] {0.5, 0.1, 0.1, 0.3}, row(ABC, e("a", 0.5), e("z", 0.2)), 1e-12);
    }

    @Test
    void roundedMassSlightlyOverOneIsScaledBackAndMoreIsRefused() {
        double[] r = row(ABC, e("a", 0.604), e("b", 0.4));
        assertArrayEquals(new double[] {0.604 / 1.004, 0.4 / 1.004, 0, 0}, r, 1e-12);
        ImprintException over = assertThrows(ImprintException.class, () -> row(ABC, e("a", 0.62), e("b", 0.4)));
        assertTrue(over.getMessage().contains("sum to 1.020000"), over.getMessage());
        assertThrows(ImprintException.class, () -> row(ABC, new TopKEntry("a", 0.5)));
    }

    @Test
    void everyRowIsADistributionWhateverKEachModelReturns() {
        Random rng = new Random(8);
        List<String> support = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            support.add("t" + i);
        }
        support.add(TopKRows.OTHER);
        for (int trial = 0; trial < 200; trial++) {
            int k = 1 + rng.nextInt(20);
            double[] p = new double[60];
            double sum = 0;
            for (int i = 0; i < p.length; i++) {
                p[i] = Math.exp(3 * rng.nextGaussian());
                sum += p[i];
            }
            List<TopKEntry> answer = new ArrayList<>();
            Integer[] order = new Integer[p.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            double[] probs = p;
            double total = sum;
            java.util.Arrays.sort(order, Comparator.comparingDouble(i -> -probs[i]));
            for (int i = 0; i < k; i++) {
                answer.add(e("t" + order[i], probs[order[i]] / total));
            }
            double[] r = TopKRows.row(answer, support, VocabularyMode.EXACT, "trial " + trial);
            assertEquals(1, java.util.Arrays.stream(r).sum(), 1e-12);
            assertTrue(java.util.Arrays.stream(r).allMatch(v -> v >= 0 && v <= 1));
        }
    }

    @Test
    void supportIsTheReferencesKeysByTotalProbabilityThenOther() {
        List<String> support = TopKRows.support(List.of(List.of(e("b", 0.5), e("a", 0.3)),
                List.of(e("a", 0.4), e("c", 0.1), e(TopKRows.OTHER, 0.1))), VocabularyMode.EXACT);
        assertEquals(List.of("a", "b", "c", TopKRows.OTHER), support);
    }

    @Test
    void keysFoldTokenizerConventionsAndFirstCharactersSkipLeadingWhitespace() {
        assertEquals("\u0120Paris", VocabularyMode.EXACT.key("\u0120Paris"));
        assertEquals(" Paris", VocabularyMode.NORMALISED.key("\u0120Paris"));
        assertEquals(" Paris", VocabularyMode.NORMALISED.key("\u2581Paris"));
        assertEquals("\n", VocabularyMode.NORMALISED.key("\u010A"));
        assertEquals("\u00e9t\u00e9", VocabularyMode.NORMALISED.key("e\u0301te\u0301"), "NFC");
        assertEquals("P", VocabularyMode.FIRST_CHARACTER.key("\u0120Paris"));
        assertEquals("P", VocabularyMode.FIRST_CHARACTER.key("\u2581Pa"));
        assertEquals("P", VocabularyMode.FIRST_CHARACTER.key("Paris"));
        assertEquals("\n", VocabularyMode.FIRST_CHARACTER.key("\u010A"));
        assertEquals(" ", VocabularyMode.FIRST_CHARACTER.key("  "));
        assertEquals("\uD83D\uDE00", VocabularyMode.FIRST_CHARACTER.key("\uD83D\uDE00!"), "a whole code point");
    }

    /**
     * Two tokenizers that split the same continuations differently: A keeps words whole with a
     * GPT-2 space marker, B cuts them into SentencePiece pieces, so " Marseille" and " Madrid"
     * share B's first token. The text-level distribution is the same.
     */
    @Test
    void twoTokenizersOfOneTextAgreeOnFirstCharactersAndOnlyThere() {
        Map<String, Double> text = new LinkedHashMap<>();
        text.put(" Paris", 0.45);
        text.put(" Lyon", 0.2);
        text.put(" Marseille", 0.1);
        text.put(" Madrid", 0.05);
        text.put(" Nice", 0.1);
        text.put("\n", 0.1);
        Map<String, Double> a = new LinkedHashMap<>();
        Map<String, Double> b = new LinkedHashMap<>();
        for (Map.Entry<String, Double> t : text.entrySet()) {
            String word = t.getKey();
            a.merge(word.startsWith(" ") ? "\u0120" + word.substring(1) : "\u010A", t.getValue(), Double::sum);
            b.merge(word.startsWith(" ") ? "\u2581" + word.substring(1, Math.min(word.length(), word.startsWith(" M") ? 2 : 3))
                    : "\n", t.getValue(), Double::sum);
        }
        assertEquals(0.15, b.get("\u2581M"), 1e-12, "B's first token covers two words");
        for (int k : new int[] {6, 4}) {
            List<TopKEntry> answerA = top(a, k);
            List<TopKEntry> answerB = top(b, k);
            List<String> support = TopKRows.support(List.of(answerA), VocabularyMode.FIRST_CHARACTER);
            double[] rowA = TopKRows.row(answerA, support, VocabularyMode.FIRST_CHARACTER, "A");
            double[] rowB = TopKRows.row(answerB, support, VocabularyMode.FIRST_CHARACTER, "B");
            if (k == 6) {
                assertArrayEquals(rowA, rowB, 1e-12, "the whole distribution: the same first-character marginal");
            }
            assertEquals(rowA[support.indexOf("P")], rowB[support.indexOf("P")], 1e-12, "top-" + k);
            List<String> exact = TopKRows.support(List.of(answerA), VocabularyMode.NORMALISED);
            assertNotEquals(TopKRows.row(answerA, exact, VocabularyMode.NORMALISED, "A")[0],
                    TopKRows.row(answerB, exact, VocabularyMode.NORMALISED, "B")[0],
                    "whole-token keys do not meet across tokenizers");
        }
    }

    private static List<TopKEntry> top(Map<String, Double> dist, int k) {
        return dist.entrySet().stream().sorted(Map.Entry.comparingByValue(Comparator.reverseOrder())).limit(k)
                .map(x -> e(x.getKey(), x.getValue())).toList();
    }
}
