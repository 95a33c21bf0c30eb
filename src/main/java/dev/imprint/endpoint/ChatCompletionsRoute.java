package dev.imprint.endpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.endpoint.SyntheticModels.Kind;
import dev.imprint.endpoint.SyntheticModels.Model;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code POST /v1/chat/completions}: a chat model's answer in OpenAI's {@code chat.completion}
 * shape, with per-token {@code logprobs.content} and up to 20 {@code top_logprobs} when asked.
 */
final class ChatCompletionsRoute {
    static final int MAX_TOP_LOGPROBS = 20;
    /** OpenAI's legacy default for a completion's length; chat has none, so the same serves both. */
    static final int DEFAULT_MAX_TOKENS = 16;
    /** Far beyond what a probe asks, and it keeps one request's work bounded. */
    static final int MAX_TOKENS_LIMIT = 4096;
    /** OpenAI's default sampling temperature. */
    static final double DEFAULT_TEMPERATURE = 1.0;

    private static final AtomicLong IDS = new AtomicLong();
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private final SyntheticModels models;
    private final Generator generator;

    ChatCompletionsRoute(SyntheticModels models) {
        this.models = models;
        this.generator = new Generator(models);
    }

    Reply answer(JsonNode body) {
        RequestFields fields = new RequestFields(body);
        Model model = fields.model(models, Kind.CHAT, "v1/chat/completions");
        String prompt = fields.chatPrompt();
        int maxTokens = fields.has("max_completion_tokens")
                ? fields.integer("max_completion_tokens", 1, MAX_TOKENS_LIMIT, DEFAULT_MAX_TOKENS)
                : fields.integer("max_tokens", 1, MAX_TOKENS_LIMIT, DEFAULT_MAX_TOKENS);
        double temperature = fields.number("temperature", 0, 2, DEFAULT_TEMPERATURE);
        long seed = fields.longInteger("seed", 0);
        boolean logprobs = fields.flag("logprobs");
        int topLogprobs = fields.integer("top_logprobs", 0, MAX_TOP_LOGPROBS, 0);
        if (fields.has("top_logprobs") && !logprobs) {
            throw ApiError.badRequest("top_logprobs", "Invalid 'top_logprobs': logprobs must be set to true if "
                    + "top_logprobs is used.");
        }
        if (fields.integer("n", 1, 1, 1) != 1) {
            throw ApiError.badRequest("n", "Invalid 'n': only 1 choice is supported.");
        }

        Generator.Completion completion = generator.complete(model, prompt, maxTokens, temperature, seed);
        ObjectNode message = JSON.objectNode();
        message.put("role", "assistant");
        message.put("content", completion.text());
        message.putNull("refusal");
        ObjectNode choice = JSON.objectNode();
        choice.put("index", 0);
        choice.set("message", message);
        choice.set("logprobs", logprobs ? logprobs(completion, topLogprobs) : JSON.nullNode());
        choice.put("finish_reason", completion.finishReason());

        ObjectNode response = JSON.objectNode();
        response.put("id", "chatcmpl-synthetic-" + IDS.incrementAndGet());
        response.put("object", "chat.completion");
        response.put("created", Instant.now().getEpochSecond());
        response.put("model", model.id());
        response.set("choices", JSON.arrayNode().add(choice));
        response.set("usage", usage(model.tokenizer().countTokens(prompt), completion.steps().size()));
        response.put("system_fingerprint", "fp_imprint_synthetic");
        return Reply.ok(response);
    }

    private static ObjectNode logprobs(Generator.Completion completion, int topLogprobs) {
        ArrayNode content = JSON.arrayNode();
        for (Generator.Step step : completion.steps()) {
            ObjectNode position = tokenLogprob(step.token(), step.logprob());
            ArrayNode top = JSON.arrayNode();
            for (Map.Entry<String, Double> alternative : step.distribution().entrySet()) {
                if (top.size() == topLogprobs) {
                    break;
                }
                top.add(tokenLogprob(alternative.getKey(), Math.log(alternative.getValue())));
            }
            position.set("top_logprobs", top);
            content.add(position);
        }
        ObjectNode logprobs = JSON.objectNode();
        logprobs.set("content", content);
        logprobs.putNull("refusal");
        return logprobs;
    }

    private static ObjectNode tokenLogprob(String token, double logprob) {
        ObjectNode node = JSON.objectNode();
        node.put("token", token);
        node.put("logprob", logprob);
        ArrayNode bytes = JSON.arrayNode();
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xFF);
        }
        node.set("bytes", bytes);
        return node;
    }

    static ObjectNode usage(int promptTokens, int completionTokens) {
        ObjectNode usage = JSON.objectNode();
        usage.put("prompt_tokens", promptTokens);
        usage.put("completion_tokens", completionTokens);
        usage.put("total_tokens", promptTokens + completionTokens);
        return usage;
    }
}
