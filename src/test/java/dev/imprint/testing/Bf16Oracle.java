package dev.imprint.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.engine.BatchScores;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.SuspectBatch;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The float64 oracle of COSINE on bf16 reference rows, for both backends' bf16 modes.
 *
 * <p>The bound. bf16 keeps 8 significant bits, so rounding to nearest moves a value by at most
 * 2^-8 of itself; the unit value u = r/|r| is rounded to fp32 first (2^-24), so each stored value
 * b_k has |b_k - u_k| <= (2^-8 + 2^-23)|u_k|. The products are sum b_k x_k / |x| with the suspect
 * x in fp32, so the cosine moves by at most (2^-8 + 2^-23) sum |u_k x_k| / |x|, which is at most
 * 2^-8 + 2^-23 by Cauchy-Schwarz, on top of the fp32 tolerance; a mean over probes by at most the
 * mean of its probes' bounds.
 */
public final class Bf16Oracle {
    /** Relative movement of one stored unit value: bf16 rounding of the fp32 rounding of u. */
    public static final double ROUNDING = 0x1p-8 + 0x1p-23;

    private Bf16Oracle() {}

    /**
     * COSINE means (and per-probe values when {@code perProbe}) of {@code resident} within
     * {@code rounding} sum |u_k x_k| / |x| (per probe; its mean for means) plus the fp32 tolerance
     * of the oracle's; {@code rows} holds each reference's rows.
     */
    public static void assertWithin(ProbeSet set, ResidentReferences resident, Map<String, float[]> rows,
                                    SuspectBatch batch, List<String> modelIds, boolean perProbe, double rounding) {
        BatchScores scores = resident.score(batch, modelIds, EnumSet.of(Metric.COSINE), perProbe);
        assertEquals(batch.size(), scores.suspects(), "suspects");
        assertEquals(modelIds.size(), scores.references(), "references");
        int[] probes = batch.probeIndices();
        for (int s = 0; s < batch.size(); s++) {
            float[] suspect = batch.suspects().get(s);
            for (int r = 0; r < modelIds.size(); r++) {
                float[] ref = rows.get(modelIds.get(r));
                double meanExpected = 0;
                double meanBound = 0;
                double[] values = perProbe ? scores.perProbe(Metric.COSINE, s, r) : null;
                for (int i = 0; i < probes.length; i++) {
                    double e = Float64Metrics.perProbe(set, Metric.COSINE, ref, probes[i], suspect, i);
                    double b = rounding * absDotOverNorm(ref, probes[i], suspect, i, set.dim());
                    meanExpected += e / probes.length;
                    meanBound += b / probes.length;
                    if (perProbe) {
                        check(e, values[i], b, "suspect " + s + " vs " + modelIds.get(r) + " probe " + probes[i]);
                    }
                }
                check(meanExpected, scores.value(Metric.COSINE, s, r), meanBound,
                        "suspect " + s + " vs " + modelIds.get(r));
            }
        }
    }

    /** sum_k |u_k x_k| / |x| for reference row p and suspect row i, u = r/|r|, in double. */
    public static double absDotOverNorm(float[] reference, int p, float[] suspect, int i, int dim) {
        double rr = 0;
        double xx = 0;
        double abs = 0;
        for (int k = 0; k < dim; k++) {
            double r = reference[p * dim + k];
            double x = suspect[i * dim + k];
            rr += r * r;
            xx += x * x;
            abs += Math.abs(r * x);
        }
        return abs / Math.sqrt(rr) / Math.sqrt(xx);
    }

    /** The bf16 values either side of {@code f}: toward zero and away from it. */
    public static float[] neighbours(float f) {
        int towardZero = Float.floatToRawIntBits(f) & 0xffff0000;
        return new float[] {Float.intBitsToFloat(towardZero), Float.intBitsToFloat(towardZero + 0x10000)};
    }

    /** Whether {@code f} lies exactly halfway between two bf16 values. */
    public static boolean isTie(float f) {
        float[] n = neighbours(f);
        return n[0] != f && Math.abs((double) f - n[0]) == Math.abs((double) n[1] - f);
    }

    /** The bf16 nearest {@code f}, a tie going to the one whose last kept bit is 0. */
    public static float nearest(float f) {
        float[] n = neighbours(f);
        double below = Math.abs((double) f - n[0]);
        double above = Math.abs((double) n[1] - f);
        if (below != above) {
            return below < above ? n[0] : n[1];
        }
        return (Float.floatToRawIntBits(n[0]) & 0x10000) == 0 ? n[0] : n[1];
    }

    private static void check(double expected, double actual, double bound, String what) {
        double tolerance = bound + Float64Metrics.tolerance(Metric.COSINE, expected);
        if (!(Math.abs(actual - expected) <= tolerance)) {
            fail(String.format(Locale.ROOT, "%s COSINE: expected %.9g, got %.9g (error %.3g > bound %.3g)", what,
                    expected, actual, Math.abs(actual - expected), tolerance));
        }
    }
}
