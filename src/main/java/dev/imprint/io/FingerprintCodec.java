package dev.imprint.io;

import static dev.imprint.io.FingerprintSchema.KEY_CHECKSUM;
import static dev.imprint.io.FingerprintSchema.KEY_FORMAT;
import static dev.imprint.io.FingerprintSchema.KEY_FORMAT_VERSION;
import static dev.imprint.io.FingerprintSchema.PROBE;
import static dev.imprint.io.FingerprintSchema.VALUES;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BitVectorHelper;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.message.ArrowBlock;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Writes and reads one fingerprint file: a probe set definition in schema metadata and, for a
 * reference, its P rows ({@code probe} = 0..P-1 in order, {@code values} = row p).
 *
 * <p>The checksum ({@code imprint.checksum = crc32c:xxxxxxxx}) is CRC32C over, in order:
 * <ol>
 *   <li>every schema metadata entry except {@code imprint.checksum}, sorted by the UTF-8 bytes of
 *       the key, each as u32le(len(key)) key u32le(len(value)) value, all in UTF-8;</li>
 *   <li>the values of all rows, row-major, as float32 little-endian (the raw Arrow data buffer).</li>
 * </ol>
 * The {@code probe} column is not hashed because it carries no information: the reader insists it
 * is exactly 0..P-1. Arrow framing and padding are not hashed either; damage there either fails
 * parsing, fails the structural checks (row count, nulls, types) or changes nothing read.
 */
final class FingerprintCodec {
    /** Rows are written in record batches of about this many bytes, bounding the memory of a write. */
    static final int TARGET_BATCH_BYTES = 8 << 20;
    private static final int CRC_CHUNK_FLOATS = 1 << 16;
    private static final int COPY_CHUNK_FLOATS = 1 << 20;

    private FingerprintCodec() {}

    /** A file's probe set, its full schema metadata and its rows (null for a definition-only file). */
    record Decoded(ProbeSet set, Map<String, String> metadata, float[] rows) {}

    /**
     * Writes {@code set}'s definition plus {@code extra} metadata and, unless null, {@code rows}
     * (numProbes × dim, row-major) to {@code out}, which is left open.
     */
    static void write(BufferAllocator parent, WritableByteChannel out, String format, ProbeSet set,
                      Map<String, String> extra, float[] rows) throws IOException {
        Map<String, String> metadata = new TreeMap<>(FingerprintSchema.probeSetMetadata(set));
        metadata.putAll(extra);
        metadata.put(KEY_FORMAT, format);
        metadata.put(KEY_FORMAT_VERSION, FingerprintSchema.FORMAT_VERSION);
        CRC32C crc = new CRC32C();
        updateWithMetadata(crc, metadata);
        if (rows != null) {
            updateWithFloats(crc, rows);
        }
        metadata.put(KEY_CHECKSUM, formatChecksum(crc.getValue()));
        Schema schema = FingerprintSchema.referenceSchema(set.dim(), metadata);
        try (BufferAllocator allocator = parent.newChildAllocator("write " + format, 0, Long.MAX_VALUE);
             VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
             ArrowFileWriter writer = new ArrowFileWriter(root, null, new UnclosedChannel(out))) {
            writer.start();
            if (rows != null) {
                int perBatch = Math.max(1, Math.min(set.numProbes(), TARGET_BATCH_BYTES / (4 * set.dim())));
                for (int first = 0; first < set.numProbes(); first += perBatch) {
                    int count = Math.min(perBatch, set.numProbes() - first);
                    fill(root, first, count, rows, set.dim());
                    writer.writeBatch();
                }
            }
            writer.end();
        }
    }

    /**
     * Reads and verifies a file written by {@link #write}.
     *
     * @param displayName how errors name the file
     * @param withRows    true for a reference (exactly num_probes rows), false for a definition-only file (none)
     * @throws ImprintException NOT_FOUND if the file does not exist; INVALID_ARGUMENT naming the file
     *     and the problem if it is unreadable, truncated, malformed or fails its checksum
     */
    static Decoded read(BufferAllocator parent, Path path, String displayName, String format, boolean withRows) {
        return read(parent, FileOps.SYSTEM, path, displayName, format, withRows, true);
    }

    /**
     * As {@link #read(BufferAllocator, Path, String, String, boolean)}; with {@code requireChecksum}
     * false a file without {@code imprint.checksum} (one a user wrote, say with pyarrow) is read
     * unverified, and one that has it is still verified.
     */
    static Decoded read(BufferAllocator parent, FileOps files, Path path, String displayName, String format,
                        boolean withRows, boolean requireChecksum) {
        try (FileChannel channel = files.openRead(path)) {
            long size = channel.size();
            // A corrupt length field must not make Arrow allocate more than the file could hold.
            try (BufferAllocator allocator = parent.newChildAllocator("read " + displayName, 0, 2 * size + (1 << 20));
                 ArrowFileReader reader = new ArrowFileReader(channel, allocator)) {
                return decode(reader, channel, size, allocator, format, withRows, requireChecksum);
            }
        } catch (IOException | RuntimeException | StackOverflowError e) {
            throw readFailure(displayName, "file", e);
        }
    }

    /**
     * The error to report for {@code failure} while reading {@code displayName}: NOT_FOUND for a
     * missing file, a domain error with the file name in front, anything else INVALID_ARGUMENT
     * "not a readable Arrow IPC {@code what}". A StackOverflowError is Arrow recursing through a
     * schema whose fields nest without end (a damaged file can make a field its own child); the
     * readers catch it where they hand the file to Arrow, and it is reported as such.
     */
    static ImprintException readFailure(String displayName, String what, Throwable failure) {
        if (failure instanceof NoSuchFileException) {
            return ImprintException.notFound("file %s does not exist", displayName);
        }
        if (failure instanceof ImprintException e) {
            return new ImprintException(e.code(), displayName + ": " + e.getMessage(), e);
        }
        if (failure instanceof StackOverflowError) {
            return new ImprintException(ImprintException.Code.INVALID_ARGUMENT, displayName
                    + ": not a readable Arrow IPC " + what + " (its schema nests too deeply or refers to itself)", failure);
        }
        return new ImprintException(ImprintException.Code.INVALID_ARGUMENT,
                displayName + ": not a readable Arrow IPC " + what + " (" + failure + ")", failure);
    }

    private static Decoded decode(ArrowFileReader reader, FileChannel channel, long fileSize, BufferAllocator allocator,
                                  String format, boolean withRows, boolean requireChecksum) throws IOException {
        VectorSchemaRoot root = reader.getVectorSchemaRoot();
        Schema schema = root.getSchema();
        Map<String, String> metadata = schema.getCustomMetadata() == null ? Map.of() : schema.getCustomMetadata();
        FingerprintSchema.requireFormat(metadata, format);
        ProbeSet set = FingerprintSchema.probeSetFromMetadata(metadata);
        FingerprintSchema.requireInt32(schema, PROBE);
        int dim = FingerprintSchema.valuesDim(schema);
        if (dim != set.dim()) {
            throw ImprintException.invalidArgument("column %s has list size %d but metadata %s=%d",
                    VALUES, dim, FingerprintSchema.KEY_DIM, set.dim());
        }
        boolean verify = requireChecksum || metadata.containsKey(KEY_CHECKSUM);
        long expectedChecksum = verify ? parseChecksum(FingerprintSchema.require(metadata, KEY_CHECKSUM)) : 0;
        int expectedRows = withRows ? set.numProbes() : 0;
        if ((long) expectedRows * dim * Float.BYTES > fileSize) {
            throw ImprintException.invalidArgument("is %d bytes, too small for num_probes=%d x dim=%d float32 values",
                    fileSize, set.numProbes(), dim);
        }
        CRC32C crc = new CRC32C();
        updateWithMetadata(crc, metadata);
        float[] rows = withRows ? new float[set.elements()] : null;
        long seen = 0;
        for (ArrowBlock block : reader.getRecordBlocks()) {
            BatchLoader.load(channel, fileSize, block, root, allocator);
            int count = root.getRowCount();
            if (seen + count > expectedRows) {
                throw ImprintException.invalidArgument("has at least %d rows; expected %d", seen + count, expectedRows);
            }
            FieldVector probe = root.getVector(PROBE);
            FixedSizeListVector values = (FixedSizeListVector) root.getVector(VALUES);
            if (probe.getValueCount() != count || values.getValueCount() != count) {
                throw ImprintException.invalidArgument("batch at row %d has %d rows but columns of %d and %d values",
                        seen, count, probe.getValueCount(), values.getValueCount());
            }
            requireNoNulls(probe.getNullCount(), PROBE, seen);
            requireNoNullValues(values, count, dim, seen);
            for (int i = 0; i < count; i++) {
                long p = ((BaseIntVector) probe).getValueAsLong(i);
                if (p != seen + i) {
                    throw ImprintException.invalidArgument("row %d has probe=%d; expected %d (rows list probes 0..P-1 in order)",
                            seen + i, p, seen + i);
                }
            }
            copyValues(values, 0, count, dim, rows, (int) (seen * dim), crc);
            seen += count;
        }
        if (seen != expectedRows) {
            throw ImprintException.invalidArgument("has %d rows; expected %d (num_probes=%d)",
                    seen, expectedRows, set.numProbes());
        }
        if (verify && crc.getValue() != expectedChecksum) {
            throw ImprintException.invalidArgument("checksum mismatch: metadata %s=%s but the content hashes to %s",
                    KEY_CHECKSUM, formatChecksum(expectedChecksum), formatChecksum(crc.getValue()));
        }
        return new Decoded(set, Map.copyOf(metadata), rows);
    }

    /**
     * Copies rows {@code firstRow..firstRow+count-1} of a values column into {@code dest} at
     * {@code destOffset} and, unless {@code crc} is null, feeds their little-endian bytes to it.
     * The caller has checked the column for nulls.
     */
    static void copyValues(FixedSizeListVector values, int firstRow, int count, int dim, float[] dest, int destOffset,
                           CRC32C crc) {
        if (values.getDataVector() instanceof Float8Vector doubles) {
            copyDoubles(doubles, firstRow, count, dim, dest, destOffset, crc);
            return;
        }
        Float4Vector data = (Float4Vector) values.getDataVector();
        long start = (long) firstRow * dim;
        long total = (long) count * dim;
        if (data.getValueCount() < start + total) {
            throw ImprintException.invalidArgument("column %s holds %d values, too few for %d rows of dim %d",
                    VALUES, data.getValueCount(), firstRow + count, dim);
        }
        ArrowBuf buf = data.getDataBuffer();
        for (long done = 0; done < total; ) {
            int chunk = (int) Math.min(COPY_CHUNK_FLOATS, total - done);
            ByteBuffer bytes = buf.nioBuffer((start + done) * Float.BYTES, chunk * Float.BYTES)
                    .order(ByteOrder.LITTLE_ENDIAN);
            if (crc != null) {
                crc.update(bytes.duplicate());
            }
            bytes.asFloatBuffer().get(dest, destOffset + (int) done, chunk);
            done += chunk;
        }
    }

    /**
     * {@link #copyValues} for float64 items: each cast to float32, and one too large for float32
     * refused rather than turned into an infinity; the checksum, if asked, covers the float32 bytes.
     */
    private static void copyDoubles(Float8Vector data, int firstRow, int count, int dim, float[] dest,
                                    int destOffset, CRC32C crc) {
        long start = (long) firstRow * dim;
        int total = count * dim;
        if (data.getValueCount() < start + total) {
            throw ImprintException.invalidArgument("column %s holds %d values, too few for %d rows of dim %d",
                    VALUES, data.getValueCount(), firstRow + count, dim);
        }
        for (int i = 0; i < total; i++) {
            double v = data.get((int) (start + i));
            if (Double.isFinite(v) && Math.abs(v) > Float.MAX_VALUE) {
                throw ImprintException.invalidArgument("row %d column %d of %s is %s, beyond float32's range",
                        firstRow + i / dim, i % dim, VALUES, v);
            }
            dest[destOffset + i] = (float) v;
        }
        if (crc != null) {
            updateWithFloats(crc, Arrays.copyOfRange(dest, destOffset, destOffset + total));
        }
    }

    /** Checks a values column and its items for nulls in the first {@code count} rows. */
    static void requireNoNullValues(FixedSizeListVector values, int count, int dim, long firstRowOfBatch) {
        requireNoNulls(values.getNullCount(), VALUES, firstRowOfBatch);
        BaseFixedWidthVector data = (BaseFixedWidthVector) values.getDataVector();
        requireNoNulls(BitVectorHelper.getNullCount(data.getValidityBuffer(), count * dim), VALUES + ".item",
                firstRowOfBatch);
    }

    /** Fills {@code root}'s probe and values columns with rows first..first+count-1 of {@code rows}. */
    static void fill(VectorSchemaRoot root, int first, int count, float[] rows, int dim) {
        IntVector probe = (IntVector) root.getVector(PROBE);
        probe.allocateNew(count);
        for (int i = 0; i < count; i++) {
            probe.set(i, first + i);
        }
        FixedSizeListVector values = (FixedSizeListVector) root.getVector(VALUES);
        fillValues(values, count, dim, rows, first * dim);
        root.setRowCount(count);
    }

    /** Allocates {@code values} for {@code count} non-null rows copied from {@code src} at {@code srcOffset}. */
    static void fillValues(FixedSizeListVector values, int count, int dim, float[] src, int srcOffset) {
        values.setInitialCapacity(count);
        values.allocateNew();
        setAllValid(values.getValidityBuffer(), count);
        Float4Vector data = (Float4Vector) values.getDataVector();
        int total = count * dim;
        setAllValid(data.getValidityBuffer(), total);
        data.getDataBuffer().nioBuffer(0, total * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer().put(src, srcOffset, total);
        values.setValueCount(count);
    }

    static void setAllValid(ArrowBuf validity, int count) {
        validity.setOne(0, count / 8);
        for (int i = count / 8 * 8; i < count; i++) {
            BitVectorHelper.setBit(validity, i);
        }
    }

    static void requireNoNulls(int nulls, String column, long firstRow) {
        if (nulls != 0) {
            throw ImprintException.invalidArgument("column %s has %d nulls in the batch starting at row %d; "
                    + "every value must be present", column, nulls, firstRow);
        }
    }

    static void updateWithMetadata(CRC32C crc, Map<String, String> metadata) {
        List<byte[][]> entries = new ArrayList<>();
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (!e.getKey().equals(KEY_CHECKSUM)) {
                entries.add(new byte[][] {e.getKey().getBytes(StandardCharsets.UTF_8),
                        e.getValue().getBytes(StandardCharsets.UTF_8)});
            }
        }
        entries.sort(Comparator.comparing((byte[][] e) -> e[0], Arrays::compareUnsigned));
        ByteBuffer length = ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (byte[][] e : entries) {
            for (byte[] part : e) {
                length.clear();
                crc.update(length.putInt(part.length).flip());
                crc.update(part);
            }
        }
    }

    static void updateWithFloats(CRC32C crc, float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(CRC_CHUNK_FLOATS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < values.length; from += CRC_CHUNK_FLOATS) {
            int count = Math.min(CRC_CHUNK_FLOATS, values.length - from);
            bytes.clear();
            bytes.asFloatBuffer().put(values, from, count);
            bytes.limit(count * Float.BYTES);
            crc.update(bytes);
        }
    }

    static String formatChecksum(long crc) {
        return String.format("crc32c:%08x", crc);
    }

    private static long parseChecksum(String value) {
        if (!value.matches("crc32c:[0-9a-f]{8}")) {
            throw ImprintException.invalidArgument("metadata %s='%s'; expected crc32c: and 8 lowercase hex digits",
                    KEY_CHECKSUM, value);
        }
        return Long.parseLong(value.substring("crc32c:".length()), 16);
    }
}
