package dev.imprint.io;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;
import org.apache.arrow.memory.BufferAllocator;

/**
 * One reference fingerprint with its probe set definition, as an Arrow IPC file: what {@code synth}
 * writes, {@code put} reads and the store keeps under {@code refs/}.
 *
 * <p>Columns {@code probe} int32 (0..P-1 in order) and {@code values} fixed_size_list&lt;float32&gt;[D],
 * one row per probe. Schema metadata: {@code imprint.format=imprint-reference},
 * {@code imprint.format_version}, the probe set keys of {@link FingerprintSchema#probeSetMetadata},
 * {@code imprint.model_id}, {@code imprint.created_unix_ms}, one {@code imprint.label.<key>} per
 * label, {@code imprint.role} ({@code protected} or {@code background}; absent means protected) and
 * {@code imprint.checksum} (see {@link FingerprintCodec}).
 */
public final class ReferenceFile {
    /** Value of {@code imprint.format} in a reference file. */
    public static final String FORMAT = "imprint-reference";

    private ReferenceFile() {}

    /** A reference and the probe set definition it was written against. */
    public record Contents(ProbeSet probeSet, Reference reference) {}

    /**
     * Writes {@code reference} of probe set {@code set} to {@code out}, which is left open.
     *
     * @throws ImprintException INVALID_ARGUMENT if the reference does not belong to {@code set}
     */
    public static void write(BufferAllocator allocator, WritableByteChannel out, ProbeSet set, Reference reference)
            throws IOException {
        ReferenceMeta meta = reference.meta();
        if (!meta.probeSetId().equals(set.id()) || meta.numProbes() != set.numProbes() || meta.dim() != set.dim()) {
            throw ImprintException.invalidArgument("reference %s is %dx%d on probe set %s; probe set %s is %dx%d",
                    meta.modelId(), meta.numProbes(), meta.dim(), meta.probeSetId(), set.id(), set.numProbes(), set.dim());
        }
        Map<String, String> extra = new TreeMap<>();
        extra.put(FingerprintSchema.KEY_MODEL_ID, meta.modelId());
        extra.put(FingerprintSchema.KEY_CREATED_UNIX_MS, Long.toString(meta.createdUnixMs()));
        meta.labels().forEach((k, v) -> extra.put(FingerprintSchema.LABEL_PREFIX + k, v));
        extra.put(FingerprintSchema.KEY_ROLE, meta.role().wireName());
        FingerprintCodec.write(allocator, out, FORMAT, set, extra, reference.rows());
    }

    /** Writes a reference file at {@code path}, replacing any file there (not atomically; the store does that). */
    public static void write(BufferAllocator allocator, Path path, ProbeSet set, Reference reference) throws IOException {
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            write(allocator, out, set, reference);
        }
    }

    /** Reads and verifies the reference file at {@code path}; errors name the path. */
    public static Contents read(BufferAllocator allocator, Path path) {
        return read(allocator, path, path.toString());
    }

    /**
     * Reads a reference file a user supplies (to register or score it), errors naming the path.
     * Unlike a stored file it may lack {@code imprint.checksum} and {@code imprint.created_unix_ms},
     * which a file written with pyarrow has no standard way to carry: the checksum protects files in
     * the store, where a put writes both, and is not a hurdle for input. One that has a checksum is
     * still verified. Its probes may be int64 and its values float64 (cast, and refused beyond
     * float32's range).
     */
    public static Contents readInput(BufferAllocator allocator, Path path) {
        return read(allocator, FileOps.SYSTEM, path, path.toString(), false);
    }

    /**
     * Reads and verifies a reference file: schema, metadata, probe order, row count and checksum.
     *
     * @param displayName how errors name the file
     * @throws ImprintException NOT_FOUND if absent; INVALID_ARGUMENT naming the file and the problem
     */
    public static Contents read(BufferAllocator allocator, Path path, String displayName) {
        return read(allocator, FileOps.SYSTEM, path, displayName, true);
    }

    /** As {@link #read(BufferAllocator, Path, String)}, opening the file through {@code files}. */
    public static Contents read(BufferAllocator allocator, FileOps files, Path path, String displayName) {
        return read(allocator, files, path, displayName, true);
    }

    private static Contents read(BufferAllocator allocator, FileOps files, Path path, String displayName,
                                 boolean stored) {
        FingerprintCodec.Decoded decoded = FingerprintCodec.read(allocator, files, path, displayName, FORMAT, true,
                stored);
        Map<String, String> metadata = decoded.metadata();
        try {
            Map<String, String> labels = new TreeMap<>();
            metadata.forEach((k, v) -> {
                if (k.startsWith(FingerprintSchema.LABEL_PREFIX)) {
                    labels.put(k.substring(FingerprintSchema.LABEL_PREFIX.length()), v);
                }
            });
            ProbeSet set = decoded.set();
            ReferenceMeta meta = new ReferenceMeta(set.id(),
                    FingerprintSchema.require(metadata, FingerprintSchema.KEY_MODEL_ID), labels, set.numProbes(),
                    set.dim(), stored || metadata.containsKey(FingerprintSchema.KEY_CREATED_UNIX_MS)
                            ? FingerprintSchema.parseLong(metadata, FingerprintSchema.KEY_CREATED_UNIX_MS) : 0,
                    // Files written before roles existed hold protected references.
                    ReferenceRole.parse(FingerprintSchema.KEY_ROLE,
                            metadata.getOrDefault(FingerprintSchema.KEY_ROLE, ReferenceRole.PROTECTED.wireName())));
            return new Contents(set, new Reference(meta, decoded.rows()));
        } catch (ImprintException e) {
            throw FingerprintCodec.readFailure(displayName, "reference file", e);
        }
    }
}
