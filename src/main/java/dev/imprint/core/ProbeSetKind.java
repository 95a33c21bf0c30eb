package dev.imprint.core;

/** What the rows of a probe set hold. */
public enum ProbeSetKind {
    /** Real vectors, such as an embedding of the model's answer. */
    EMBEDDING,
    /** Probability vectors over a support shared by every model, such as next-token distributions. */
    DISTRIBUTION
}
