package dev.imprint.topk;

/**
 * One entry of a top-k answer, as OpenAI-compatible endpoints return it.
 *
 * @param token   the token's string
 * @param logprob its natural-log probability; {@code -Infinity} for a token listed as impossible,
 *                NaN when the endpoint gave none
 */
public record TopKEntry(String token, double logprob) {
    public TopKEntry {
        if (token == null) {
            throw new IllegalArgumentException("a top-k entry needs a token string");
        }
    }
}
