package dev.imprint.core;

/**
 * How next-token distributions captured from different tokenizers are put on one support,
 * declared per probe set so that every fingerprint on it is captured and compared alike.
 */
public enum VocabularyMode {
    /** Token strings as the endpoint returns them: only models sharing a tokenizer compare. */
    EXACT,
    /** Token strings with leading-space markers (Ġ, ▁) folded to a space and Unicode NFC applied. */
    NORMALISED,
    /** Each token's mass goes to its first Unicode character: tokenizer-agnostic. */
    FIRST_CHARACTER
}
