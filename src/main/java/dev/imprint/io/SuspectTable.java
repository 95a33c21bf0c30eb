package dev.imprint.io;

import static dev.imprint.io.FingerprintSchema.PROBE;
import static dev.imprint.io.FingerprintSchema.VALUES;

import dev.imprint.core.ImprintException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.message.ArrowBlock;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Suspect outputs for {@code rescore}, as an Arrow IPC table with one row per suspect probe:
 * {@code model_id} utf8, {@code probe} int32, {@code values} fixed_size_list&lt;float32&gt;[D].
 * The rows of one suspect are contiguous; its probes may come in any order and may be a subset.
 * Schema metadata: {@code imprint.format=imprint-suspects}, {@code imprint.format_version},
 * {@code imprint.probe_set_id} (optional when reading, so plain pyarrow tables work).
 */
public final class SuspectTable {
    /** Value of {@code imprint.format} in a suspect table. */
    public static final String FORMAT = "imprint-suspects";
    /** Column naming the suspect model of each row, utf8. */
    public static final String MODEL_ID = "model_id";

    private static final byte[] FILE_MAGIC = "ARROW1".getBytes(StandardCharsets.US_ASCII);

    private SuspectTable() {}

    /**
     * One suspect as read from the table.
     *
     * @param probeIndices the probe of each row, in file order
     * @param rows         {@code probeIndices.length × dim} values, row-major
     */
    public record SuspectRows(String modelId, int[] probeIndices, float[] rows) {}

    /**
     * Opens a suspect table (Arrow IPC file format, as {@code pyarrow.ipc.new_file} writes).
     *
     * @param maxRowsPerSuspect a suspect with more rows is an error; bounds the memory of one suspect
     * @throws ImprintException NOT_FOUND if absent; INVALID_ARGUMENT naming the file if its schema is wrong
     */
    public static Reader open(BufferAllocator allocator, Path path, int maxRowsPerSuspect) {
        return new Reader(allocator, path, maxRowsPerSuspect);
    }

    /** Streams a suspect table one suspect at a time; only the current batch and suspect are in memory. */
    public static final class Reader implements AutoCloseable {
        private final String name;
        private final int maxRows;
        private final BufferAllocator allocator;
        private final FileChannel channel;
        private final long fileSize;
        private final ArrowFileReader arrow;
        private final List<ArrowBlock> blocks;
        private final VectorSchemaRoot root;
        private final int dim;
        private final Optional<String> probeSetId;
        private final Set<String> seen = new HashSet<>();
        private int nextBlock;
        private int batchRows;
        private int row;
        private long batchStart;

        private Reader(BufferAllocator parent, Path path, int maxRows) {
            this.name = path.toString();
            this.maxRows = maxRows;
            BufferAllocator child = null;
            FileChannel ch = null;
            ArrowFileReader reader = null;
            try {
                ch = FileChannel.open(path, StandardOpenOption.READ);
                this.fileSize = ch.size();
                if (!startsWithFileMagic(ch)) {
                    throw ImprintException.invalidArgument("is not an Arrow IPC file (it does not start with ARROW1); "
                            + "write it with pyarrow.ipc.new_file, not new_stream");
                }
                // A damaged length field must not make Arrow allocate more than the file could hold.
                child = parent.newChildAllocator("suspects " + name, 0, 2 * fileSize + (1 << 20));
                reader = new ArrowFileReader(ch, child);
                this.root = reader.getVectorSchemaRoot();
                this.blocks = reader.getRecordBlocks();
                Schema schema = root.getSchema();
                FingerprintSchema.requireUtf8(schema, MODEL_ID);
                FingerprintSchema.requireInt32(schema, PROBE);
                this.dim = FingerprintSchema.valuesDim(schema);
                Map<String, String> metadata = schema.getCustomMetadata() == null ? Map.of() : schema.getCustomMetadata();
                String format = metadata.get(FingerprintSchema.KEY_FORMAT);
                if (format != null) {
                    FingerprintSchema.requireFormat(metadata, FORMAT);
                }
                this.probeSetId = Optional.ofNullable(metadata.get(FingerprintSchema.KEY_PROBE_SET_ID));
            } catch (IOException | RuntimeException | StackOverflowError e) {
                closeAll(reader, ch, child);
                throw FingerprintCodec.readFailure(name, "suspect table", e);
            }
            this.allocator = child;
            this.channel = ch;
            this.arrow = reader;
        }

        /** The values width D of every row. */
        public int dim() {
            return dim;
        }

        /** The probe set named in the schema metadata, if any. */
        public Optional<String> probeSetId() {
            return probeSetId;
        }

        /**
         * The next suspect, or null at the end of the table.
         *
         * @throws ImprintException INVALID_ARGUMENT naming the file and row for nulls, a suspect whose
         *     rows are not contiguous, more than {@code maxRowsPerSuspect} rows, or an unreadable batch
         */
        public SuspectRows next() {
            try {
                if (!advance()) {
                    return null;
                }
                String modelId = modelId(row);
                if (!seen.add(modelId)) {
                    throw ImprintException.invalidArgument("row %d: rows of suspect %s are not contiguous; "
                            + "group each suspect's rows together", batchStart + row, modelId);
                }
                int[] probes = new int[16];
                float[] rows = new float[16 * dim];
                int count = 0;
                while (advance() && modelId(row).equals(modelId)) {
                    int end = row + 1;
                    while (end < batchRows && modelId(end).equals(modelId)) {
                        end++;
                    }
                    int run = end - row;
                    if ((long) count + run > maxRows) {
                        throw ImprintException.invalidArgument("suspect %s has more than %d rows (the probe set's num_probes)",
                                modelId, maxRows);
                    }
                    if (count + run > probes.length) {
                        int capacity = Math.max(count + run, Math.min(maxRows, probes.length * 2));
                        probes = Arrays.copyOf(probes, capacity);
                        rows = Arrays.copyOf(rows, Math.multiplyExact(capacity, dim));
                    }
                    BaseIntVector probe = (BaseIntVector) root.getVector(PROBE);
                    for (int i = 0; i < run; i++) {
                        long p = probe.getValueAsLong(row + i);
                        if (p < 0 || p > Integer.MAX_VALUE) {
                            throw ImprintException.invalidArgument("row %d: probe=%d is not a probe index",
                                    batchStart + row + i, p);
                        }
                        probes[count + i] = (int) p;
                    }
                    FingerprintCodec.copyValues((FixedSizeListVector) root.getVector(VALUES), row, run, dim, rows,
                            count * dim, null);
                    count += run;
                    row = end;
                }
                return new SuspectRows(modelId, Arrays.copyOf(probes, count), Arrays.copyOf(rows, count * dim));
            } catch (IOException | RuntimeException | StackOverflowError e) {
                throw FingerprintCodec.readFailure(name, "suspect table", e);
            }
        }

        /** Makes {@code row} point at a row, loading batches as needed; false at the end. */
        private boolean advance() throws IOException {
            while (row >= batchRows) {
                batchStart += batchRows;
                if (nextBlock == blocks.size()) {
                    batchRows = 0;
                    row = 0;
                    return false;
                }
                BatchLoader.load(channel, fileSize, blocks.get(nextBlock++), root, allocator);
                batchRows = root.getRowCount();
                row = 0;
                for (FieldVector column : root.getFieldVectors()) {
                    if (column.getValueCount() != batchRows) {
                        throw ImprintException.invalidArgument("batch at row %d has %d rows but column %s has %d values",
                                batchStart, batchRows, column.getName(), column.getValueCount());
                    }
                }
                requireNoNulls(root.getVector(MODEL_ID));
                requireNoNulls(root.getVector(PROBE));
                FingerprintCodec.requireNoNullValues((FixedSizeListVector) root.getVector(VALUES), batchRows, dim,
                        batchStart);
            }
            return true;
        }

        private void requireNoNulls(FieldVector vector) {
            if (vector.getNullCount() == 0) {
                return;
            }
            for (int i = 0; i < batchRows; i++) {
                if (vector.isNull(i)) {
                    throw ImprintException.invalidArgument("row %d: %s is null", batchStart + i, vector.getName());
                }
            }
        }

        private String modelId(int i) {
            FieldVector ids = root.getVector(MODEL_ID);
            byte[] utf8 = ids instanceof LargeVarCharVector large ? large.get(i) : ((VarCharVector) ids).get(i);
            return new String(utf8, StandardCharsets.UTF_8);
        }

        @Override
        public void close() {
            closeAll(arrow, channel, allocator);
        }

        private static void closeAll(ArrowFileReader reader, FileChannel channel, BufferAllocator allocator) {
            try {
                if (reader != null) {
                    reader.close();
                }
                if (channel != null) {
                    channel.close();
                }
            } catch (IOException e) {
                throw new ImprintException(ImprintException.Code.INTERNAL, "could not close a suspect table: " + e, e);
            } finally {
                if (allocator != null) {
                    allocator.close();
                }
            }
        }

        private static boolean startsWithFileMagic(FileChannel channel) throws IOException {
            ByteBuffer head = ByteBuffer.allocate(FILE_MAGIC.length);
            while (head.hasRemaining() && channel.read(head, head.position()) >= 0) {
                // Keep reading: a channel may return fewer bytes than asked.
            }
            return Arrays.equals(head.array(), FILE_MAGIC);
        }
    }

    /**
     * Writes a suspect table (Arrow IPC file format) in record batches of about
     * {@link FingerprintCodec#TARGET_BATCH_BYTES}; a suspect may span batches.
     */
    public static final class Writer implements AutoCloseable {
        private final int dim;
        private final int batchRows;
        private final String[] pendingIds;
        private final int[] pendingProbes;
        private final float[] pendingValues;
        private final ArrowFileOutput output;
        private int pending;

        /**
         * Creates (or truncates) {@code path} for suspects of probe set {@code probeSetId}, rows of {@code dim} values.
         */
        public Writer(BufferAllocator allocator, Path path, String probeSetId, int dim) throws IOException {
            this.dim = dim;
            this.batchRows = Math.max(1, FingerprintCodec.TARGET_BATCH_BYTES / (4 * dim));
            this.pendingIds = new String[batchRows];
            this.pendingProbes = new int[batchRows];
            this.pendingValues = new float[batchRows * dim];
            Map<String, String> metadata = new TreeMap<>();
            metadata.put(FingerprintSchema.KEY_FORMAT, FORMAT);
            metadata.put(FingerprintSchema.KEY_FORMAT_VERSION, FingerprintSchema.FORMAT_VERSION);
            metadata.put(FingerprintSchema.KEY_PROBE_SET_ID, probeSetId);
            Schema schema = new Schema(List.of(new Field(MODEL_ID, FieldType.notNullable(new ArrowType.Utf8()), null),
                    FingerprintSchema.probeField(), FingerprintSchema.valuesField(dim)), metadata);
            this.output = ArrowFileOutput.create(allocator, path, schema);
        }

        /**
         * Appends one suspect.
         *
         * @param rows {@code probeIndices.length × dim} values, row-major
         */
        public void write(String modelId, int[] probeIndices, float[] rows) throws IOException {
            if (rows.length != (long) probeIndices.length * dim) {
                throw ImprintException.invalidArgument("suspect %s has %d values for %d probes; expected %d (dim=%d)",
                        modelId, rows.length, probeIndices.length, (long) probeIndices.length * dim, dim);
            }
            for (int i = 0; i < probeIndices.length; i++) {
                pendingIds[pending] = modelId;
                pendingProbes[pending] = probeIndices[i];
                System.arraycopy(rows, i * dim, pendingValues, pending * dim, dim);
                if (++pending == batchRows) {
                    flush();
                }
            }
        }

        private void flush() throws IOException {
            if (pending == 0) {
                return;
            }
            VectorSchemaRoot root = output.root();
            VarCharVector ids = (VarCharVector) root.getVector(MODEL_ID);
            ids.allocateNew(pending);
            IntVector probes = (IntVector) root.getVector(PROBE);
            probes.allocateNew(pending);
            for (int i = 0; i < pending; i++) {
                ids.setSafe(i, pendingIds[i].getBytes(StandardCharsets.UTF_8));
                probes.set(i, pendingProbes[i]);
            }
            FingerprintCodec.fillValues((FixedSizeListVector) root.getVector(VALUES), pending, dim, pendingValues, 0);
            root.setRowCount(pending);
            output.writeBatch();
            pending = 0;
        }

        /** Writes what is pending and the file footer, then releases everything. */
        @Override
        public void close() throws IOException {
            try (output) {
                flush();
            }
        }
    }
}
