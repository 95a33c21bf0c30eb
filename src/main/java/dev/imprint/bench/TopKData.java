package dev.imprint.bench;

import dev.imprint.core.VocabularyMode;
import dev.imprint.topk.TopKEntry;
import dev.imprint.topk.TopKRows;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The seeded data of a top-k workload: M references' and S suspects' distributions as compact
 * rows over each probe's support, and the same distributions over the whole vocabulary.
 *
 * <p>Per probe, 63 candidate tokens (distinct ids of the vocabulary) share a base logit; each
 * model adds its own noise and leaves 5-30% of its mass unlisted, and answers with its top 20.
 * The support is {@link TopKRows#support} of the references' answers, the rows
 * {@link TopKRows#row}. Suspect s mixes the first reference's rows with another model's, weight
 * {@code 0.1 + 0.8 s/S} on the other, as W1-W4's suspects do; a mixture of rows over one support is
 * the row of the mixed distribution, so both forms score the same distributions.
 */
final class TopKData {
    private static final int CANDIDATES = 63;
    private static final int K = 20;

    private final int probes;
    private final int dim;
    private final int denseDim;
    private final int suspects;
    /** Model i's compact rows, probes × dim; references first, then suspects. */
    private final float[][] compact;
    /** Per probe, the vocabulary id of each support key but {@link TopKRows#OTHER}. */
    private final int[][] tokenIds;

    private TopKData(int probes, int dim, int denseDim, int suspects, float[][] compact, int[][] tokenIds) {
        this.probes = probes;
        this.dim = dim;
        this.denseDim = denseDim;
        this.suspects = suspects;
        this.compact = compact;
        this.tokenIds = tokenIds;
    }

    /** Generates {@code m} references and the workload's S suspects. */
    static TopKData generate(Workload workload, int m) {
        int p = workload.probes();
        int s = workload.suspects();
        if (workload.dim() < CANDIDATES + 1) {
            throw new IllegalArgumentException(workload + " D=" + workload.dim() + "; a top-k workload needs at least "
                    + (CANDIDATES + 1));
        }
        SplittableRandom rng = new SplittableRandom(20261205L + workload.ordinal());
        float[][] compact = new float[m + s][p * workload.dim()];
        float[] other = new float[p * workload.dim()];
        int[][] tokenIds = new int[p][];
        for (int probe = 0; probe < p; probe++) {
            int[] candidates = rng.ints(0, workload.denseDim()).distinct().limit(CANDIDATES).toArray();
            double[] base = new double[CANDIDATES];
            for (int j = 0; j < CANDIDATES; j++) {
                base[j] = 2.0 * rng.nextGaussian();
            }
            List<List<TopKEntry>> answers = new ArrayList<>(m + 1);
            for (int i = 0; i <= m; i++) {
                answers.add(answer(base, candidates, rng));
            }
            // The last answer is the model the suspects mix in, not a reference.
            List<String> support = TopKRows.support(answers.subList(0, m), VocabularyMode.EXACT);
            tokenIds[probe] = support.subList(0, support.size() - 1).stream()
                    .mapToInt(t -> Integer.parseInt(t.substring(1))).toArray();
            for (int i = 0; i <= m; i++) {
                double[] row = TopKRows.row(answers.get(i), support, VocabularyMode.EXACT, "model " + i);
                float[] into = i < m ? compact[i] : other;
                for (int k = 0; k < row.length; k++) {
                    into[probe * workload.dim() + k] = (float) row[k];
                }
            }
        }
        for (int j = 0; j < s; j++) {
            double w = 0.1 + 0.8 * j / Math.max(1, s);
            float[] mixed = compact[m + j];
            for (int i = 0; i < mixed.length; i++) {
                mixed[i] = (float) ((1 - w) * compact[0][i] + w * other[i]);
            }
        }
        return new TopKData(p, workload.dim(), workload.denseDim(), s, compact, tokenIds);
    }

    /** One model's top-k answer: its top {@value #K} of the candidates, 5-30% of its mass unlisted. */
    private static List<TopKEntry> answer(double[] base, int[] candidates, SplittableRandom rng) {
        double[] q = new double[base.length];
        double sum = 0;
        for (int j = 0; j < q.length; j++) {
            q[j] = Math.exp(base[j] + 0.7 * rng.nextGaussian());
            sum += q[j];
        }
        double listed = 1 - (0.05 + 0.25 * rng.nextDouble());
        Integer[] order = new Integer[q.length];
        Arrays.setAll(order, j -> j);
        Arrays.sort(order, Comparator.comparingDouble(j -> -q[j]));
        List<TopKEntry> out = new ArrayList<>(K);
        for (int r = 0; r < K; r++) {
            int j = order[r];
            out.add(new TopKEntry(String.format(Locale.ROOT, "t%d", candidates[j]), Math.log(listed * q[j] / sum)));
        }
        return out;
    }

    int suspects() {
        return suspects;
    }

    /** Model {@code i}'s compact rows, probes × D (references 0..M-1, then the suspects). */
    float[] compact(int i) {
        return compact[i];
    }

    /**
     * Model {@code i}'s rows over the vocabulary, probes × denseDim: each support key's probability
     * on its token, {@link TopKRows#OTHER}'s shared evenly by every other token.
     */
    float[] dense(int i) {
        float[] out = new float[probes * denseDim];
        for (int p = 0; p < probes; p++) {
            int[] ids = tokenIds[p];
            int base = p * denseDim;
            float rest = compact[i][p * dim + ids.length] / (denseDim - ids.length);
            Arrays.fill(out, base, base + denseDim, rest);
            for (int k = 0; k < ids.length; k++) {
                out[base + ids[k]] = compact[i][p * dim + k];
            }
        }
        return out;
    }
}
