package dev.imprint.evaluate;

import dev.imprint.core.Attribution;

/**
 * One suspect's outcome: the verdict, and the detection scores of attribution and of the raw
 * baseline (higher means "more surely distilled from the named model").
 *
 * @param attributionScore −log10 of the true teacher's adjusted p-value for a distilled suspect,
 *                         of the smallest p-value of any candidate for a negative (0 without one)
 * @param rawScore         the raw metric's margin: how much closer the true teacher is than the
 *                         closest other protected reference (negative when it is not the closest),
 *                         or for a negative, how much closer its closest protected reference is
 *                         than the second closest
 * @param attributionTop1  the closest candidate attribution names, or "" when it names none
 * @param rawTop1          the protected reference the raw metric ranks first
 */
public record Scored(LabelledSuspect suspect, Attribution attribution, double attributionScore, double rawScore,
                     String attributionTop1, String rawTop1) {

    /** Whether the verdict is DISTILLED_FROM the true teacher. */
    public boolean detected() {
        return suspect.teacher() != null && attribution.verdict() == dev.imprint.core.Verdict.DISTILLED_FROM
                && attribution.modelId().equals(suspect.teacher());
    }

    /** Whether the verdict is DISTILLED_FROM for a suspect distilled from no reference, or from another one. */
    public boolean falselyDistilled() {
        return attribution.verdict() == dev.imprint.core.Verdict.DISTILLED_FROM && !detected();
    }
}
