package dev.imprint.endpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.imprint.endpoint.SyntheticModels.Kind;
import dev.imprint.endpoint.SyntheticModels.Model;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the fields of an OpenAI request body with OpenAI's validation: each bad field is an
 * {@link ApiError} naming the field, the value and what was expected.
 */
final class RequestFields {
    private final JsonNode body;

    RequestFields(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiError.badRequest(null, "We could not parse the JSON body of your request. The body must be a "
                    + "JSON object with the request's parameters.");
        }
        this.body = body;
    }

    /**
     * The prompt text that keys faults and the request log: a chat request's message contents
     * joined by "\n", a completion's prompt, embeddings' inputs joined by "\n"; null when the
     * body has none of these in a readable shape.
     */
    static String promptText(JsonNode body) {
        if (body == null || !body.isObject()) {
            return null;
        }
        try {
            RequestFields fields = new RequestFields(body);
            if (body.has("messages")) {
                return fields.chatPrompt();
            }
            if (body.has("prompt")) {
                return fields.completionPrompt();
            }
            if (body.has("input")) {
                return String.join("\n", fields.embeddingInputs());
            }
        } catch (ApiError unreadable) {
            // The route reports the bad field; the log and the faults just see no prompt.
        }
        return null;
    }

    /** The requested model, which must exist and be of {@code kind}. */
    Model model(SyntheticModels models, Kind kind, String route) {
        JsonNode id = body.get("model");
        if (id == null || !id.isTextual()) {
            throw ApiError.badRequest("model", "you must provide a model parameter");
        }
        Model model = models.find(id.asText()).orElseThrow(() -> new ApiError(404,
                "The model `" + id.asText() + "` does not exist or you do not have access to it.", null,
                "model_not_found"));
        if (model.kind() != kind) {
            throw new ApiError(404, "The model `" + model.id() + "` is " + (kind == Kind.CHAT
                    ? "an embedding model" : "not an embedding model") + " and thus not supported in the " + route
                    + " endpoint.", "model", null);
        }
        return model;
    }

    /** The messages' contents joined by "\n"; content may be a string or a list of text parts. */
    String chatPrompt() {
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiError.badRequest("messages", "Invalid 'messages': expected a non-empty array of messages.");
        }
        List<String> contents = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            String where = "messages[" + i + "]";
            if (!message.isObject() || !message.path("role").isTextual()) {
                throw ApiError.badRequest(where, "Invalid '" + where + "': expected an object with a string 'role'.");
            }
            contents.add(content(message.get("content"), where + ".content"));
        }
        return String.join("\n", contents);
    }

    private static String content(JsonNode content, String where) {
        if (content != null && content.isTextual()) {
            return content.asText();
        }
        if (content != null && content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiError.badRequest(where, "Invalid '" + where + "': only text parts are supported.");
                }
                text.append(part.get("text").asText());
            }
            return text.toString();
        }
        throw ApiError.badRequest(where, "Invalid '" + where + "': expected a string or an array of text parts.");
    }

    /** A legacy completion's prompt: a string, or an array holding one string. */
    String completionPrompt() {
        JsonNode prompt = body.get("prompt");
        if (prompt != null && prompt.isArray() && prompt.size() == 1) {
            prompt = prompt.get(0);
        }
        if (prompt == null || !prompt.isTextual()) {
            throw ApiError.badRequest("prompt", "Invalid 'prompt': expected a string (or an array of one string).");
        }
        return prompt.asText();
    }

    /** Embedding inputs: a string or a non-empty array of strings, none empty. */
    List<String> embeddingInputs() {
        JsonNode input = body.get("input");
        List<String> inputs = new ArrayList<>();
        if (input != null && input.isTextual()) {
            inputs.add(input.asText());
        } else if (input != null && input.isArray() && !input.isEmpty()) {
            for (JsonNode item : input) {
                if (!item.isTextual()) {
                    throw ApiError.badRequest("input", "Invalid 'input': expected strings; token arrays are not "
                            + "supported.");
                }
                inputs.add(item.asText());
            }
        } else {
            throw ApiError.badRequest("input", "Invalid 'input': expected a string or a non-empty array of strings.");
        }
        if (inputs.stream().anyMatch(String::isEmpty)) {
            throw ApiError.badRequest("input", "Invalid 'input': an input is empty; expected non-empty strings.");
        }
        return inputs;
    }

    /** An integer field in {@code min..max}, or {@code absent} when missing or null. */
    int integer(String field, int min, int max, int absent) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return absent;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt()) {
            throw ApiError.badRequest(field, "Invalid '" + field + "': expected an integer, but got " + value + ".");
        }
        int n = value.asInt();
        if (n < min) {
            throw new ApiError(400, "Invalid '" + field + "': integer below minimum value. Expected a value >= " + min
                    + ", but got " + n + " instead.", field, "integer_below_min_value");
        }
        if (n > max) {
            throw new ApiError(400, "Invalid '" + field + "': integer above maximum value. Expected a value <= " + max
                    + ", but got " + n + " instead.", field, "integer_above_max_value");
        }
        return n;
    }

    /** A number field in {@code min..max}, or {@code absent} when missing or null. */
    double number(String field, double min, double max, double absent) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return absent;
        }
        if (!value.isNumber() || value.asDouble() < min || value.asDouble() > max) {
            throw ApiError.badRequest(field, "Invalid '" + field + "': expected a number in " + min + ".." + max
                    + ", but got " + value + ".");
        }
        return value.asDouble();
    }

    /** A boolean field, or false when missing or null. */
    boolean flag(String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return false;
        }
        if (!value.isBoolean()) {
            throw ApiError.badRequest(field, "Invalid '" + field + "': expected a boolean, but got " + value + ".");
        }
        return value.asBoolean();
    }

    /** A 64-bit integer field, or {@code absent} when missing or null. */
    long longInteger(String field, long absent) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return absent;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw ApiError.badRequest(field, "Invalid '" + field + "': expected an integer, but got " + value + ".");
        }
        return value.asLong();
    }

    boolean has(String field) {
        JsonNode value = body.get(field);
        return value != null && !value.isNull();
    }

    /** A string field, or {@code absent} when missing or null. */
    String text(String field, String absent) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return absent;
        }
        if (!value.isTextual()) {
            throw ApiError.badRequest(field, "Invalid '" + field + "': expected a string, but got " + value + ".");
        }
        return value.asText();
    }
}
