package dev.imprint.evaluate;

import dev.imprint.core.Verdict;

/** What an evaluation suspect really is, and so the verdict it should get. */
public enum Truth {
    /** Distilled from a protected reference: should be DISTILLED_FROM that reference. */
    DISTILLED(Verdict.DISTILLED_FROM),
    /**
     * Shares a reference family's base without being distilled from any reference (a new fine-tune,
     * the base itself, a student of a family model outside the panel): should be SAME_FAMILY, and
     * must never be DISTILLED_FROM more often than alpha.
     */
    SHARES_A_BASE(Verdict.SAME_FAMILY),
    /** Related to no reference: should be INDEPENDENT. */
    INDEPENDENT(Verdict.INDEPENDENT);

    private final Verdict expected;

    Truth(Verdict expected) {
        this.expected = expected;
    }

    /** The verdict a perfect detector gives. */
    public Verdict expected() {
        return expected;
    }

    /** Whether a DISTILLED_FROM verdict for such a suspect is a false positive. */
    public boolean isNegative() {
        return this != DISTILLED;
    }
}
