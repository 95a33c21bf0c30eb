package dev.imprint.core;

import java.text.Normalizer;

/**
 * How next-token distributions captured from different tokenizers are put on one support,
 * declared per probe set so that every fingerprint on it is captured and compared alike: each
 * token string an endpoint returns is mapped to a key ({@link #key}), and the support of a probe is
 * a set of keys.
 */
public enum VocabularyMode {
    /** Token strings as the endpoint returns them: only models sharing a tokenizer compare. */
    EXACT,
    /**
     * Token strings in Unicode NFC with the byte-level markers of common tokenizers folded to the
     * text they stand for: a leading {@code Ġ} (GPT-2 style BPE) or {@code ▁} (SentencePiece) is a
     * space, {@code Ċ} a newline. Models whose tokenizers differ only in those conventions compare.
     */
    NORMALISED,
    /**
     * The first character of the continuation, after any leading whitespace (a token of only
     * whitespace keeps its first character): each token's mass goes to it. Two tokenizers that
     * split the same text differently give the same next-character marginal, so this is the
     * tokenizer-agnostic mode. The leading whitespace is skipped because nearly every word token
     * starts with a space, which would put nearly all the mass on one key.
     */
    FIRST_CHARACTER;

    /** The key of {@code token} in this mode. */
    public String key(String token) {
        if (this == EXACT) {
            return token;
        }
        String text = normalised(token);
        if (this == NORMALISED) {
            return text;
        }
        int at = 0;
        while (at < text.length() && Character.isWhitespace(text.codePointAt(at))) {
            at += Character.charCount(text.codePointAt(at));
        }
        if (at == text.length()) {
            at = 0;
        }
        return text.isEmpty() ? "" : new String(Character.toChars(text.codePointAt(at)));
    }

    private static String normalised(String token) {
        String text = token;
        if (text.startsWith("\u0120") || text.startsWith("\u2581")) {
            text = " " + text.substring(1);
        }
        text = text.replace('\u010A', '\n').replace('\u2581', ' ');
        return Normalizer.normalize(text, Normalizer.Form.NFC);
    }
}
