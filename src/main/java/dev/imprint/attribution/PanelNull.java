package dev.imprint.attribution;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The model-level null: how far ahead of the rest of the panel a model gets without being
 * distilled from anything in it, learnt from the panel's own references scored as suspects.
 *
 * <p>Why. Probes are exchangeable within one suspect, so the signed-rank test is exact for "closer
 * to A than to C on average over these probes". But an independent model is almost always
 * systematically closer to some reference than to another (a new fine-tune is nearer the sibling
 * trained on the most similar data), and a few dozen probes detect that: on real networks, with
 * the per-member residual cosine used before the panel regression, the probe-level test alone
 * called 15–22% of independent models distilled at alpha 0.01. The question
 * is whether the suspect is further ahead than independent models get, a question about models.
 *
 * <p>How. The statistic of candidate A is its margin over its strongest {@link TeacherControls}
 * control, {@code S_A = mean(β_A) − max over controls of mean(control)} on the
 * {@link PanelRegression} coefficients, and the suspect's statistic is
 * {@code T = max over candidates of S_A}. The null values are T for pseudo-suspects: each
 * background reference and up to {@value #MAX_PROTECTED} protected ones, each regressed on the
 * panel without it (leave-one-out, so its siblings now number one fewer). A new value is judged
 * against them by a prediction interval: {@code p = P(t_{n−1} > (T − median) / (s √(1 + 1/n)))},
 * s the larger of the null's standard deviation and its upper semi-deviation, because maxima are
 * right-skewed and a symmetric fit would understate the upper tail. Since the null values are
 * themselves maxima over candidates, the p of the maximum needs no further multiplicity correction,
 * and the p of any one candidate's S_A is conservative. A margin rather than a t statistic: over
 * dozens of probes any systematic lean is significant, and what sets a student apart from a
 * sibling is how much of it the teacher explains, not how consistently.
 *
 * <p>What it assumes: the pseudo-suspects are as independent of the rest of the panel as the
 * suspects under test are of it, and the null is close to normal in its upper tail. The
 * calibration actually achieved is measured by {@code imprint evaluate} (see README "Attribution").
 */
public final class PanelNull {
    /** Fewer null values than this cannot calibrate a verdict. */
    public static final int MIN_VALUES = 5;
    /** At most this many protected references serve as pseudo-suspects (every background one does). */
    public static final int MAX_PROTECTED = 32;

    private PanelNull() {}

    /**
     * Per member, S_A for a candidate and NaN for a background member.
     *
     * @param beta [M][N] the suspect's {@link PanelRegression} coefficients
     */
    public static double[] candidateStatistics(Panel panel, double[][] beta) {
        int m = panel.size();
        double[] mean = new double[m];
        for (int i = 0; i < m; i++) {
            mean[i] = TeacherControls.mean(beta[i]);
        }
        double[] s = new double[m];
        Arrays.fill(s, Double.NaN);
        for (int a = 0; a < m; a++) {
            if (panel.member(a).isCandidate()) {
                s[a] = mean[a] - TeacherControls.strongestMean(panel, mean, a);
            }
        }
        return s;
    }

    /** T, the largest S_A; NaN when the panel has no candidate or a single member. */
    public static double statistic(double[] candidateStatistics) {
        double best = Double.NaN;
        for (double s : candidateStatistics) {
            if (!Double.isNaN(s) && !(s <= best)) {
                best = s;
            }
        }
        return Double.isInfinite(best) ? Double.NaN : best;
    }

    /**
     * The members that serve as pseudo-suspects: every background one, and the protected ones with
     * the {@value #MAX_PROTECTED} smallest CRC32 of their model id, so the choice is the same on
     * every run and does not favour any family by name order.
     */
    public static int[] pseudoSuspects(Panel panel) {
        List<Integer> out = new ArrayList<>();
        List<Integer> protectedOnes = new ArrayList<>();
        for (int i = 0; i < panel.size(); i++) {
            (panel.member(i).isCandidate() ? protectedOnes : out).add(i);
        }
        protectedOnes.sort(Comparator.comparingLong((Integer i) -> crc(panel.member(i).modelId()))
                .thenComparing(i -> panel.member(i).modelId()));
        out.addAll(protectedOnes.subList(0, Math.min(MAX_PROTECTED, protectedOnes.size())));
        return out.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    /**
     * The p-value of {@code observed} against the null values (the fit in the class comment).
     *
     * @throws IllegalArgumentException with fewer than {@value #MIN_VALUES} finite null values
     */
    public static double pValue(double[] nullValues, double observed) {
        double[] v = Arrays.stream(nullValues).filter(Double::isFinite).sorted().toArray();
        int n = v.length;
        if (n < MIN_VALUES) {
            throw new IllegalArgumentException("a null of " + n + " values; at least " + MIN_VALUES + " are needed");
        }
        if (Double.isNaN(observed)) {
            return 1;
        }
        double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        double mean = Arrays.stream(v).average().orElse(0);
        double var = Arrays.stream(v).map(x -> (x - mean) * (x - mean)).sum() / (n - 1);
        double upper = Math.sqrt(Arrays.stream(v).filter(x -> x > median).map(x -> (x - median) * (x - median))
                .average().orElse(0));
        double scale = Math.max(Math.sqrt(var), upper);
        if (!(scale > 0)) {
            return observed > median ? 0 : 1;
        }
        return StudentT.survival((observed - median) / (scale * Math.sqrt(1 + 1.0 / n)), n - 1);
    }

    private static long crc(String id) {
        CRC32 crc = new CRC32();
        crc.update(id.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return crc.getValue();
    }
}
