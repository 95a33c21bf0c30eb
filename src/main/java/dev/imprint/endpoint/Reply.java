package dev.imprint.endpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/** One HTTP answer before it is written: status, extra headers and a JSON body. */
record Reply(int status, Map<String, String> headers, JsonNode body) {

    static Reply ok(JsonNode body) {
        return new Reply(200, Map.of(), body);
    }

    /**
     * An error in OpenAI's shape, {@code {"error":{"message","type","param","code"}}}; {@code param}
     * and {@code code} may be null, as OpenAI leaves them.
     */
    static Reply error(int status, String message, String type, String param, String code) {
        return error(status, Map.of(), message, type, param, code);
    }

    static Reply error(int status, Map<String, String> headers, String message, String type, String param,
            String code) {
        ObjectNode error = JsonNodeFactory.instance.objectNode();
        error.put("message", message);
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        body.set("error", error);
        return new Reply(status, headers, body);
    }
}
