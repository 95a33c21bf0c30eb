package dev.imprint.topk;

import com.fasterxml.jackson.databind.JsonNode;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ReferenceRole;
import dev.imprint.io.JsonLines;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A top-k answers file: JSON Lines, one model's answer to one probe per line,
 * {@code {"model_id": "m", "probe": 0, "top_logprobs": [{"token": " Paris", "logprob": -0.3}, ...]}},
 * optionally with the model's {@code "labels": {...}} and {@code "role"} (protected or
 * background), which must agree across its lines. {@code top_logprobs} entries are as
 * OpenAI-compatible endpoints return them (other fields, such as {@code bytes}, are ignored); a
 * {@code null} logprob is a missing one.
 */
public final class TopKAnswers {
    private static final Set<String> FIELDS = Set.of("model_id", "probe", "top_logprobs", "labels", "role");

    /** One model's answers, by probe index. */
    public record Model(String modelId, Map<String, String> labels, ReferenceRole role,
                        TreeMap<Integer, List<TopKEntry>> answers) {
    }

    private TopKAnswers() {}

    /**
     * Whether commands that take several kinds of file read {@code file} as a top-k answers file:
     * by its name, *.jsonl (Arrow files are told apart by content, but a JSON Lines file would only
     * fail their parsers with a confusing message).
     */
    public static boolean isAnswersFile(Path file) {
        return file.getFileName().toString().endsWith(".jsonl");
    }

    /**
     * Reads a file, models in order of first appearance.
     *
     * @throws ImprintException NOT_FOUND if absent; INVALID_ARGUMENT naming the file and line
     */
    public static List<Model> read(Path file) {
        Map<String, Model> models = new LinkedHashMap<>();
        JsonLines.read(file, node -> add(models, node));
        if (models.isEmpty()) {
            throw ImprintException.invalidArgument("%s holds no answers", file);
        }
        return List.copyOf(models.values());
    }

    private static void add(Map<String, Model> models, JsonNode node) {
        JsonLines.requireObject(node, FIELDS, "");
        JsonNode id = node.get("model_id");
        JsonNode probe = node.get("probe");
        JsonNode top = node.get("top_logprobs");
        if (id == null || !id.isTextual() || probe == null || !probe.canConvertToInt() || probe.asInt() < 0
                || top == null || !top.isArray()) {
            throw ImprintException.invalidArgument("needs a string model_id, a probe index >= 0 and a top_logprobs "
                    + "array");
        }
        Map<String, String> labels = new TreeMap<>();
        JsonNode l = node.get("labels");
        if (l != null) {
            l.fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
        }
        JsonNode r = node.get("role");
        ReferenceRole role = r == null ? ReferenceRole.PROTECTED : ReferenceRole.parse("role", r.asText());
        List<TopKEntry> entries = new ArrayList<>();
        for (JsonNode e : top) {
            JsonNode token = e.get("token");
            JsonNode logprob = e.get("logprob");
            if (token == null || !token.isTextual()) {
                throw ImprintException.invalidArgument("a top_logprobs entry without a string token");
            }
            if (logprob != null && !logprob.isNull() && !logprob.isNumber()) {
                throw ImprintException.invalidArgument("token '%s' has logprob %s, not a number", token.asText(),
                        logprob);
            }
            entries.add(new TopKEntry(token.asText(), logprob == null || logprob.isNull() ? Double.NaN
                    : logprob.asDouble()));
        }
        Model model = models.computeIfAbsent(id.asText(), k -> new Model(k, labels, role, new TreeMap<>()));
        if (!model.labels().equals(labels) && l != null || model.role() != role && r != null) {
            throw ImprintException.invalidArgument("model %s has other labels or role than on its earlier lines",
                    id.asText());
        }
        if (model.answers().put(probe.asInt(), entries) != null) {
            throw ImprintException.invalidArgument("model %s answers probe %d twice", id.asText(), probe.asInt());
        }
    }
}
