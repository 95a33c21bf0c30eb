package dev.imprint.endpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * What each fault makes of a request: an error reply in place of the answer, or a correct answer
 * changed the way a faulty endpoint would change it. Sleeping and dropping the connection are the
 * handler's, as they act on the exchange rather than the reply.
 */
final class FaultEffects {
    private FaultEffects() {}

    /** The error reply that {@code status} plays instead of any answer. */
    static Reply statusReply(Fault.Status status) {
        int code = status.code();
        boolean server = code >= 500;
        return Reply.error(code, server
                ? "The server had an error while processing your request. Sorry about that! (injected " + code + ")"
                : "The request was refused (injected " + code + ").",
                server ? "server_error" : "invalid_request_error", null, null);
    }

    /** A 429 with OpenAI's rate-limit body, and Retry-After when the fault gives seconds. */
    static Reply rateLimitedReply(Fault.RateLimited limited) {
        Map<String, String> headers = limited.retryAfterSeconds() == null ? Map.of()
                : Map.of("Retry-After", Integer.toString(limited.retryAfterSeconds()));
        return Reply.error(429, headers, "Rate limit reached for requests (injected). Please try again later.",
                "requests", null, "rate_limit_exceeded");
    }

    /** The answer with every choice's {@code logprobs} set to null; other replies unchanged. */
    static Reply withoutLogprobs(Reply reply) {
        JsonNode choices = reply.body().path("choices");
        for (JsonNode choice : choices) {
            ((ObjectNode) choice).putNull("logprobs");
        }
        return reply;
    }

    /**
     * The answer with each position's top logprobs emptied: {@code []} in chat's shape, {@code {}}
     * in the legacy completion shape; other replies unchanged.
     */
    static Reply withEmptyTopLogprobs(Reply reply) {
        for (JsonNode choice : reply.body().path("choices")) {
            JsonNode logprobs = choice.path("logprobs");
            for (JsonNode position : logprobs.path("content")) {
                ((ObjectNode) position).set("top_logprobs", JsonNodeFactory.instance.arrayNode());
            }
            JsonNode legacyTop = logprobs.path("top_logprobs");
            for (int i = 0; i < legacyTop.size(); i++) {
                ((ArrayNode) legacyTop).set(i, JsonNodeFactory.instance.objectNode());
            }
        }
        return reply;
    }

    /** The first half of {@code body}: a JSON object cut short, which no parser accepts. */
    static byte[] truncated(String body) {
        return body.substring(0, body.length() / 2).getBytes(StandardCharsets.UTF_8);
    }
}
