package dev.imprint.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Supports;
import dev.imprint.core.VocabularyMode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-probe supports as JSON, {@code {"vocabulary": "FIRST_CHARACTER", "supports": [["P", "L",
 * "<other>"], ...]}}: the value a probe-set file keeps them under, and, with the set's
 * {@code "probe_set_id"}, {@code "dim"} and {@code "description"} added, the {@code supports.json} that
 * {@code imprint topk build} writes and {@code imprint probe-set create --supports} reads.
 */
public final class SupportsJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A supports.json file: the supports and the probe set they were built for ("" when it gives no description). */
    public record File(String probeSetId, int dim, String description, Supports supports) {
    }

    private SupportsJson() {}

    /** The supports as one compact JSON object. */
    public static String toJson(Supports supports) {
        try {
            return JSON.writeValueAsString(node(supports));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("JSON of strings failed to serialise", e);
        }
    }

    /** The supports of a {@link #toJson} object; INVALID_ARGUMENT saying what does not parse. */
    public static Supports fromJson(String json) {
        try {
            return supports(JSON.readTree(json));
        } catch (JsonProcessingException e) {
            throw ImprintException.invalidArgument("supports are not JSON: %s", e.getOriginalMessage());
        }
    }

    /** Writes the supports.json of {@code set}, which carries supports, pretty-printed for people reading it. */
    public static void write(Path file, ProbeSet set) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("probe_set_id", set.id());
        root.put("dim", set.dim());
        root.put("description", set.description());
        root.setAll(node(set.supports()));
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
    }

    /**
     * Reads a supports.json file.
     *
     * @throws ImprintException NOT_FOUND if absent; INVALID_ARGUMENT naming the file and the problem
     */
    public static File read(Path file) {
        try {
            JsonNode root = JSON.readTree(Files.readString(file));
            JsonNode id = root == null ? null : root.get("probe_set_id");
            JsonNode dim = root == null ? null : root.get("dim");
            if (id == null || !id.isTextual() || dim == null || !dim.canConvertToInt()) {
                throw ImprintException.invalidArgument("needs a string probe_set_id and an integer dim");
            }
            JsonNode description = root.get("description");
            return new File(id.asText(), dim.asInt(), description == null ? "" : description.asText(), supports(root));
        } catch (NoSuchFileException e) {
            throw ImprintException.notFound("file %s does not exist", file);
        } catch (IOException e) {
            throw ImprintException.invalidArgument("%s is not a supports.json written by imprint topk build: %s", file,
                    e.getMessage());
        } catch (ImprintException e) {
            throw new ImprintException(e.code(), file + ": " + e.getMessage(), e);
        }
    }

    private static ObjectNode node(Supports supports) {
        ObjectNode root = JSON.createObjectNode();
        root.put("vocabulary", supports.mode().name());
        ArrayNode probes = root.putArray("supports");
        for (List<String> s : supports.keys()) {
            ArrayNode keys = probes.addArray();
            s.forEach(keys::add);
        }
        return root;
    }

    private static Supports supports(JsonNode root) {
        JsonNode mode = root == null ? null : root.get("vocabulary");
        JsonNode probes = root == null ? null : root.get("supports");
        if (mode == null || !mode.isTextual() || probes == null || !probes.isArray()) {
            throw ImprintException.invalidArgument("needs a string vocabulary and a supports array of arrays");
        }
        VocabularyMode vocabulary;
        try {
            vocabulary = VocabularyMode.valueOf(mode.asText());
        } catch (IllegalArgumentException e) {
            throw ImprintException.invalidArgument("vocabulary=%s; expected EXACT, NORMALISED or FIRST_CHARACTER",
                    mode.asText());
        }
        List<List<String>> keys = new ArrayList<>(probes.size());
        for (int p = 0; p < probes.size(); p++) {
            JsonNode s = probes.get(p);
            if (!s.isArray()) {
                throw ImprintException.invalidArgument("supports[%d] is not an array of keys", p);
            }
            List<String> support = new ArrayList<>(s.size());
            for (JsonNode k : s) {
                if (!k.isTextual()) {
                    throw ImprintException.invalidArgument("supports[%d] holds %s, not a string key", p, k);
                }
                support.add(k.asText());
            }
            keys.add(support);
        }
        return new Supports(vocabulary, keys);
    }
}
