package dev.imprint.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.core.ChatMessage;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Probe;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Probes as JSON: one object per probe, {@code {"prompt": "..."}} for a completion endpoint or
 * {@code {"messages": [{"role": "user", "content": "..."}]}} for a chat one. A probes file is
 * JSON Lines, one probe per line in probe order (blank lines skipped); a probe-set file keeps them
 * as one JSON array in its metadata.
 */
public final class ProbesJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> PROBE_FIELDS = Set.of("prompt", "messages");

    private ProbesJson() {}

    /** The probes as one compact JSON array. */
    public static String toArray(List<Probe> probes) {
        ArrayNode array = JSON.createArrayNode();
        probes.forEach(p -> array.add(node(p)));
        return write(array);
    }

    /** The probes of a JSON array; INVALID_ARGUMENT naming the probe that does not parse. */
    public static List<Probe> fromArray(String json) {
        JsonNode array;
        try {
            array = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw ImprintException.invalidArgument("probes are not JSON: %s", e.getOriginalMessage());
        }
        if (array == null || !array.isArray()) {
            throw ImprintException.invalidArgument("probes are not a JSON array");
        }
        List<Probe> out = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            out.add(probe(array.get(i), "probe " + i));
        }
        return out;
    }

    /**
     * Reads a probes file (JSON Lines).
     *
     * @throws ImprintException NOT_FOUND if absent; INVALID_ARGUMENT naming the file and line
     */
    public static List<Probe> readLines(Path file) {
        List<Probe> out = new ArrayList<>();
        JsonLines.read(file, node -> out.add(probe(node)));
        if (out.isEmpty()) {
            throw ImprintException.invalidArgument("%s holds no probes", file);
        }
        return out;
    }

    /** Writes a probes file (JSON Lines) whole: a temporary file renamed over {@code file} once complete. */
    public static void writeLines(Path file, List<Probe> probes) throws IOException {
        StringBuilder text = new StringBuilder();
        for (Probe p : probes) {
            text.append(write(node(p))).append('\n');
        }
        DurableFiles.replace(file, out -> {
            ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                out.write(bytes);
            }
        });
    }

    private static ObjectNode node(Probe p) {
        ObjectNode node = JSON.createObjectNode();
        if (p.prompt() != null) {
            node.put("prompt", p.prompt());
        } else {
            ArrayNode messages = node.putArray("messages");
            for (ChatMessage m : p.messages()) {
                messages.addObject().put("role", m.role()).put("content", m.content());
            }
        }
        return node;
    }

    /** A probe of a JSON array, errors naming it. */
    private static Probe probe(JsonNode node, String where) {
        try {
            return probe(node);
        } catch (ImprintException e) {
            throw ImprintException.invalidArgument("%s: %s", where, e.getMessage());
        }
    }

    private static Probe probe(JsonNode node) {
        JsonLines.requireObject(node, PROBE_FIELDS, "; a probe has prompt or messages");
        JsonNode prompt = node.get("prompt");
        JsonNode messages = node.get("messages");
        if (prompt != null && !prompt.isTextual()) {
            throw ImprintException.invalidArgument("prompt is not a string");
        }
        List<ChatMessage> chat = new ArrayList<>();
        if (messages != null) {
            if (!messages.isArray()) {
                throw ImprintException.invalidArgument("messages is not an array");
            }
            for (JsonNode m : messages) {
                JsonNode role = m.get("role");
                JsonNode content = m.get("content");
                if (role == null || !role.isTextual() || content == null || !content.isTextual()) {
                    throw ImprintException.invalidArgument("a message needs a string role and content");
                }
                chat.add(new ChatMessage(role.asText(), content.asText()));
            }
        }
        return new Probe(prompt == null ? null : prompt.asText(), chat);
    }

    private static String write(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings did not serialise", e);
        }
    }
}
