package dev.imprint.io;

import dev.imprint.core.ProbeSet;
import java.io.IOException;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;

/**
 * A probe set definition alone, as an Arrow IPC file with the reference columns and no rows: the
 * definition lives in schema metadata ({@code imprint.format=imprint-probe-set}, the keys of
 * {@link FingerprintSchema#probeSetMetadata} and {@code imprint.checksum}).
 */
public final class ProbeSetFile {
    /** Value of {@code imprint.format} in a probe-set file. */
    public static final String FORMAT = "imprint-probe-set";

    private ProbeSetFile() {}

    /** Writes {@code set}'s definition to {@code out}, which is left open. */
    public static void write(BufferAllocator allocator, WritableByteChannel out, ProbeSet set) throws IOException {
        FingerprintCodec.write(allocator, out, FORMAT, set, Map.of(), null);
    }

    /**
     * Reads and verifies a probe-set file.
     *
     * @param displayName how errors name the file
     * @throws dev.imprint.core.ImprintException NOT_FOUND if absent; INVALID_ARGUMENT naming the file and the problem
     */
    public static ProbeSet read(BufferAllocator allocator, Path path, String displayName) {
        return FingerprintCodec.read(allocator, path, displayName, FORMAT, false).set();
    }
}
