package dev.imprint.io;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ScoreResult;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.message.ArrowBlock;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The output of {@code rescore}: one row per (suspect, reference) with columns {@code suspect_id}
 * utf8, {@code model_id} utf8, {@code rank} int32 (1 = closest), {@code probes_used} int32, and one
 * nullable float64 column per metric ({@code cosine}, {@code kl_ref_suspect}, {@code kl_suspect_ref},
 * {@code js}, {@code top1_agreement}), null where the metric was not computed. Written as an Arrow
 * IPC file (schema metadata {@code imprint.format=imprint-results}, {@code imprint.format_version},
 * {@code imprint.probe_set_id}) or as CSV with the same columns, empty for null.
 */
public final class ResultTable {
    /** Value of {@code imprint.format} in a result table. */
    public static final String FORMAT = "imprint-results";
    public static final String SUSPECT_ID = "suspect_id";
    public static final String MODEL_ID = "model_id";
    public static final String RANK = "rank";
    public static final String PROBES_USED = "probes_used";
    /** The column names, in order. */
    public static final List<String> COLUMNS = columns();

    /** Rows buffered before an Arrow record batch is written. */
    static final int BATCH_ROWS = 4096;

    private ResultTable() {}

    /** The column of {@code metric}: its name in lower case, e.g. {@code kl_ref_suspect}. */
    public static String column(Metric metric) {
        return metric.name().toLowerCase(Locale.ROOT);
    }

    /** One row of the table; {@code values} holds the metrics that were computed. */
    public record Row(String suspectId, String modelId, int rank, int probesUsed, Map<Metric, Double> values) {}

    /** Where result rows go as suspects are scored. */
    public interface Sink extends AutoCloseable {
        /** Appends one row per match of {@code result}, in rank order. */
        void write(String suspectId, ScoreResult result) throws IOException;

        /** Completes the file. */
        @Override
        void close() throws IOException;
    }

    /** A sink writing an Arrow IPC file at {@code path} (created or truncated). */
    public static Sink arrow(BufferAllocator allocator, Path path, String probeSetId) throws IOException {
        return new ArrowSink(allocator, path, probeSetId);
    }

    /** A sink writing CSV at {@code path} (created or truncated): a header line, then one line per row. */
    public static Sink csv(Path path) throws IOException {
        return new CsvSink(Files.newBufferedWriter(path, StandardCharsets.UTF_8));
    }

    /**
     * Reads a whole result table written by {@link #arrow}.
     *
     * @throws ImprintException NOT_FOUND if absent; INVALID_ARGUMENT naming the file if it is not a result table
     */
    public static List<Row> readAll(BufferAllocator parent, Path path) {
        String name = path.toString();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
             BufferAllocator allocator = parent.newChildAllocator("results " + name, 0, Long.MAX_VALUE);
             ArrowFileReader reader = new ArrowFileReader(channel, allocator)) {
            VectorSchemaRoot root = reader.getVectorSchemaRoot();
            Schema schema = root.getSchema();
            Map<String, String> metadata = schema.getCustomMetadata() == null ? Map.of() : schema.getCustomMetadata();
            FingerprintSchema.requireFormat(metadata, FORMAT);
            FingerprintSchema.requireUtf8(schema, SUSPECT_ID);
            FingerprintSchema.requireUtf8(schema, MODEL_ID);
            FingerprintSchema.requireInt32(schema, RANK);
            FingerprintSchema.requireInt32(schema, PROBES_USED);
            List<Row> rows = new ArrayList<>();
            for (ArrowBlock block : reader.getRecordBlocks()) {
                BatchLoader.load(channel, channel.size(), block, root, allocator);
                VarCharVector suspects = (VarCharVector) root.getVector(SUSPECT_ID);
                VarCharVector models = (VarCharVector) root.getVector(MODEL_ID);
                IntVector ranks = (IntVector) root.getVector(RANK);
                IntVector probes = (IntVector) root.getVector(PROBES_USED);
                for (int i = 0; i < root.getRowCount(); i++) {
                    Map<Metric, Double> values = new EnumMap<>(Metric.class);
                    for (Metric m : Metric.values()) {
                        Float8Vector v = (Float8Vector) root.getVector(column(m));
                        if (!v.isNull(i)) {
                            values.put(m, v.get(i));
                        }
                    }
                    rows.add(new Row(new String(suspects.get(i), StandardCharsets.UTF_8),
                            new String(models.get(i), StandardCharsets.UTF_8), ranks.get(i), probes.get(i), values));
                }
            }
            return rows;
        } catch (IOException | RuntimeException e) {
            throw FingerprintCodec.readFailure(name, "result table", e);
        }
    }

    private static List<String> columns() {
        List<String> names = new ArrayList<>(List.of(SUSPECT_ID, MODEL_ID, RANK, PROBES_USED));
        for (Metric m : Metric.values()) {
            names.add(column(m));
        }
        return Collections.unmodifiableList(names);
    }

    private static Schema schema(String probeSetId) {
        List<Field> fields = new ArrayList<>();
        fields.add(new Field(SUSPECT_ID, FieldType.notNullable(new ArrowType.Utf8()), null));
        fields.add(new Field(MODEL_ID, FieldType.notNullable(new ArrowType.Utf8()), null));
        fields.add(new Field(RANK, FieldType.notNullable(new ArrowType.Int(32, true)), null));
        fields.add(new Field(PROBES_USED, FieldType.notNullable(new ArrowType.Int(32, true)), null));
        for (Metric m : Metric.values()) {
            fields.add(new Field(column(m),
                    FieldType.nullable(new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)), null));
        }
        Map<String, String> metadata = new TreeMap<>();
        metadata.put(FingerprintSchema.KEY_FORMAT, FORMAT);
        metadata.put(FingerprintSchema.KEY_FORMAT_VERSION, FingerprintSchema.FORMAT_VERSION);
        metadata.put(FingerprintSchema.KEY_PROBE_SET_ID, probeSetId);
        return new Schema(fields, metadata);
    }

    /** Buffers up to {@link #BATCH_ROWS} rows, then writes them as one record batch. */
    private static final class ArrowSink implements Sink {
        private final ArrowFileOutput output;
        private final List<Row> pending = new ArrayList<>();

        ArrowSink(BufferAllocator allocator, Path path, String probeSetId) throws IOException {
            this.output = ArrowFileOutput.create(allocator, path, schema(probeSetId));
        }

        @Override
        public void write(String suspectId, ScoreResult result) throws IOException {
            for (Match m : result.matches()) {
                pending.add(new Row(suspectId, m.modelId(), m.rank(), result.probesUsed(), m.values()));
                if (pending.size() == BATCH_ROWS) {
                    flush();
                }
            }
        }

        private void flush() throws IOException {
            if (pending.isEmpty()) {
                return;
            }
            int n = pending.size();
            VectorSchemaRoot root = output.root();
            VarCharVector suspects = (VarCharVector) root.getVector(SUSPECT_ID);
            VarCharVector models = (VarCharVector) root.getVector(MODEL_ID);
            IntVector ranks = (IntVector) root.getVector(RANK);
            IntVector probes = (IntVector) root.getVector(PROBES_USED);
            suspects.allocateNew(n);
            models.allocateNew(n);
            ranks.allocateNew(n);
            probes.allocateNew(n);
            Map<Metric, Float8Vector> metricVectors = new EnumMap<>(Metric.class);
            for (Metric m : Metric.values()) {
                Float8Vector v = (Float8Vector) root.getVector(column(m));
                v.allocateNew(n);
                metricVectors.put(m, v);
            }
            for (int i = 0; i < n; i++) {
                Row row = pending.get(i);
                suspects.setSafe(i, row.suspectId().getBytes(StandardCharsets.UTF_8));
                models.setSafe(i, row.modelId().getBytes(StandardCharsets.UTF_8));
                ranks.set(i, row.rank());
                probes.set(i, row.probesUsed());
                for (Map.Entry<Metric, Float8Vector> e : metricVectors.entrySet()) {
                    Double value = row.values().get(e.getKey());
                    if (value == null) {
                        e.getValue().setNull(i);
                    } else {
                        e.getValue().set(i, value);
                    }
                }
            }
            root.setRowCount(n);
            output.writeBatch();
            pending.clear();
        }

        @Override
        public void close() throws IOException {
            try (output) {
                flush();
            }
        }
    }

    /** Writes CSV rows as they come; metric values use Java's round-trip decimal form, nulls are empty. */
    private static final class CsvSink implements Sink {
        private final BufferedWriter out;

        CsvSink(BufferedWriter out) throws IOException {
            this.out = out;
            out.write(String.join(",", COLUMNS));
            out.write('\n');
        }

        @Override
        public void write(String suspectId, ScoreResult result) throws IOException {
            for (Match m : result.matches()) {
                field(out, suspectId);
                out.write(',');
                field(out, m.modelId());
                out.write(',');
                out.write(Integer.toString(m.rank()));
                out.write(',');
                out.write(Integer.toString(result.probesUsed()));
                for (Metric metric : Metric.values()) {
                    out.write(',');
                    Double value = m.values().get(metric);
                    if (value != null) {
                        out.write(Double.toString(value));
                    }
                }
                out.write('\n');
            }
        }

        /** Writes {@code s}, quoted per RFC 4180 when it holds a comma, quote or line break. */
        private static void field(Writer out, String s) throws IOException {
            if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
                out.write(s);
            } else {
                out.write('"');
                out.write(s.replace("\"", "\"\""));
                out.write('"');
            }
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }
}
