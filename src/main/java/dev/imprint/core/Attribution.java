package dev.imprint.core;

import java.util.List;

/**
 * The attribution verdict for one suspect, with the numbers behind it.
 *
 * @param verdict     exactly one conclusion
 * @param modelId     the teacher named by {@link Verdict#DISTILLED_FROM}, else the closest candidate
 *                    (for context), or empty when there is none
 * @param family      the family of {@code modelId}, or the family named by {@link Verdict#SAME_FAMILY};
 *                    empty when unknown
 * @param pValue      the adjusted p-value of the claim the verdict makes or rejects: for the closest
 *                    candidate, that it is closer than every control, adjusted for the number of
 *                    candidates looked at (Holm); 1 when nothing was tested
 * @param alpha       the significance level the verdict used
 * @param reason      the verdict in a sentence a newcomer understands
 * @param effectSize  the matched-pairs rank-biserial correlation of the closest candidate against its
 *                    hardest control, in [-1, 1]; 0 when nothing was tested
 * @param probesUsed  the probes that carried a comparison
 * @param statistic   the per-probe statistic the tests compared: "ridge_coefficient", or
 *                    "ridge_coefficient_weighted" for a top-k truncated suspect
 * @param evidence    the probes that carry the decision, for the top candidates against their hardest
 *                    controls
 */
public record Attribution(Verdict verdict, String modelId, String family, double pValue, double alpha,
                          String reason, double effectSize, int probesUsed, String statistic,
                          List<Evidence> evidence) {
    public Attribution {
        evidence = List.copyOf(evidence);
    }

    /**
     * How much each probe favours {@code modelId} over {@code controlId}.
     *
     * @param probes        probe indices of the probe set, strongest contribution first
     * @param contributions per probe, the similarity to {@code modelId} minus that to
     *                      {@code controlId}: positive favours {@code modelId}
     * @param pValue        the unadjusted one-sided p-value of this comparison
     */
    public record Evidence(String modelId, String controlId, int[] probes, double[] contributions, double pValue) {
    }
}
