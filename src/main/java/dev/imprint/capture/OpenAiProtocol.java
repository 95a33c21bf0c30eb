package dev.imprint.capture;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.core.ChatMessage;
import dev.imprint.core.Probe;
import dev.imprint.topk.TopKEntry;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The OpenAI-compatible wire format a capture speaks: the request bodies it sends and what it
 * reads from the answers. Every answer shape checked here is one a real endpoint returns (OpenAI,
 * vLLM, llama.cpp's server, TGI); anything else is a {@link BadAnswer} saying what was missing.
 */
final class OpenAiProtocol {
    /** Reads decimals exactly, so a float written to a checkpoint reads back as the same float. */
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    private OpenAiProtocol() {}

    /**
     * {@code text} read with {@link #JSON}. Jackson reports a decimal whose exponent BigDecimal
     * cannot hold (such as {@code 1e9999999999}) as a NumberFormatException rather than a
     * JsonProcessingException; here it is one, so that such text is "not JSON" like any other.
     */
    static JsonNode readTree(String text) throws JsonProcessingException {
        try {
            return JSON.readTree(text);
        } catch (NumberFormatException e) {
            throw new JsonParseException(null, "a number BigDecimal cannot hold", e);
        }
    }

    /**
     * A chat completion asking for the first token's {@code topLogprobs} alternatives (0: none). A
     * completion probe goes as one user message, since most endpoints serve chat only.
     */
    static ObjectNode chatBody(String model, Probe probe, int topLogprobs, int maxTokens, double temperature) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        ArrayNode messages = body.putArray("messages");
        List<ChatMessage> chat = probe.prompt() != null ? List.of(new ChatMessage("user", probe.prompt()))
                : probe.messages();
        for (ChatMessage m : chat) {
            messages.addObject().put("role", m.role()).put("content", m.content());
        }
        body.put("max_tokens", maxTokens);
        body.put("temperature", temperature);
        if (topLogprobs > 0) {
            body.put("logprobs", true);
            body.put("top_logprobs", topLogprobs);
        }
        return body;
    }

    /** A legacy completion asking for the first token's {@code topLogprobs} alternatives. */
    static ObjectNode completionBody(String model, Probe probe, int topLogprobs, int maxTokens, double temperature) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        body.put("prompt", probe.prompt());
        body.put("max_tokens", maxTokens);
        body.put("temperature", temperature);
        body.put("logprobs", topLogprobs);
        return body;
    }

    static ObjectNode embeddingBody(String model, String input) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        body.put("input", input);
        return body;
    }

    /** What an embeddings endpoint embeds for a probe: its prompt, or its messages' contents one per line. */
    static String text(Probe probe) {
        if (probe.prompt() != null) {
            return probe.prompt();
        }
        StringBuilder text = new StringBuilder();
        for (ChatMessage m : probe.messages()) {
            text.append(text.length() == 0 ? "" : "\n").append(m.content());
        }
        return text.toString();
    }

    /**
     * The first generated token's top logprobs, most probable first as the endpoint lists them.
     * Entries whose logprob is {@code -inf} (a token listed as impossible) are left out: they carry
     * no mass.
     *
     * @param requested how many were asked for; an answer with fewer than {@code min(requested, 2)}
     *                  comes from an endpoint that ignores {@code top_logprobs}
     */
    static List<TopKEntry> topK(JsonNode answer, EndpointKind kind, int requested) throws BadAnswer {
        JsonNode choice = firstChoice(answer);
        JsonNode logprobs = choice.get("logprobs");
        if (logprobs == null || logprobs.isNull()) {
            throw new BadAnswer("the answer carries no logprobs; the endpoint does not return them for this model "
                    + "(vLLM needs --max-logprobs; Anthropic's API never returns them)");
        }
        List<TopKEntry> entries = kind == EndpointKind.CHAT ? chatTopK(logprobs) : completionTopK(logprobs);
        int least = Math.min(requested, 2);
        if (entries.size() < least) {
            throw new BadAnswer(String.format("the answer lists %d top logprobs of the %d asked: the endpoint "
                    + "ignores top_logprobs", entries.size(), requested));
        }
        return entries;
    }

    private static List<TopKEntry> chatTopK(JsonNode logprobs) throws BadAnswer {
        JsonNode content = logprobs.get("content");
        if (content == null || !content.isArray() || content.isEmpty()) {
            throw new BadAnswer("logprobs.content lists no generated token");
        }
        JsonNode top = content.get(0).get("top_logprobs");
        List<TopKEntry> entries = new ArrayList<>();
        if (top == null || top.isNull()) {
            return entries;
        }
        if (!top.isArray()) {
            throw new BadAnswer("logprobs.content[0].top_logprobs is not a list");
        }
        for (JsonNode e : top) {
            JsonNode token = e.get("token");
            if (token == null || !token.isTextual()) {
                throw new BadAnswer("a top_logprobs entry has no token string");
            }
            add(entries, token.asText(), e.get("logprob"));
        }
        return entries;
    }

    private static List<TopKEntry> completionTopK(JsonNode logprobs) throws BadAnswer {
        JsonNode top = logprobs.get("top_logprobs");
        List<TopKEntry> entries = new ArrayList<>();
        if (top == null || top.isNull() || top.isArray() && top.isEmpty()) {
            return entries;
        }
        JsonNode first = top.isArray() ? top.get(0) : null;
        if (first == null || !first.isObject()) {
            throw new BadAnswer("logprobs.top_logprobs[0] is not an object of token: logprob");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = first.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            add(entries, e.getKey(), e.getValue());
        }
        entries.sort((a, b) -> Double.compare(b.logprob(), a.logprob()));
        return entries;
    }

    private static void add(List<TopKEntry> entries, String token, JsonNode logprob) throws BadAnswer {
        if (logprob == null || !logprob.isNumber()) {
            throw new BadAnswer("token '" + token + "' has no numeric logprob (" + logprob + ")");
        }
        double value = logprob.asDouble();
        if (Double.isNaN(value) || value > 1e-6) {
            throw new BadAnswer("token '" + token + "' has logprob " + value + "; a log-probability is at most 0");
        }
        if (value != Double.NEGATIVE_INFINITY) {
            entries.add(new TopKEntry(token, Math.min(value, 0)));
        }
    }

    /** The assistant's answer text of a chat completion. */
    static String content(JsonNode answer) throws BadAnswer {
        JsonNode message = firstChoice(answer).get("message");
        JsonNode content = message == null ? null : message.get("content");
        if (content == null || !content.isTextual()) {
            throw new BadAnswer("choices[0].message.content is not text");
        }
        return content.asText();
    }

    /** The first embedding of an embeddings answer, every value finite. */
    static float[] embedding(JsonNode answer) throws BadAnswer {
        JsonNode data = answer.get("data");
        JsonNode values = data != null && data.isArray() && !data.isEmpty() ? data.get(0).get("embedding") : null;
        if (values == null || !values.isArray() || values.isEmpty()) {
            throw new BadAnswer("the answer has no data[0].embedding list");
        }
        float[] row = new float[values.size()];
        for (int i = 0; i < row.length; i++) {
            JsonNode v = values.get(i);
            if (!v.isNumber() || !Float.isFinite(v.floatValue())) {
                throw new BadAnswer("embedding value " + i + " is " + v + ", not a finite float32");
            }
            row[i] = v.floatValue();
        }
        return row;
    }

    private static JsonNode firstChoice(JsonNode answer) throws BadAnswer {
        JsonNode choices = answer.get("choices");
        if (choices == null || !choices.isArray() || choices.isEmpty()) {
            throw new BadAnswer("the answer has no choices");
        }
        return choices.get(0);
    }

    /** The message of an OpenAI-style error body ({@code {"error": {"message": ...}}}), or a prefix of the body. */
    static String errorMessage(String body) {
        try {
            JsonNode message = JSON.readTree(body).path("error").path("message");
            if (message.isTextual()) {
                return message.asText();
            }
        } catch (java.io.IOException | RuntimeException notJson) {
            // fall through to the raw text
        }
        return abbreviate(body);
    }

    /** At most 120 characters of {@code text} on one line, for error messages. */
    static String abbreviate(String text) {
        String line = text.replaceAll("\\s+", " ").strip();
        return line.length() <= 120 ? line : line.substring(0, 117) + "...";
    }
}
