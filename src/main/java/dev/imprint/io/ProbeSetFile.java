package dev.imprint.io;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeTexts;
import dev.imprint.core.VocabularyMode;
import java.io.IOException;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.apache.arrow.memory.BufferAllocator;

/**
 * A probe set definition alone, as an Arrow IPC file with the reference columns and no rows: the
 * definition lives in schema metadata ({@code imprint.format=imprint-probe-set}, the keys of
 * {@link FingerprintSchema#probeSetMetadata} and {@code imprint.checksum}), and with it, when the set
 * carries them, its probe texts and capture settings and its per-probe supports. A file written
 * before supports existed has no {@code imprint.supports} and reads as a set without them.
 */
public final class ProbeSetFile {
    /** Value of {@code imprint.format} in a probe-set file. */
    public static final String FORMAT = "imprint-probe-set";

    private ProbeSetFile() {}

    /** The probes, as a {@link ProbesJson} array. */
    static final String KEY_PROBES = "imprint.probes";
    static final String KEY_TEMPERATURE = "imprint.capture.temperature";
    static final String KEY_MAX_TOKENS = "imprint.capture.max_tokens";
    /** A {@link VocabularyMode} name; absent when the set does not declare one. */
    static final String KEY_VOCABULARY = "imprint.vocabulary";
    /** The per-probe supports, as {@link SupportsJson#toJson}; absent when the set carries none. */
    static final String KEY_SUPPORTS = "imprint.supports";

    /**
     * Writes {@code set}'s definition to {@code out}, which is left open; its probe texts and
     * supports, if any, go in the same metadata, so the checksum covers them and they are replaced
     * with it atomically.
     */
    public static void write(BufferAllocator allocator, WritableByteChannel out, ProbeSet set) throws IOException {
        Map<String, String> extra = new TreeMap<>();
        ProbeTexts texts = set.texts();
        if (texts != null) {
            extra.put(KEY_PROBES, ProbesJson.toArray(texts.probes()));
            extra.put(KEY_TEMPERATURE, Double.toString(texts.temperature()));
            extra.put(KEY_MAX_TOKENS, Integer.toString(texts.maxTokens()));
            if (texts.vocabulary() != null) {
                extra.put(KEY_VOCABULARY, texts.vocabulary().name());
            }
        }
        if (set.supports() != null) {
            extra.put(KEY_SUPPORTS, SupportsJson.toJson(set.supports()));
        }
        FingerprintCodec.write(allocator, out, FORMAT, set, extra, null);
    }

    /**
     * Reads and verifies a probe-set file.
     *
     * @param displayName how errors name the file
     * @throws dev.imprint.core.ImprintException NOT_FOUND if absent; INVALID_ARGUMENT naming the file and the problem
     */
    public static ProbeSet read(BufferAllocator allocator, Path path, String displayName) {
        return read(allocator, FileOps.SYSTEM, path, displayName);
    }

    /** As {@link #read(BufferAllocator, Path, String)}, opening the file through {@code files}. */
    public static ProbeSet read(BufferAllocator allocator, FileOps files, Path path, String displayName) {
        FingerprintCodec.Decoded decoded = FingerprintCodec.read(allocator, files, path, displayName, FORMAT, false,
                true);
        Map<String, String> metadata = decoded.metadata();
        String supports = metadata.get(KEY_SUPPORTS);
        ProbeSet set;
        try {
            set = supports == null ? decoded.set() : decoded.set().withSupports(SupportsJson.fromJson(supports));
        } catch (ImprintException e) {
            throw FingerprintCodec.readFailure(displayName, "probe-set file", e);
        }
        String probes = metadata.get(KEY_PROBES);
        if (probes == null) {
            return set;
        }
        try {
            String vocabulary = metadata.get(KEY_VOCABULARY);
            return set.withTexts(new ProbeTexts(ProbesJson.fromArray(probes),
                    FingerprintSchema.parseDouble(metadata, KEY_TEMPERATURE),
                    FingerprintSchema.parseInt(metadata, KEY_MAX_TOKENS),
                    vocabulary == null ? null : VocabularyMode.valueOf(vocabulary)));
        } catch (ImprintException e) {
            throw FingerprintCodec.readFailure(displayName, "probe-set file", e);
        } catch (IllegalArgumentException e) {
            throw FingerprintCodec.readFailure(displayName, "probe-set file", ImprintException.invalidArgument(
                    "metadata %s=%s is not a vocabulary mode", KEY_VOCABULARY, metadata.get(KEY_VOCABULARY)));
        }
    }
}
