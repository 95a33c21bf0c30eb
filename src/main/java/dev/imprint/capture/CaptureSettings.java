package dev.imprint.capture;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.time.Duration;

/**
 * How a capture asks an endpoint for its answers.
 *
 * @param baseUrl      the endpoint's base URL, up to and including {@code /v1}
 * @param model        the endpoint's model name
 * @param apiKey       the bearer key, or null for none
 * @param keyHint      where the key comes from, said when the endpoint refuses it
 * @param kind         which route, and so what is recorded per probe
 * @param topLogprobs  top-k entries asked per probe (top-k kinds)
 * @param maxTokens    tokens asked per answer (1 for a next-token row)
 * @param temperature  the sampling temperature sent
 * @param embedder     the second endpoint that embeds answers ({@link EndpointKind#ANSWER_THEN_EMBED}), or null
 * @param concurrency  requests in flight at once
 * @param perSecond    most requests started per second; 0 for no limit
 * @param timeout      longest one request may take
 * @param retries      how many times one probe's request is asked again after a retryable failure
 */
public record CaptureSettings(URI baseUrl, String model, String apiKey, String keyHint, EndpointKind kind,
                              int topLogprobs, int maxTokens, double temperature, Embedder embedder,
                              int concurrency, double perSecond, Duration timeout, int retries) {

    /** The endpoint that embeds chat answers: its base URL, model and key. */
    public record Embedder(URI baseUrl, String model, String apiKey, String keyHint) {
    }

    public CaptureSettings {
        if (concurrency < 1 || retries < 0 || timeout.isNegative() || timeout.isZero() || maxTokens < 1
                || kind.topK() && (topLogprobs < 1 || topLogprobs > 20)) {
            throw new IllegalArgumentException("invalid capture settings: " + this);
        }
        if ((kind == EndpointKind.ANSWER_THEN_EMBED) != (embedder != null)) {
            throw new IllegalArgumentException("an embedder goes with ANSWER_THEN_EMBED, and only with it");
        }
    }

    /** The URL of {@code route} below {@code base}. */
    static URI resolve(URI base, String route) {
        String b = base.toString();
        return URI.create((b.endsWith("/") ? b : b + "/") + route);
    }

    /**
     * What makes two captures the same for a checkpoint: everything that changes an answer, not
     * how fast it is fetched (concurrency, rate, timeout and retries may change between runs).
     */
    public ObjectNode identity(String probesDigest) {
        ObjectNode node = OpenAiProtocol.JSON.createObjectNode();
        node.put("base_url", baseUrl.toString());
        node.put("model", model);
        node.put("kind", kind.name());
        node.put("top_logprobs", kind.topK() ? topLogprobs : 0);
        node.put("max_tokens", maxTokens);
        node.put("temperature", temperature);
        if (embedder != null) {
            node.put("embed_base_url", embedder.baseUrl().toString());
            node.put("embed_model", embedder.model());
        }
        node.put("probes_sha256", probesDigest);
        return node;
    }
}
