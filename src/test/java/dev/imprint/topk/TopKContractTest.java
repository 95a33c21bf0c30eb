package dev.imprint.topk;

import static dev.imprint.testing.OracleAssertions.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.VocabularyMode;
import dev.imprint.engine.BatchScores;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.ScoringBackend;
import dev.imprint.engine.SuspectBatch;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.engine.cuda.CudaBackend;
import dev.imprint.testing.CudaOrSkip;
import dev.imprint.testing.Float64Metrics;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Top-k and alignment are checked against float64 on both backends.
 *
 * <p>Synthetic models are distributions over next <em>words</em>. Two synthetic tokenizers split
 * those words differently: A is GPT-style with decoded leading spaces (" walking" starts with
 * " walk", " water" with " wa"), B is SentencePiece-style (every w-word starts with "▁wa"). A model's
 * answer on a probe is the top-k of its first-token distribution under a tokenizer, logprobs rounded
 * to 4 decimals as APIs return them (so full answers sum slightly over or under 1), and -inf for a
 * listed token the model gives no mass. An oracle written here in double from the README's policy
 * gives the rows and, with {@link Float64Metrics}' definitions, every metric; {@link TopKRows} and
 * each backend must agree with it.
 */
class TopKContractTest {
    private static final int PROBES = 12;
    private static final String[] WORDS = {" walking", " walked", " wall", " water", " talk", " table", " the",
        " there", " run", " running", " sun", " sand", " is", " island", "\n", ","};
    private static final Tokenizer A = new Tokenizer(" ", List.of("walk", "wall", "wa", "talk", "tab", "the", "there",
            "run", "sun", "sand", "is", "island"));
    private static final Tokenizer B = new Tokenizer("\u2581", List.of("wa", "ta", "th", "ru", "s", "is"));
    private static final Set<Metric> ALL = EnumSet.allOf(Metric.class);

    /** Greedy longest-prefix first token of a word; a word with a leading space gets the tokenizer's marker. */
    record Tokenizer(String marker, List<String> pieces) {
        String firstToken(String word) {
            if (!word.startsWith(" ")) {
                return word;
            }
            String rest = word.substring(1);
            return marker + pieces.stream().filter(rest::startsWith).max(Comparator.comparingInt(String::length))
                    .orElseThrow();
        }

        /** The first-token distribution of a word distribution. */
        Map<String, Double> firstTokens(double[] words) {
            Map<String, Double> out = new LinkedHashMap<>();
            for (int w = 0; w < WORDS.length; w++) {
                out.merge(firstToken(WORDS[w]), words[w], Double::sum);
            }
            return out;
        }
    }

    /** A model captured through a tokenizer with top-k. */
    record Capture(String id, double[][] words, Tokenizer tokenizer, int k) {
        /** Its answer on probe p, rounded to 4 decimals when {@code rounded}. */
        List<TopKEntry> answer(int p, boolean rounded) {
            return tokenizer.firstTokens(words[p]).entrySet().stream()
                    .sorted(Map.Entry.<String, Double>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                    .limit(k)
                    .map(e -> new TopKEntry(e.getKey(), e.getValue() == 0 ? Double.NEGATIVE_INFINITY
                            : rounded ? Math.round(Math.log(e.getValue()) * 1e4) / 1e4 : Math.log(e.getValue())))
                    .toList();
        }
    }

    /** The seeded models: four references under A, three suspects. */
    private static final class Scenario {
        final double[][] base = new double[PROBES][WORDS.length];
        final Random rng = new Random(20261205);
        final List<Capture> references = new ArrayList<>();
        final List<Capture> suspects = new ArrayList<>();

        Scenario() {
            for (double[] b : base) {
                for (int w = 0; w < b.length; w++) {
                    b[w] = 1.5 * rng.nextGaussian();
                }
            }
            double[][] sharp = model(noise(1.0), 0.5, 0);
            double[][] warm = model(noise(1.0), 1.3, 0);
            references.add(new Capture("r0", model(noise(1.0), 1.0, 0), A, 10));
            references.add(new Capture("r1-sharp", sharp, A, 5));
            references.add(new Capture("r2", warm, A, 20));
            references.add(new Capture("r3-sparse", model(noise(1.0), 1.0, 6), A, 10));
            // r1 distilled and captured through the other tokenizer; r2 distilled on the same one.
            suspects.add(new Capture("copy-of-r1-via-B", near(sharp), B, 20));
            suspects.add(new Capture("copy-of-r2-via-A", near(warm), A, 10));
            suspects.add(new Capture("unrelated-via-B", model(noise(1.0), 1.0, 0), B, 5));
        }

        double[][] noise(double sigma) {
            double[][] out = new double[PROBES][WORDS.length];
            for (int p = 0; p < PROBES; p++) {
                for (int w = 0; w < WORDS.length; w++) {
                    out[p][w] = base[p][w] + sigma * rng.nextGaussian();
                }
            }
            return out;
        }

        /** softmax(logits / temperature); with {@code keep > 0}, every word outside the top {@code keep} gets 0. */
        static double[][] model(double[][] logits, double temperature, int keep) {
            double[][] out = new double[PROBES][];
            for (int p = 0; p < PROBES; p++) {
                double[] l = logits[p];
                double cut = keep > 0 ? IntStream.range(0, l.length).mapToDouble(w -> -l[w]).sorted()
                        .map(v -> -v).skip(keep - 1).findFirst().orElseThrow() : Double.NEGATIVE_INFINITY;
                double[] q = new double[l.length];
                double sum = 0;
                for (int w = 0; w < l.length; w++) {
                    q[w] = l[w] >= cut ? Math.exp(l[w] / temperature) : 0;
                    sum += q[w];
                }
                for (int w = 0; w < l.length; w++) {
                    q[w] /= sum;
                }
                out[p] = q;
            }
            return out;
        }

        /** A distilled student: the teacher's log-probabilities plus small noise. */
        double[][] near(double[][] teacher) {
            double[][] logits = new double[PROBES][WORDS.length];
            for (int p = 0; p < PROBES; p++) {
                for (int w = 0; w < WORDS.length; w++) {
                    logits[p][w] = Math.log(teacher[p][w]) + 0.1 * rng.nextGaussian();
                }
            }
            return model(logits, 1.0, 0);
        }
    }

    // ---- The oracle: the README's "Top-k answers file" policy, written afresh in double. ----

    /** The key of a token; restated from the README rather than calling VocabularyMode. */
    static String oracleKey(String token, VocabularyMode mode) {
        if (mode == VocabularyMode.EXACT) {
            return token;
        }
        String t = token;
        if (t.startsWith("\u0120") || t.startsWith("\u2581")) {
            t = " " + t.substring(1);
        }
        t = java.text.Normalizer.normalize(t.replace('\u2581', ' ').replace('\u010A', '\n'),
                java.text.Normalizer.Form.NFC);
        if (mode == VocabularyMode.NORMALISED || t.isEmpty()) {
            return t;
        }
        String stripped = t.stripLeading();
        String from = stripped.isEmpty() ? t : stripped;
        return from.substring(0, Character.charCount(from.codePointAt(0)));
    }

    /** Probability by key, coinciding keys added, -inf as 0. */
    static Map<String, Double> oracleKeyed(List<TopKEntry> answer, VocabularyMode mode) {
        Map<String, Double> out = new HashMap<>();
        for (TopKEntry e : answer) {
            out.merge(oracleKey(e.token(), mode), e.logprob() == Double.NEGATIVE_INFINITY ? 0 : Math.exp(e.logprob()),
                    Double::sum);
        }
        return out;
    }

    /** The references' keys by total probability, ties by key, then {@code <other>}. */
    static List<String> oracleSupport(List<List<TopKEntry>> answers, VocabularyMode mode) {
        Map<String, Double> total = new HashMap<>();
        answers.forEach(a -> oracleKeyed(a, mode).forEach((k, v) -> total.merge(k, v, Double::sum)));
        total.remove(TopKRows.OTHER);
        List<String> keys = new ArrayList<>(total.keySet());
        keys.sort(Comparator.comparing((String k) -> -total.get(k)).thenComparing(Comparator.naturalOrder()));
        keys.add(TopKRows.OTHER);
        return keys;
    }

    /**
     * One answer's row, padded with zeros to {@code dim}. The listed mass s is scaled to 1 when over
     * it; a key outside the support counts to {@code <other>}; the tail 1 - s goes evenly to the
     * support keys not listed and {@code <other>}, each unlisted key capped at the smallest listed
     * probability, the rest to {@code <other>}. "Smallest listed probability" is read as the smallest
     * positive probability of a listed key (coinciding tokens added up): a -inf entry says nothing
     * about how likely the unlisted tokens are.
     */
    static double[] oracleRow(List<TopKEntry> answer, List<String> support, VocabularyMode mode, int dim) {
        Map<String, Double> keyed = oracleKeyed(answer, mode);
        double s = keyed.values().stream().mapToDouble(Double::doubleValue).sum();
        double scale = s > 1 ? 1 / s : 1;
        int other = support.size() - 1;
        double[] row = new double[dim];
        double smallest = 1;
        for (Map.Entry<String, Double> e : keyed.entrySet()) {
            int at = support.indexOf(e.getKey());
            row[at < 0 || at == other ? other : at] += e.getValue() * scale;
            if (e.getValue() > 0) {
                smallest = Math.min(smallest, e.getValue() * scale);
            }
        }
        double tail = 1 - Math.min(1, s);
        List<Integer> unlisted = new ArrayList<>();
        for (int i = 0; i < other; i++) {
            if (!keyed.containsKey(support.get(i))) {
                unlisted.add(i);
            }
        }
        double share = Math.min(smallest, tail / (unlisted.size() + 1));
        for (int i : unlisted) {
            row[i] = share;
        }
        row[other] += tail - share * unlisted.size();
        return row;
    }

    /** The expected value of {@code metric}, averaged over every probe, from double rows. */
    static double oracleMetric(Metric metric, double[][] reference, double[][] suspect, double eps) {
        double sum = 0;
        for (int p = 0; p < reference.length; p++) {
            double[] r = reference[p];
            double[] s = suspect[p];
            sum += switch (metric) {
                case COSINE -> Float64Metrics.dot(r, s)
                        / (Math.sqrt(Float64Metrics.dot(r, r)) * Math.sqrt(Float64Metrics.dot(s, s)));
                case KL_REF_SUSPECT -> Float64Metrics.kl(Float64Metrics.smooth(r, eps), Float64Metrics.smooth(s, eps));
                case KL_SUSPECT_REF -> Float64Metrics.kl(Float64Metrics.smooth(s, eps), Float64Metrics.smooth(r, eps));
                case JS -> Float64Metrics.js(Float64Metrics.smooth(r, eps), Float64Metrics.smooth(s, eps));
                case TOP1_AGREEMENT -> Float64Metrics.argmax(r) == Float64Metrics.argmax(s) ? 1 : 0;
            };
        }
        return sum / reference.length;
    }

    // ---- Fingerprints of the scenario in one mode, by the oracle and by TopKRows. ----

    /** The oracle's rows of every capture in one mode, and the probe set they make. */
    private record Fingerprints(VocabularyMode mode, ProbeSet set, List<List<String>> supports,
                                Map<String, double[][]> rows) {
        static Fingerprints of(Scenario sc, VocabularyMode mode) {
            List<List<String>> supports = new ArrayList<>();
            for (int p = 0; p < PROBES; p++) {
                int probe = p;
                supports.add(oracleSupport(sc.references.stream().map(c -> c.answer(probe, true)).toList(), mode));
            }
            int dim = supports.stream().mapToInt(List::size).max().orElseThrow();
            ProbeSet set = new ProbeSet("topk-" + mode.name().toLowerCase(java.util.Locale.ROOT), PROBES, dim,
                    ProbeSetKind.DISTRIBUTION, 1e-6, "");
            Map<String, double[][]> rows = new LinkedHashMap<>();
            for (Capture c : captures(sc)) {
                double[][] r = new double[PROBES][];
                for (int p = 0; p < PROBES; p++) {
                    r[p] = oracleRow(c.answer(p, true), supports.get(p), mode, dim);
                }
                rows.put(c.id(), r);
            }
            return new Fingerprints(mode, set, supports, rows);
        }

        float[] flat(String id) {
            double[][] r = rows.get(id);
            float[] out = new float[PROBES * set.dim()];
            for (int p = 0; p < PROBES; p++) {
                for (int k = 0; k < set.dim(); k++) {
                    out[p * set.dim() + k] = (float) r[p][k];
                }
            }
            return out;
        }
    }

    private static List<Capture> captures(Scenario sc) {
        List<Capture> all = new ArrayList<>(sc.references);
        all.addAll(sc.suspects);
        return all;
    }

    // ---- The tests. ----

    @Test
    void theScenarioHasRowsOverOneMinusInfinityEntriesAndDifferentK() {
        Scenario sc = new Scenario();
        int over = 0;
        int minusInf = 0;
        for (Capture c : captures(sc)) {
            for (int p = 0; p < PROBES; p++) {
                List<TopKEntry> a = c.answer(p, true);
                over += a.stream().mapToDouble(e -> Math.exp(e.logprob())).sum() > 1 ? 1 : 0;
                minusInf += a.stream().anyMatch(e -> e.logprob() == Double.NEGATIVE_INFINITY) ? 1 : 0;
            }
        }
        assertTrue(over > 0, "some answers' rounded probabilities sum over 1");
        assertTrue(minusInf > 0, "some answers list -inf");
        assertEquals(Set.of(5, 10, 20), captures(sc).stream().map(Capture::k).collect(java.util.stream.Collectors.toSet()));
    }

    @Test
    void topKRowsEqualTheFloat64OracleInEveryMode() {
        Scenario sc = new Scenario();
        for (VocabularyMode mode : VocabularyMode.values()) {
            Fingerprints f = Fingerprints.of(sc, mode);
            for (int p = 0; p < PROBES; p++) {
                int probe = p;
                List<String> support = TopKRows.support(sc.references.stream().map(c -> c.answer(probe, true)).toList(),
                        mode);
                assertEquals(f.supports().get(p), support, mode + " probe " + p + " support");
                for (Capture c : captures(sc)) {
                    double[] row = TopKRows.row(c.answer(p, true), support, mode, c.id());
                    double[] expected = java.util.Arrays.copyOf(f.rows().get(c.id())[p], support.size());
                    assertArrayEquals(expected, row, 1e-12, mode + " " + c.id() + " probe " + p);
                    assertEquals(1, java.util.Arrays.stream(row).sum(), 1e-12, mode + " " + c.id() + " probe " + p);
                }
            }
        }
    }

    @Test
    void cpuScoresOfTopKRowsEqualTheFloat64Oracle() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            checkScores(cpu);
        }
    }

    @Test
    @Tag("gpu")
    void cudaScoresOfTopKRowsEqualTheFloat64Oracle() {
        try (CudaBackend gpu = CudaOrSkip.open()) {
            checkScores(gpu);
        }
    }

    /** Every metric of every suspect against every reference, in every mode, all probes and a subset. */
    private static void checkScores(ScoringBackend backend) {
        Scenario sc = new Scenario();
        for (VocabularyMode mode : VocabularyMode.values()) {
            Fingerprints f = Fingerprints.of(sc, mode);
            List<String> ids = sc.references.stream().map(Capture::id).toList();
            try (ResidentReferences resident = backend.createResidentSet(f.set())) {
                ids.forEach(id -> resident.put(id, f.flat(id)));
                int[] all = IntStream.range(0, PROBES).toArray();
                int[] some = {9, 2, 5, 0, 11};
                for (int[] probes : List.of(all, some)) {
                    List<float[]> suspects = sc.suspects.stream()
                            .map(c -> select(f.flat(c.id()), f.set().dim(), probes)).toList();
                    BatchScores scores = resident.score(new SuspectBatch(probes, suspects), ids, ALL, false);
                    for (int s = 0; s < sc.suspects.size(); s++) {
                        double[][] suspect = pick(f.rows().get(sc.suspects.get(s).id()), probes);
                        for (int r = 0; r < ids.size(); r++) {
                            double[][] ref = pick(f.rows().get(ids.get(r)), probes);
                            for (Metric m : ALL) {
                                assertClose(m, oracleMetric(m, ref, suspect, f.set().smoothingEpsilon()),
                                        scores.value(m, s, r), backend.name() + " " + mode + " " + probes.length
                                                + " probes " + sc.suspects.get(s).id() + " vs " + ids.get(r));
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * With k=20 every first token of both tokenizers is listed (A has 14, B 8), so each answer is the
     * whole first-token distribution and its first-character row is the model's next-character
     * marginal. Unrounded, the two rows are equal up to double rounding (|difference| ≤ 1e-12, JS of
     * the smoothed rows ≤ 1e-15). Rounded to 4 decimals, each listed probability is off by up to
     * 5e-5 relative and the residue of the listed mass (a tail under 1, or the scaling of a sum over
     * it) lands on {@code <other>} in one capture and not in the other, so the JS of the smoothed
     * rows is no longer ~0 but stays ≤ 5e-5, at least 100 times below the JS between any two
     * different references on a probe.
     */
    @Test
    void firstCharacterRowsOfOneModelThroughBothTokenizersAgree() {
        Scenario sc = new Scenario();
        VocabularyMode mode = VocabularyMode.FIRST_CHARACTER;
        double eps = 1e-6;
        double worstRounded = 0;
        double closestApart = Double.POSITIVE_INFINITY;
        for (int p = 0; p < PROBES; p++) {
            List<double[]> rounded = new ArrayList<>();
            for (Capture ref : sc.references) {
                Capture viaA = new Capture(ref.id(), ref.words(), A, 20);
                Capture viaB = new Capture(ref.id(), ref.words(), B, 20);
                List<String> support = TopKRows.support(List.of(viaA.answer(p, false)), mode);
                double[] a = TopKRows.row(viaA.answer(p, false), support, mode, "A");
                double[] b = TopKRows.row(viaB.answer(p, false), support, mode, "B");
                assertArrayEquals(a, b, 1e-12, ref.id() + " probe " + p);
                double js = Float64Metrics.js(Float64Metrics.smooth(a, eps), Float64Metrics.smooth(b, eps));
                assertTrue(js <= 1e-15, ref.id() + " probe " + p + " JS " + js);
                double[] ar = TopKRows.row(viaA.answer(p, true), support, mode, "A");
                double[] br = TopKRows.row(viaB.answer(p, true), support, mode, "B");
                worstRounded = Math.max(worstRounded,
                        Float64Metrics.js(Float64Metrics.smooth(ar, eps), Float64Metrics.smooth(br, eps)));
                rounded.add(a);
            }
            for (int i = 0; i < rounded.size(); i++) {
                for (int j = 0; j < i; j++) {
                    closestApart = Math.min(closestApart, Float64Metrics.js(Float64Metrics.smooth(rounded.get(i), eps),
                            Float64Metrics.smooth(rounded.get(j), eps)));
                }
            }
        }
        String both = "JS of one model through A and B, rounded: " + worstRounded + "; of two references: "
                + closestApart;
        assertTrue(worstRounded <= 5e-5, both);
        assertTrue(worstRounded * 100 <= closestApart, both);
    }

    @Test
    void normalisedFoldsTheSentencePieceMarkerOntoALeadingSpaceAndExactDoesNot() {
        assertEquals(" wa", A.firstToken(" water"));
        assertEquals("\u2581wa", B.firstToken(" water"));
        assertEquals(VocabularyMode.NORMALISED.key(" wa"), VocabularyMode.NORMALISED.key("\u2581wa"));
        assertNotEquals(VocabularyMode.EXACT.key(" wa"), VocabularyMode.EXACT.key("\u2581wa"));
        List<TopKEntry> answer = List.of(new TopKEntry("\u2581wa", Math.log(0.6)), new TopKEntry(",", Math.log(0.4)));
        for (VocabularyMode mode : List.of(VocabularyMode.NORMALISED, VocabularyMode.EXACT)) {
            List<String> support = List.of(" wa", ",", TopKRows.OTHER);
            double[] row = TopKRows.row(answer, support, mode, "B");
            double[] expected = mode == VocabularyMode.NORMALISED ? new double[] {0.6, 0.4, 0}
                : new double[] {0, 0.4, 0.6};
            assertArrayEquals(expected, row, 1e-12, mode.name());
        }
    }

    @Test
    void firstCharacterRanksACrossTokenizerCopyNearestByKlWhereExactDoesNot() {
        Scenario sc = new Scenario();
        int copy = 0;
        String teacher = "r1-sharp";
        Map<VocabularyMode, String> nearest = new HashMap<>();
        try (CpuBackend cpu = new CpuBackend(2)) {
            for (VocabularyMode mode : List.of(VocabularyMode.FIRST_CHARACTER, VocabularyMode.EXACT)) {
                Fingerprints f = Fingerprints.of(sc, mode);
                List<String> ids = sc.references.stream().map(Capture::id).toList();
                try (ResidentReferences resident = cpu.createResidentSet(f.set())) {
                    ids.forEach(id -> resident.put(id, f.flat(id)));
                    BatchScores scores = resident.score(new SuspectBatch(IntStream.range(0, PROBES).toArray(),
                            List.of(f.flat(sc.suspects.get(copy).id()))), ids, Set.of(Metric.KL_REF_SUSPECT), false);
                    int best = IntStream.range(0, ids.size()).boxed()
                            .min(Comparator.comparingDouble(r -> scores.value(Metric.KL_REF_SUSPECT, 0, r)))
                            .orElseThrow();
                    nearest.put(mode, ids.get(best));
                }
            }
        }
        assertEquals(teacher, nearest.get(VocabularyMode.FIRST_CHARACTER), nearest::toString);
        assertNotEquals(teacher, nearest.get(VocabularyMode.EXACT), nearest::toString);
    }

    private static float[] select(float[] rows, int dim, int[] probes) {
        float[] out = new float[probes.length * dim];
        for (int i = 0; i < probes.length; i++) {
            System.arraycopy(rows, probes[i] * dim, out, i * dim, dim);
        }
        return out;
    }

    private static double[][] pick(double[][] rows, int[] probes) {
        return IntStream.of(probes).mapToObj(p -> rows[p]).toArray(double[][]::new);
    }
}
