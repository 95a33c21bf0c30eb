package dev.imprint.endpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.endpoint.SyntheticModels.Kind;
import dev.imprint.endpoint.SyntheticModels.Model;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;

/**
 * {@code POST /v1/embeddings}: unit vectors from an embedding model, as float32 values, or as
 * base64 of little-endian float32 when {@code encoding_format} is {@code base64} (what OpenAI's
 * Python client asks for by default).
 */
final class EmbeddingsRoute {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private final SyntheticModels models;

    EmbeddingsRoute(SyntheticModels models) {
        this.models = models;
    }

    Reply answer(JsonNode body) {
        RequestFields fields = new RequestFields(body);
        Model model = fields.model(models, Kind.EMBEDDING, "v1/embeddings");
        List<String> inputs = fields.embeddingInputs();
        String format = fields.text("encoding_format", "float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw ApiError.badRequest("encoding_format", "Invalid 'encoding_format': expected 'float' or 'base64', "
                    + "but got '" + format + "'.");
        }
        ArrayNode data = JSON.arrayNode();
        int tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            double[] vector = models.embedding(model.id(), inputs.get(i));
            ObjectNode item = JSON.objectNode();
            item.put("object", "embedding");
            item.put("index", i);
            if (format.equals("base64")) {
                item.put("embedding", base64(vector));
            } else {
                ArrayNode values = JSON.arrayNode();
                for (double v : vector) {
                    values.add((float) v);
                }
                item.set("embedding", values);
            }
            data.add(item);
            tokens += model.tokenizer().countTokens(inputs.get(i));
        }
        ObjectNode usage = JSON.objectNode();
        usage.put("prompt_tokens", tokens);
        usage.put("total_tokens", tokens);
        ObjectNode response = JSON.objectNode();
        response.put("object", "list");
        response.set("data", data);
        response.put("model", model.id());
        response.set("usage", usage);
        return Reply.ok(response);
    }

    private static String base64(double[] vector) {
        ByteBuffer bytes = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : vector) {
            bytes.putFloat((float) v);
        }
        return Base64.getEncoder().encodeToString(bytes.array());
    }
}
