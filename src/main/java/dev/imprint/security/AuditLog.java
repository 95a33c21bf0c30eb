package dev.imprint.security;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.io.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The audit log: one JSON object per line per call, appended to {@code <data-dir>/~audit/audit.jsonl}.
 * When a line would take the file past {@code maxBytes}, the file is fsynced and renamed to
 * {@code audit.jsonl.1} (older ones shift to {@code .2} ... {@code .keep}, the oldest beyond that
 * deleted) and a fresh one begins. Lines reach the operating system as each call ends, so a
 * crashed server loses none; they are fsynced at rotation and on close, not per call, so a power
 * loss may lose the last lines. A failure to write is logged at SEVERE and does not fail calls.
 *
 * <p>Fields ({@link Entry}): {@code time}, {@code token} (the token's name, never the token),
 * {@code role}, {@code tenant} (for a tenant's token), {@code method}, {@code probe_set_id}, {@code model_id}, {@code request_id},
 * {@code outcome} (the gRPC status code), {@code duration_ms}, and for scoring
 * {@code references_scored} (a count summed over the call; scores themselves are never logged).
 * Fields that do not apply are left out.
 */
public final class AuditLog implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());
    public static final String DIR = "~audit";
    public static final String FILE = "audit.jsonl";
    public static final long DEFAULT_MAX_BYTES = 64L << 20;
    public static final int DEFAULT_KEEP = 5;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Path file;
    private final long maxBytes;
    private final int keep;
    private FileChannel out;
    private long size;

    /**
     * One audited call; null fields are left out of the line.
     *
     * @param referencesScored references scored over the call (Score, ScoreStream), else null
     */
    public record Entry(Instant time, String token, Role role, String tenant, String method, String probeSetId, String modelId,
                        String requestId, String outcome, double durationMs, Long referencesScored) {
    }

    private AuditLog(Path dir, long maxBytes, int keep) throws IOException {
        this.dir = dir;
        this.file = dir.resolve(FILE);
        this.maxBytes = maxBytes;
        this.keep = keep;
        open();
    }

    /**
     * Opens (creating if needed) the audit log of {@code dataDir}.
     *
     * @param maxBytes the size past which the file is rotated; positive
     * @param keep     how many rotated files to keep; 0 or more
     */
    public static AuditLog open(Path dataDir, long maxBytes, int keep) throws IOException {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("audit maxBytes=" + maxBytes + "; expected a positive number of bytes");
        }
        if (keep < 0) {
            throw new IllegalArgumentException("audit keep=" + keep + "; expected 0 or more");
        }
        Path dir = dataDir.resolve(DIR);
        DurableFiles.createDirectories(dir);
        return new AuditLog(dir, maxBytes, keep);
    }

    /** The live file and the rotated ones, oldest first: {@code audit.jsonl.keep} ... {@code .1}, {@code audit.jsonl}. */
    public static List<Path> files(Path dataDir) {
        Path dir = dataDir.resolve(DIR);
        List<Path> files = new ArrayList<>();
        for (int i = 1; Files.exists(dir.resolve(FILE + "." + i)); i++) {
            files.add(0, dir.resolve(FILE + "." + i));
        }
        if (Files.exists(dir.resolve(FILE))) {
            files.add(dir.resolve(FILE));
        }
        return files;
    }

    /** Appends one line for {@code entry}, rotating first if the line would pass the size limit. */
    public synchronized void append(Entry entry) {
        ObjectNode line = JSON.createObjectNode();
        line.put("time", entry.time().toString());
        putIfSet(line, "token", entry.token());
        putIfSet(line, "role", entry.role() == null ? null : entry.role().wireName());
        putIfSet(line, "tenant", entry.tenant());
        putIfSet(line, "method", entry.method());
        putIfSet(line, "probe_set_id", entry.probeSetId());
        putIfSet(line, "model_id", entry.modelId());
        putIfSet(line, "request_id", entry.requestId());
        line.put("outcome", entry.outcome());
        line.put("duration_ms", Math.round(entry.durationMs() * 1000) / 1000.0);
        if (entry.referencesScored() != null) {
            line.put("references_scored", entry.referencesScored());
        }
        try {
            byte[] bytes = (JSON.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8);
            if (out == null) {
                open();
            }
            if (size > 0 && size + bytes.length > maxBytes) {
                rotate();
            }
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                size += out.write(buffer);
            }
        } catch (IOException e) {
            LOG.log(Level.SEVERE, "cannot write the audit log " + file + ": " + e.getMessage());
        }
    }

    private static void putIfSet(ObjectNode line, String field, String value) {
        if (value != null && !value.isEmpty()) {
            line.put(field, value);
        }
    }

    private void open() throws IOException {
        out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        size = out.size();
    }

    private void rotate() throws IOException {
        out.force(true);
        out.close();
        out = null;
        Files.deleteIfExists(dir.resolve(FILE + "." + keep));
        for (int i = keep - 1; i >= 1; i--) {
            Path older = dir.resolve(FILE + "." + i);
            if (Files.exists(older)) {
                Files.move(older, dir.resolve(FILE + "." + (i + 1)), StandardCopyOption.ATOMIC_MOVE);
            }
        }
        if (keep > 0) {
            Files.move(file, dir.resolve(FILE + ".1"), StandardCopyOption.ATOMIC_MOVE);
        } else {
            Files.delete(file);
        }
        DurableFiles.fsyncDirectory(dir);
        open();
    }

    @Override
    public synchronized void close() throws IOException {
        if (out != null) {
            out.force(true);
            out.close();
            out = null;
        }
    }
}
