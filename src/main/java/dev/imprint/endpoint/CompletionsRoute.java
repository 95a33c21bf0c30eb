package dev.imprint.endpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.endpoint.SyntheticModels.Kind;
import dev.imprint.endpoint.SyntheticModels.Model;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code POST /v1/completions}: the legacy completion shape, {@code choices[0].text} with
 * {@code logprobs = {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}}.
 * OpenAI caps {@code logprobs} at 5; this endpoint accepts up to 20.
 */
final class CompletionsRoute {
    static final int MAX_LOGPROBS = 20;

    private static final AtomicLong IDS = new AtomicLong();
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private final SyntheticModels models;
    private final Generator generator;

    CompletionsRoute(SyntheticModels models) {
        this.models = models;
        this.generator = new Generator(models);
    }

    Reply answer(JsonNode body) {
        RequestFields fields = new RequestFields(body);
        Model model = fields.model(models, Kind.CHAT, "v1/completions");
        String prompt = fields.completionPrompt();
        int maxTokens = fields.integer("max_tokens", 1, ChatCompletionsRoute.MAX_TOKENS_LIMIT,
                ChatCompletionsRoute.DEFAULT_MAX_TOKENS);
        double temperature = fields.number("temperature", 0, 2, ChatCompletionsRoute.DEFAULT_TEMPERATURE);
        long seed = fields.longInteger("seed", 0);
        boolean logprobs = fields.has("logprobs");
        int topLogprobs = fields.integer("logprobs", 0, MAX_LOGPROBS, 0);

        Generator.Completion completion = generator.complete(model, prompt, maxTokens, temperature, seed);
        ObjectNode choice = JSON.objectNode();
        choice.put("text", completion.text());
        choice.put("index", 0);
        choice.set("logprobs", logprobs ? logprobs(completion, topLogprobs, prompt.length(), model) : JSON.nullNode());
        choice.put("finish_reason", completion.finishReason());

        ObjectNode response = JSON.objectNode();
        response.put("id", "cmpl-synthetic-" + IDS.incrementAndGet());
        response.put("object", "text_completion");
        response.put("created", Instant.now().getEpochSecond());
        response.put("model", model.id());
        response.set("choices", JSON.arrayNode().add(choice));
        response.set("usage", ChatCompletionsRoute.usage(model.tokenizer().countTokens(prompt),
                completion.steps().size()));
        return Reply.ok(response);
    }

    /** Offsets count characters of prompt plus completion, so the first token's is the prompt's length. */
    private static ObjectNode logprobs(Generator.Completion completion, int topLogprobs, int promptLength, Model model) {
        ArrayNode tokens = JSON.arrayNode();
        ArrayNode tokenLogprobs = JSON.arrayNode();
        ArrayNode top = JSON.arrayNode();
        ArrayNode offsets = JSON.arrayNode();
        int offset = promptLength;
        for (Generator.Step step : completion.steps()) {
            tokens.add(step.token());
            tokenLogprobs.add(step.logprob());
            ObjectNode alternatives = JSON.objectNode();
            for (Map.Entry<String, Double> alternative : step.distribution().entrySet()) {
                if (alternatives.size() == topLogprobs) {
                    break;
                }
                alternatives.put(alternative.getKey(), Math.log(alternative.getValue()));
            }
            top.add(alternatives);
            offsets.add(offset);
            offset += model.tokenizer().decode(step.token()).length();
        }
        ObjectNode logprobs = JSON.objectNode();
        logprobs.set("tokens", tokens);
        logprobs.set("token_logprobs", tokenLogprobs);
        logprobs.set("top_logprobs", top);
        logprobs.set("text_offset", offsets);
        return logprobs;
    }
}
