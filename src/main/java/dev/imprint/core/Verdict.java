package dev.imprint.core;

/** What attribution concludes about one suspect; see README "Reading a verdict". */
public enum Verdict {
    /** One protected model is significantly closer than every control, its siblings included. */
    DISTILLED_FROM,
    /** A family's members are closer than the rest, but no single member stands out. */
    SAME_FAMILY,
    /** Nothing is significantly closer than the background and the rest of the panel. */
    INDEPENDENT,
    /** The panel or the suspect cannot support a decision; the reason says why. */
    INCONCLUSIVE
}
