package dev.imprint.endpoint;

/**
 * How a synthetic model cuts words into tokens, and how it writes the tokens it returns. Both
 * keep a word's first character in its first token, so they agree on first characters while
 * splitting the same text differently. Symbols ({@code ,} {@code .} digits) are one token with
 * no space marker in both.
 */
public enum Tokenizer {
    /**
     * GPT-style byte-pair pieces as OpenAI returns them: a word's first token is a space and its
     * first 4 characters ({@code " walk"} for "walking"), or the whole word if shorter.
     */
    BPE(" ", 4),
    /** SentencePiece pieces as raw servers return them: {@code "▁wa"} for "walking". */
    SENTENCEPIECE("\u2581", 2);

    private final String spaceMarker;
    private final int pieceLength;

    Tokenizer(String spaceMarker, int pieceLength) {
        this.spaceMarker = spaceMarker;
        this.pieceLength = pieceLength;
    }

    /** The first token of {@code entry} when it follows other text (after a space). */
    public String firstToken(String entry) {
        if (Lexicon.isSymbol(entry)) {
            return entry;
        }
        return spaceMarker + entry.substring(0, Math.min(pieceLength, entry.length()));
    }

    /** The text a token stands for: the space marker read as a space. */
    public String decode(String token) {
        return token.startsWith(spaceMarker) ? " " + token.substring(spaceMarker.length()) : token;
    }

    /** How many tokens {@code text} takes: each whitespace-separated word in pieces of fixed length. */
    public int countTokens(String text) {
        int count = 0;
        for (String word : text.split("\\s+")) {
            if (!word.isEmpty()) {
                count += (word.length() + pieceLength - 1) / pieceLength;
            }
        }
        return count;
    }
}
