package dev.imprint.capture;

/** Which OpenAI-compatible route a capture asks, and what it records per probe. */
public enum EndpointKind {
    /** {@code /chat/completions} with {@code logprobs} and {@code top_logprobs}: a top-k row. */
    CHAT("chat/completions", true),
    /** {@code /completions} (the legacy route) with {@code logprobs}: a top-k row. */
    COMPLETIONS("completions", true),
    /** {@code /embeddings} of the probe's text: an embedding row. */
    EMBEDDINGS("embeddings", false),
    /** A chat answer from {@code /chat/completions}, then its embedding from a second endpoint's {@code /embeddings}. */
    ANSWER_THEN_EMBED("chat/completions", false);

    private final String route;
    private final boolean topK;

    EndpointKind(String route, boolean topK) {
        this.route = route;
        this.topK = topK;
    }

    /** The path below the base URL that this kind calls first. */
    public String route() {
        return route;
    }

    /** Whether a probe's answer is a top-k next-token row (else an embedding). */
    public boolean topK() {
        return topK;
    }
}
