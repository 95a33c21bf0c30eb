package dev.imprint.endpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** {@code GET /v1/models}: the catalog as OpenAI's model list. */
final class ModelsRoute {
    /** The catalog is fixed; its creation time is too, so listings are identical. */
    static final long CREATED = 1_700_000_000L;

    private final SyntheticModels models;

    ModelsRoute(SyntheticModels models) {
        this.models = models;
    }

    Reply answer() {
        JsonNodeFactory json = JsonNodeFactory.instance;
        ArrayNode data = json.arrayNode();
        for (SyntheticModels.Model m : models.all()) {
            ObjectNode entry = json.objectNode();
            entry.put("id", m.id());
            entry.put("object", "model");
            entry.put("created", CREATED);
            entry.put("owned_by", "imprint-synthetic");
            data.add(entry);
        }
        ObjectNode list = json.objectNode();
        list.put("object", "list");
        list.set("data", data);
        return Reply.ok(list);
    }
}
