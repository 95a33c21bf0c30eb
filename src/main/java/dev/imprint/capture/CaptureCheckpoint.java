package dev.imprint.capture;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.core.ImprintException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a capture has already paid for, on disk: JSON Lines, a header line with the capture's
 * settings, then one line per answered probe, each forced to disk before the probe counts as
 * done. A capture stopped any way (Ctrl-C, a crash, a failed probe) resumes from it and asks only
 * for what is missing; a torn last line, from a stop mid-write, is dropped and asked again.
 *
 * <p>A checkpoint belongs to one capture: resuming with other settings (model, endpoint, probes,
 * ...) is refused rather than mixing two models' answers.
 */
public final class CaptureCheckpoint implements AutoCloseable {
    private static final String FORMAT = "imprint_capture_checkpoint";

    private final Path file;
    private final FileChannel out;
    private final Map<Integer, JsonNode> answered;

    private CaptureCheckpoint(Path file, FileChannel out, Map<Integer, JsonNode> answered) {
        this.file = file;
        this.out = out;
        this.answered = answered;
    }

    /**
     * Opens {@code file}, creating it with {@code settings} as its header, or resuming it when its
     * header holds the same settings.
     *
     * @param probes the capture's probe count; a line for a probe outside it is damage
     * @throws ImprintException FAILED_PRECONDITION for another capture's checkpoint, INVALID_ARGUMENT for
     *                          a file that is not a checkpoint or is damaged before its last line
     */
    public static CaptureCheckpoint open(Path file, ObjectNode settings, int probes) throws IOException {
        Map<Integer, JsonNode> answered = new TreeMap<>();
        long keep = 0;
        boolean hasHeader = false;
        if (Files.exists(file)) {
            byte[] bytes = Files.readAllBytes(file);
            int start = 0;
            int number = 0;
            for (int end = indexOf(bytes, start); end >= 0; start = end + 1, end = indexOf(bytes, start)) {
                number++;
                JsonNode line = parse(file, number, new String(bytes, start, end - start, StandardCharsets.UTF_8));
                if (!hasHeader) {
                    checkHeader(file, line, settings);
                    hasHeader = true;
                } else {
                    JsonNode probe = line.get("probe");
                    if (probe == null || !probe.canConvertToInt() || probe.asInt() < 0 || probe.asInt() >= probes) {
                        throw ImprintException.invalidArgument("checkpoint %s line %d names no probe in 0..%d; "
                                + "delete the file to start afresh", file, number, probes - 1);
                    }
                    answered.put(probe.asInt(), line);
                }
                keep = end + 1;
            }
        }
        FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            out.truncate(keep);
            out.position(keep);
            CaptureCheckpoint checkpoint = new CaptureCheckpoint(file, out, answered);
            if (!hasHeader) {
                ObjectNode header = OpenAiProtocol.JSON.createObjectNode();
                header.put("format", FORMAT);
                header.set("settings", settings);
                checkpoint.append(header);
            }
            return checkpoint;
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
    }

    private static int indexOf(byte[] bytes, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static JsonNode parse(Path file, int number, String line) {
        try {
            return OpenAiProtocol.readTree(line);
        } catch (JsonProcessingException e) {
            throw ImprintException.invalidArgument("checkpoint %s line %d is not JSON; delete the file to start "
                    + "afresh", file, number);
        }
    }

    private static void checkHeader(Path file, JsonNode header, ObjectNode settings) {
        if (!FORMAT.equals(header.path("format").asText())) {
            throw ImprintException.invalidArgument("%s is not a capture checkpoint; name another --checkpoint", file);
        }
        JsonNode theirs = header.path("settings");
        for (Iterator<String> names = settings.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!same(settings.get(name), theirs.get(name))) {
                throw ImprintException.failedPrecondition("checkpoint %s was made by another capture (%s: %s, now %s); "
                        + "rerun that capture to finish it, or delete the file to start afresh", file, name,
                        theirs.get(name), settings.get(name));
            }
        }
    }

    /** Equal values, numbers by value (a decimal read back may keep another scale). */
    private static boolean same(JsonNode a, JsonNode b) {
        return a.isNumber() && b != null && b.isNumber() ? a.decimalValue().compareTo(b.decimalValue()) == 0
                : a.equals(b);
    }

    /** The answers already recorded, by probe. */
    public Map<Integer, JsonNode> answered() {
        return Collections.unmodifiableMap(answered);
    }

    /** Records {@code answer} (which names its {@code probe}) durably before returning. */
    synchronized void record(ObjectNode answer) throws IOException {
        append(answer);
        answered.put(answer.get("probe").asInt(), answer);
    }

    private void append(ObjectNode line) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap((line.toString() + "\n").getBytes(StandardCharsets.UTF_8));
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
        out.force(false);
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
