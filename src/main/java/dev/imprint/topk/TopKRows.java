package dev.imprint.topk;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Supports;
import dev.imprint.core.VocabularyMode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Top-k answers as distribution rows over a compact per-probe support, and that support: the one
 * policy every top-k fingerprint follows (README "Top-k fingerprints").
 *
 * <p><b>Support.</b> A probe's support is the keys ({@link VocabularyMode#key}) that references list
 * in their top-k, most total probability first, then one {@value #OTHER} bucket last: never the
 * whole vocabulary.
 *
 * <p><b>A row</b>, from one answer's entries, in double:
 * <ol>
 *   <li>each entry's probability is {@code exp(logprob)}; {@code -inf} is 0; a missing (NaN)
 *       logprob is refused, since its mass is unknown;
 *   <li>entries whose keys coincide (two tokens with one first character, say) add up;
 *   <li>the listed mass s may exceed 1 by rounding, as APIs really return: up to
 *       {@value #OVERSHOOT} over it is scaled back to 1, more is refused;
 *   <li>a listed key outside the support goes to {@value #OTHER};
 *   <li>the tail {@code 1 − s} (what the answer did not list) is shared by the support keys it did
 *       not list and {@value #OTHER}, evenly, but no unlisted key gets more than the smallest
 *       probability the answer listed (a token it left out was no likelier than the ones it kept);
 *       what that cap holds back goes to {@value #OTHER}.
 * </ol>
 * The row sums to 1, every entry in [0, 1], so the probe set's smoothing keeps every KL finite, and
 * a model that lists a token another reference has, and one that does not, still compare.
 */
public final class TopKRows {
    /** The support's last key: everything a probe's support does not name. */
    public static final String OTHER = Supports.OTHER;
    /** How far over 1 a top-k answer's listed mass may round and still be scaled back. */
    public static final double OVERSHOOT = 0.01;

    private TopKRows() {}

    /**
     * The support of one probe from the references' answers on it: keys by total probability
     * (ties by key), then {@value #OTHER}.
     */
    public static List<String> support(List<List<TopKEntry>> answers, VocabularyMode mode) {
        Map<String, Double> mass = new HashMap<>();
        for (List<TopKEntry> answer : answers) {
            for (Map.Entry<String, Double> e : keyed(answer, mode, "a reference").entrySet()) {
                mass.merge(e.getKey(), e.getValue(), Double::sum);
            }
        }
        List<String> keys = new ArrayList<>(mass.keySet());
        keys.remove(OTHER);
        keys.sort((a, b) -> {
            int c = Double.compare(mass.get(b), mass.get(a));
            return c != 0 ? c : a.compareTo(b);
        });
        keys.add(OTHER);
        return keys;
    }

    /**
     * One answer as a row over {@code support} (which ends with {@value #OTHER}).
     *
     * @param where names the answer in errors, e.g. "suspect s1 probe 4"
     * @throws ImprintException INVALID_ARGUMENT for a missing logprob or listed mass over 1 + {@value #OVERSHOOT}
     */
    public static double[] row(List<TopKEntry> answer, List<String> support, VocabularyMode mode, String where) {
        if (support.isEmpty() || !support.get(support.size() - 1).equals(OTHER)) {
            throw new IllegalArgumentException("a support must end with " + OTHER);
        }
        Map<String, Double> listed = keyed(answer, mode, where);
        double sum = listed.values().stream().mapToDouble(Double::doubleValue).sum();
        double scale = sum > 1 ? 1 / sum : 1;
        double smallest = listed.values().stream().filter(v -> v > 0).mapToDouble(Double::doubleValue).min()
                .orElse(1);
        int other = support.size() - 1;
        double[] row = new double[support.size()];
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < other; i++) {
            index.put(support.get(i), i);
        }
        boolean[] named = new boolean[support.size()];
        for (Map.Entry<String, Double> e : listed.entrySet()) {
            Integer at = index.get(e.getKey());
            int slot = at == null ? other : at;
            row[slot] += e.getValue() * scale;
            named[slot] = true;
        }
        double tail = Math.max(0, 1 - sum * scale);
        int unlisted = 0;
        for (int i = 0; i < other; i++) {
            unlisted += named[i] ? 0 : 1;
        }
        double share = Math.min(smallest * scale, tail / (unlisted + 1));
        for (int i = 0; i < other; i++) {
            if (!named[i]) {
                row[i] = share;
            }
        }
        row[other] += tail - unlisted * share;
        return row;
    }

    /** The answer's probabilities by key, in order of first appearance, checked. */
    private static Map<String, Double> keyed(List<TopKEntry> answer, VocabularyMode mode, String where) {
        Map<String, Double> out = new LinkedHashMap<>();
        double sum = 0;
        for (TopKEntry e : answer) {
            if (Double.isNaN(e.logprob())) {
                throw ImprintException.invalidArgument("%s: token %s has no logprob; a top-k answer must give one "
                        + "for every token it lists", where, quote(e.token()));
            }
            if (e.logprob() > 1e-9) {
                throw ImprintException.invalidArgument("%s: token %s has logprob %s > 0", where, quote(e.token()),
                        e.logprob());
            }
            double p = Math.exp(Math.min(0, e.logprob()));
            sum += p;
            out.merge(mode.key(e.token()), p, Double::sum);
        }
        if (sum > 1 + OVERSHOOT) {
            throw ImprintException.invalidArgument("%s: its top-k probabilities sum to %.6f, more than 1 beyond "
                    + "rounding (%s)", where, sum, OVERSHOOT);
        }
        return out;
    }

    private static String quote(String token) {
        return "'" + token.replace("\n", "\\n") + "'";
    }
}
