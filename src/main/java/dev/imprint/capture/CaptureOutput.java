package dev.imprint.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.io.DurableFiles;
import dev.imprint.io.ReferenceFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;

/**
 * Turns a complete capture into the file it promised, replacing {@code out} only with a whole new
 * one: a top-k answers file (README "Top-k answers file") for top-k captures, a reference file for
 * embedding captures.
 */
public final class CaptureOutput {
    private CaptureOutput() {}

    /** One model's answers, every probe, as top-k answers file lines in probe order. */
    public static void writeTopK(Path out, String modelId, Map<String, String> labels, ReferenceRole role,
                                 Map<Integer, JsonNode> answers) throws IOException {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<Integer, JsonNode> a : answers.entrySet()) {
            ObjectNode line = OpenAiProtocol.JSON.createObjectNode();
            line.put("model_id", modelId);
            line.put("probe", a.getKey());
            line.set("top_logprobs", a.getValue().get("top_logprobs"));
            if (!labels.isEmpty()) {
                ObjectNode l = line.putObject("labels");
                labels.forEach(l::put);
            }
            line.put("role", role.wireName());
            text.append(line).append('\n');
        }
        ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
        DurableFiles.replace(out, channel -> {
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        });
    }

    /** The embedding rows of every probe of {@code set}, row-major. */
    public static float[] embeddingRows(ProbeSet set, Map<Integer, JsonNode> answers) {
        float[] rows = new float[set.elements()];
        for (Map.Entry<Integer, JsonNode> a : answers.entrySet()) {
            JsonNode values = a.getValue().get("embedding");
            for (int j = 0; j < set.dim(); j++) {
                rows[a.getKey() * set.dim() + j] = values.get(j).floatValue();
            }
        }
        return rows;
    }

    /** A reference file of {@code set} holding {@code rows}. */
    public static void writeReference(BufferAllocator allocator, Path out, ProbeSet set, String modelId,
                                      Map<String, String> labels, ReferenceRole role, float[] rows) throws IOException {
        Reference reference = new Reference(new ReferenceMeta(set.id(), modelId, labels, set.numProbes(), set.dim(),
                System.currentTimeMillis(), role), rows);
        DurableFiles.replace(out, channel -> ReferenceFile.write(allocator, channel, set, reference));
    }
}
