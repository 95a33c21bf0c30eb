package dev.imprint.security;

import dev.imprint.core.TenantNames;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.io.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.logging.Logger;

/**
 * The tokens of a data directory, in {@code <data-dir>/~auth/tokens.json}:
 * <pre>
 * {"version": 1, "tokens": [{"name": "ci", "role": "scorer", "sha256": "&lt;64 hex&gt;",
 *                            "created": "2026-01-31T12:00:00Z"}, ...]}
 * </pre>
 * A token with a {@code "tenant"} sees only that tenant's probe sets; one without belongs to the
 * default tenant. The file holds hashes only; a token
 * itself is printed once by {@link #create} and never stored. Every change rewrites the file
 * through {@link DurableFiles#replace} under an exclusive lock on {@code ~auth/tokens.lock}, so
 * concurrent {@code imprint token} commands never lose each other's changes, and a reader (the
 * server) sees the old file or the new one. The directory name has a '~', which no probe-set id
 * has, so the store never mistakes it for a probe set.
 */
public final class TokenFile {
    private static final Logger LOG = Logger.getLogger(TokenFile.class.getName());
    public static final String DIR = "~auth";
    public static final String FILE = "tokens.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Object IN_PROCESS = new Object();

    private final Path dir;
    private final Path file;
    private Object seenVersion;
    private Tokens cached = Tokens.NONE;

    private TokenFile(Path dataDir) {
        this.dir = dataDir.resolve(DIR);
        this.file = dir.resolve(FILE);
    }

    /** The token file of {@code dataDir}; nothing is read or created yet. */
    public static TokenFile of(Path dataDir) {
        return new TokenFile(dataDir);
    }

    public Path path() {
        return file;
    }

    /**
     * The tokens as the file holds them now; none when there is no file.
     *
     * @throws UncheckedIOException when it cannot be read or is not a token file, saying which
     */
    public Tokens read() {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Tokens.NONE;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            JsonNode root = JSON.readTree(bytes);
            List<TokenRecord> records = new ArrayList<>();
            for (JsonNode t : root.path("tokens")) {
                JsonNode tenant = t.get("tenant");
                records.add(new TokenRecord(t.path("name").asText(), Role.parse(t.path("role").asText()),
                        HexFormat.of().parseHex(t.path("sha256").asText()), Instant.parse(t.path("created").asText()),
                        tenant == null || tenant.isNull() ? null : tenant.asText()));
            }
            return new Tokens(records);
        } catch (IOException | RuntimeException e) {
            throw new UncheckedIOException(new IOException(file + " is not a valid token file: " + e.getMessage(), e));
        }
    }

    /**
     * The tokens now, re-read only when the file changed since the last call (a changed file is a
     * new inode, as every write renames a new file over it). If it cannot be read the answer is
     * no tokens, logged once: a broken file locks everyone out rather than letting a revoked
     * token back in.
     */
    public synchronized Tokens current() {
        Object version;
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            version = List.of(Objects.requireNonNullElse(a.fileKey(), ""), a.lastModifiedTime(), a.size());
        } catch (NoSuchFileException e) {
            version = "absent";
        } catch (IOException e) {
            version = "unreadable: " + e;
        }
        if (!version.equals(seenVersion)) {
            seenVersion = version;
            try {
                cached = read();
            } catch (UncheckedIOException e) {
                LOG.warning("refusing every token until " + file + " is fixed: " + e.getCause().getMessage());
                cached = Tokens.NONE;
            }
        }
        return cached;
    }

    /**
     * Creates a token named {@code name} with {@code role} in the default tenant and returns it.
     *
     * @throws IllegalArgumentException for a bad or taken name; nothing changes then
     */
    public String create(String name, Role role) throws IOException {
        return create(name, role, null);
    }

    /**
     * Creates a token named {@code name} with {@code role}, confined to {@code tenant} (null: the
     * default tenant), and returns it; only its hash is stored.
     *
     * @throws IllegalArgumentException for a bad or taken name or a bad tenant; nothing changes then
     */
    public String create(String name, Role role, String tenant) throws IOException {
        Tokens.checkName(name);
        if (tenant != null) {
            TenantNames.requireValid(tenant);
        }
        String token = Tokens.generate();
        update(records -> {
            for (TokenRecord r : records) {
                if (r.name().equals(name)) {
                    throw new IllegalArgumentException("a token named '" + name + "' already exists; revoke it "
                            + "first or pick another name");
                }
            }
            records.add(new TokenRecord(name, role, Tokens.sha256(token), Instant.now(), tenant));
        });
        return token;
    }

    /**
     * Removes the token named {@code name}; a server refuses it from its next call on.
     *
     * @throws IllegalArgumentException when there is none; nothing changes then
     */
    public void revoke(String name) throws IOException {
        update(records -> {
            if (!records.removeIf(r -> r.name().equals(name))) {
                throw new IllegalArgumentException("no token named '" + name + "' in " + file);
            }
        });
    }

    private interface Change {
        void apply(List<TokenRecord> records);
    }

    private void update(Change change) throws IOException {
        synchronized (IN_PROCESS) {
            if (!Files.isDirectory(dir)) {
                DurableFiles.createDirectories(dir);
                try {
                    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
                } catch (UnsupportedOperationException notPosix) {
                    // Left to the platform's defaults.
                }
            }
            try (FileChannel lockFile = FileChannel.open(dir.resolve("tokens.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
                List<TokenRecord> records = new ArrayList<>(read().records());
                change.apply(records);
                byte[] bytes = JSON.writeValueAsBytes(toJson(records));
                DurableFiles.replace(file, out -> {
                    ByteBuffer buffer = ByteBuffer.wrap(bytes);
                    while (buffer.hasRemaining()) {
                        out.write(buffer);
                    }
                });
            }
        }
    }

    private static ObjectNode toJson(List<TokenRecord> records) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", 1);
        ArrayNode tokens = root.putArray("tokens");
        for (TokenRecord r : records) {
            ObjectNode t = tokens.addObject();
            t.put("name", r.name());
            t.put("role", r.role().wireName());
            t.put("sha256", HexFormat.of().formatHex(r.sha256()));
            t.put("created", r.created().toString());
            if (r.tenant() != null) {
                t.put("tenant", r.tenant());
            }
        }
        return root;
    }
}
