package dev.imprint.io;

import dev.imprint.attribution.MultipleTesting;
import dev.imprint.core.Attribution;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ScoreResult;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
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
 * utf8, {@code model_id} utf8, {@code rank} int32 (1 = closest), {@code probes_used} int32, one
 * nullable float64 column per metric ({@code cosine}, {@code kl_ref_suspect}, {@code kl_suspect_ref},
 * {@code js}, {@code top1_agreement}), null where the metric was not computed, then the verdict's
 * columns, null without attribution:
 * <ul>
 *   <li>{@code verdict} utf8: the suspect's verdict (DISTILLED_FROM, SAME_FAMILY, INDEPENDENT,
 *       INCONCLUSIVE), on each of its rows;
 *   <li>{@code verdict_model_id} utf8: the model the verdict names, or null when it names none;
 *   <li>{@code p_value} float64: this reference's adjusted p-value of being the teacher (null for
 *       background references and candidates the test did not need);
 *   <li>{@code q_value} float64: the Benjamini–Hochberg q-value, across every suspect of the table,
 *       of the suspect's smallest {@code p_value} (1 when it has none): reject at q ≤ α and at most
 *       a fraction α of the suspects so flagged are expected to be false discoveries.
 * </ul>
 * Written as an Arrow IPC file (schema metadata {@code imprint.format=imprint-results},
 * {@code imprint.format_version}, {@code imprint.probe_set_id}) and optionally as CSV with the same
 * columns, empty for null.
 *
 * <p>q-values need every suspect's p-value, so rows first go to a draft beside the output; only
 * {@link Writer#commit()} writes the final files, each under a temporary name renamed over its
 * target. A run that fails or is interrupted leaves existing outputs as they were.
 */
public final class ResultTable {
    /** Value of {@code imprint.format} in a result table. */
    public static final String FORMAT = "imprint-results";
    public static final String SUSPECT_ID = "suspect_id";
    public static final String MODEL_ID = "model_id";
    public static final String RANK = "rank";
    public static final String PROBES_USED = "probes_used";
    public static final String VERDICT = "verdict";
    public static final String VERDICT_MODEL_ID = "verdict_model_id";
    public static final String P_VALUE = "p_value";
    public static final String Q_VALUE = "q_value";
    /** The column names, in order. */
    public static final List<String> COLUMNS = columns();

    /** Rows buffered before an Arrow record batch is written. */
    static final int BATCH_ROWS = 4096;

    private ResultTable() {}

    /** The column of {@code metric}: its name in lower case, e.g. {@code kl_ref_suspect}. */
    public static String column(Metric metric) {
        return metric.name().toLowerCase(Locale.ROOT);
    }

    /**
     * One row of the table; {@code values} holds the metrics that were computed, and the verdict's
     * fields are null without attribution (see the class comment).
     */
    public record Row(String suspectId, String modelId, int rank, int probesUsed, Map<Metric, Double> values,
                      String verdict, String verdictModelId, Double pValue, Double qValue) {
        /** A row without a verdict. */
        public Row(String suspectId, String modelId, int rank, int probesUsed, Map<Metric, Double> values) {
            this(suspectId, modelId, rank, probesUsed, values, null, null, null, null);
        }
    }

    /**
     * Starts a result table at {@code arrow}, and its CSV twin at {@code csv} unless null. Nothing
     * appears there before {@link Writer#commit()}.
     */
    public static Writer create(BufferAllocator allocator, Path arrow, Path csv, String probeSetId)
            throws IOException {
        return new Writer(allocator, arrow, csv, probeSetId);
    }

    /** Where result rows go as suspects are scored; see {@link ResultTable}. */
    public static final class Writer implements AutoCloseable {
        private final BufferAllocator allocator;
        private final Path arrow;
        private final Path csv;
        private final String probeSetId;
        private final Path draftPath;
        private final DurableFiles.ShutdownDeletion draftDeletion;
        private ArrowFileOutput draft;
        private final List<Row> pending = new ArrayList<>();
        /** Per suspect in input order: its rows, and the p-value its q-value comes from (NaN without attribution). */
        private int[] rowsOf = new int[64];
        private double[] suspectP = new double[64];
        private int suspects;
        private boolean committed;

        private Writer(BufferAllocator allocator, Path arrow, Path csv, String probeSetId) throws IOException {
            this.allocator = allocator;
            this.arrow = arrow;
            this.csv = csv;
            this.probeSetId = probeSetId;
            this.draftPath = DurableFiles.temporaryFor(arrow);
            // A run stopped by Ctrl-C or SIGTERM never reaches commit or abort: the JVM's shutdown
            // removes the draft then. Asked for before the draft exists, so no moment leaves it behind.
            this.draftDeletion = DurableFiles.deleteAtShutdown(draftPath);
            try {
                this.draft = ArrowFileOutput.create(allocator, draftPath, schema(probeSetId));
            } catch (IOException | RuntimeException e) {
                draftDeletion.close();
                throw e;
            }
        }

        /** Appends one row per match of {@code result}, in rank order. */
        public void write(String suspectId, ScoreResult result) throws IOException {
            for (Row row : rows(suspectId, result)) {
                pending.add(row);
                if (pending.size() == BATCH_ROWS) {
                    flush(draft, pending);
                }
            }
            if (suspects == rowsOf.length) {
                rowsOf = Arrays.copyOf(rowsOf, 2 * suspects);
                suspectP = Arrays.copyOf(suspectP, 2 * suspects);
            }
            rowsOf[suspects] = result.matches().size();
            suspectP[suspects++] = suspectPValue(result);
        }

        /**
         * Computes the q-values and writes the complete table over {@code arrow} (and {@code csv}),
         * each durably and atomically.
         */
        public void commit() throws IOException {
            flush(draft, pending);
            draft.close();
            draft = null;
            double[] q = qValues();
            Path arrowTmp = DurableFiles.temporaryFor(arrow);
            Path csvTmp = csv == null ? null : DurableFiles.temporaryFor(csv);
            // Copying the table with its q-values takes as long as writing it did: Ctrl-C then must
            // not leave the copies behind either. Once a copy is renamed over its output, its
            // temporary name is gone and the deletion finds nothing.
            try (DurableFiles.ShutdownDeletion arrowCopy = DurableFiles.deleteAtShutdown(arrowTmp);
                 DurableFiles.ShutdownDeletion csvCopy = csvTmp == null ? null : DurableFiles.deleteAtShutdown(csvTmp)) {
                copyWithQValues(q, arrowTmp, csvTmp);
                DurableFiles.commit(arrowTmp, arrow);
                if (csvTmp != null) {
                    DurableFiles.commit(csvTmp, csv);
                }
                committed = true;
            } finally {
                Files.deleteIfExists(arrowTmp);
                if (csvTmp != null) {
                    Files.deleteIfExists(csvTmp);
                }
                Files.deleteIfExists(draftPath);
            }
        }

        /** Without {@link #commit()}, discards everything written; the outputs stay as they were. */
        @Override
        public void close() throws IOException {
            if (committed) {
                draftDeletion.close();
                return;
            }
            try {
                if (draft != null) {
                    draft.close();
                    draft = null;
                }
            } finally {
                Files.deleteIfExists(draftPath);
                draftDeletion.close();
            }
        }

        private double[] qValues() {
            return ResultTable.qValues(Arrays.copyOf(suspectP, suspects));
        }

        private void copyWithQValues(double[] q, Path arrowTmp, Path csvTmp) throws IOException {
            try (ArrowFileOutput out = ArrowFileOutput.create(allocator, arrowTmp, schema(probeSetId));
                 CsvOutput text = csvTmp == null ? null : new CsvOutput(Files.newBufferedWriter(csvTmp,
                         StandardCharsets.UTF_8))) {
                int[] cursor = {0, 0}; // suspect, rows of it already copied
                List<Row> batch = new ArrayList<>(BATCH_ROWS);
                forEachRow(allocator, draftPath, row -> {
                    while (cursor[1] == rowsOf[cursor[0]]) {
                        cursor[0]++;
                        cursor[1] = 0;
                    }
                    double qv = q[cursor[0]];
                    cursor[1]++;
                    Row done = new Row(row.suspectId(), row.modelId(), row.rank(), row.probesUsed(), row.values(),
                            row.verdict(), row.verdictModelId(), row.pValue(), Double.isNaN(qv) ? null : qv);
                    batch.add(done);
                    if (text != null) {
                        text.write(done);
                    }
                    if (batch.size() == BATCH_ROWS) {
                        flush(out, batch);
                    }
                });
                flush(out, batch);
            }
        }
    }

    /**
     * The rows of one scored suspect, one per match in rank order, with the verdict's columns and
     * each reference's p-value; {@code qValue} is null (it needs every suspect, see {@link #qValues}).
     */
    public static List<Row> rows(String suspectId, ScoreResult result) {
        Attribution a = result.attribution();
        String verdict = a == null ? null : a.verdict().name();
        String named = a == null || a.modelId().isEmpty() || !namesModel(a) ? null : a.modelId();
        List<Row> rows = new ArrayList<>(result.matches().size());
        for (Match m : result.matches()) {
            Double p = Double.isNaN(m.pValue()) ? null : m.pValue();
            rows.add(new Row(suspectId, m.modelId(), m.rank(), result.probesUsed(), m.values(), verdict, named, p,
                    null));
        }
        return rows;
    }

    /**
     * The p-value a suspect's q-value comes from: the smallest {@code p_value} of its matches, 1
     * when none has one, and NaN without attribution (the suspect is then not tested).
     */
    public static double suspectPValue(ScoreResult result) {
        if (result.attribution() == null) {
            return Double.NaN;
        }
        double smallest = 1;
        for (Match m : result.matches()) {
            if (!Double.isNaN(m.pValue())) {
                smallest = Math.min(smallest, m.pValue());
            }
        }
        return smallest;
    }

    /**
     * The {@code q_value} of every suspect of a run from their {@link #suspectPValue}s, in the same
     * order: Benjamini–Hochberg over the suspects that were tested, NaN for those that were not.
     * A suspect's q-value depends on the multiset of p-values only, not on their order.
     */
    public static double[] qValues(double[] suspectP) {
        double[] q = new double[suspectP.length];
        Arrays.fill(q, Double.NaN);
        int[] tested = java.util.stream.IntStream.range(0, suspectP.length).filter(i -> !Double.isNaN(suspectP[i]))
                .toArray();
        if (tested.length > 0) {
            double[] p = new double[tested.length];
            for (int i = 0; i < p.length; i++) {
                p[i] = suspectP[tested[i]];
            }
            double[] adjusted = MultipleTesting.benjaminiHochberg(p);
            for (int i = 0; i < tested.length; i++) {
                q[tested[i]] = adjusted[i];
            }
        }
        return q;
    }

    /** Whether the verdict names a model (a teacher) rather than giving it as context. */
    private static boolean namesModel(Attribution a) {
        return a.verdict() == dev.imprint.core.Verdict.DISTILLED_FROM;
    }

    /**
     * Reads a whole result table written by {@link #create}.
     *
     * @throws ImprintException NOT_FOUND if absent; INVALID_ARGUMENT naming the file if it is not a result table
     */
    public static List<Row> readAll(BufferAllocator parent, Path path) {
        List<Row> rows = new ArrayList<>();
        try {
            forEachRow(parent, path, rows::add);
        } catch (IOException e) {
            throw FingerprintCodec.readFailure(path.toString(), "result table", e);
        }
        return rows;
    }

    /** A row consumer that may fail with I/O. */
    @FunctionalInterface
    private interface RowConsumer {
        void accept(Row row) throws IOException;
    }

    private static void forEachRow(BufferAllocator parent, Path path, RowConsumer sink) throws IOException {
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
            FingerprintSchema.requireUtf8(schema, VERDICT);
            FingerprintSchema.requireUtf8(schema, VERDICT_MODEL_ID);
            for (ArrowBlock block : reader.getRecordBlocks()) {
                BatchLoader.load(channel, channel.size(), block, root, allocator);
                VarCharVector suspects = (VarCharVector) root.getVector(SUSPECT_ID);
                VarCharVector models = (VarCharVector) root.getVector(MODEL_ID);
                IntVector ranks = (IntVector) root.getVector(RANK);
                IntVector probes = (IntVector) root.getVector(PROBES_USED);
                VarCharVector verdicts = (VarCharVector) root.getVector(VERDICT);
                VarCharVector named = (VarCharVector) root.getVector(VERDICT_MODEL_ID);
                Float8Vector p = (Float8Vector) root.getVector(P_VALUE);
                Float8Vector q = (Float8Vector) root.getVector(Q_VALUE);
                for (int i = 0; i < root.getRowCount(); i++) {
                    Map<Metric, Double> values = new EnumMap<>(Metric.class);
                    for (Metric m : Metric.values()) {
                        Float8Vector v = (Float8Vector) root.getVector(column(m));
                        if (!v.isNull(i)) {
                            values.put(m, v.get(i));
                        }
                    }
                    sink.accept(new Row(utf8(suspects, i), utf8(models, i), ranks.get(i), probes.get(i), values,
                            utf8(verdicts, i), utf8(named, i), p.isNull(i) ? null : p.get(i),
                            q.isNull(i) ? null : q.get(i)));
                }
            }
        } catch (RuntimeException | StackOverflowError e) {
            throw FingerprintCodec.readFailure(name, "result table", e);
        }
    }

    private static String utf8(VarCharVector v, int i) {
        return v.isNull(i) ? null : new String(v.get(i), StandardCharsets.UTF_8);
    }

    private static List<String> columns() {
        List<String> names = new ArrayList<>(List.of(SUSPECT_ID, MODEL_ID, RANK, PROBES_USED));
        for (Metric m : Metric.values()) {
            names.add(column(m));
        }
        names.addAll(List.of(VERDICT, VERDICT_MODEL_ID, P_VALUE, Q_VALUE));
        return Collections.unmodifiableList(names);
    }

    private static Schema schema(String probeSetId) {
        List<Field> fields = new ArrayList<>();
        fields.add(new Field(SUSPECT_ID, FieldType.notNullable(new ArrowType.Utf8()), null));
        fields.add(new Field(MODEL_ID, FieldType.notNullable(new ArrowType.Utf8()), null));
        fields.add(new Field(RANK, FieldType.notNullable(new ArrowType.Int(32, true)), null));
        fields.add(new Field(PROBES_USED, FieldType.notNullable(new ArrowType.Int(32, true)), null));
        for (Metric m : Metric.values()) {
            fields.add(float64(column(m)));
        }
        fields.add(new Field(VERDICT, FieldType.nullable(new ArrowType.Utf8()), null));
        fields.add(new Field(VERDICT_MODEL_ID, FieldType.nullable(new ArrowType.Utf8()), null));
        fields.add(float64(P_VALUE));
        fields.add(float64(Q_VALUE));
        Map<String, String> metadata = new TreeMap<>();
        metadata.put(FingerprintSchema.KEY_FORMAT, FORMAT);
        metadata.put(FingerprintSchema.KEY_FORMAT_VERSION, FingerprintSchema.FORMAT_VERSION);
        metadata.put(FingerprintSchema.KEY_PROBE_SET_ID, probeSetId);
        return new Schema(fields, metadata);
    }

    private static Field float64(String name) {
        return new Field(name, FieldType.nullable(new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)), null);
    }

    /** Writes {@code rows} as one record batch of {@code output} and clears them; nothing for none. */
    private static void flush(ArrowFileOutput output, List<Row> rows) throws IOException {
        if (rows.isEmpty()) {
            return;
        }
        int n = rows.size();
        VectorSchemaRoot root = output.root();
        VarCharVector suspects = (VarCharVector) root.getVector(SUSPECT_ID);
        VarCharVector models = (VarCharVector) root.getVector(MODEL_ID);
        IntVector ranks = (IntVector) root.getVector(RANK);
        IntVector probes = (IntVector) root.getVector(PROBES_USED);
        VarCharVector verdicts = (VarCharVector) root.getVector(VERDICT);
        VarCharVector named = (VarCharVector) root.getVector(VERDICT_MODEL_ID);
        Float8Vector p = (Float8Vector) root.getVector(P_VALUE);
        Float8Vector q = (Float8Vector) root.getVector(Q_VALUE);
        suspects.allocateNew(n);
        models.allocateNew(n);
        ranks.allocateNew(n);
        probes.allocateNew(n);
        verdicts.allocateNew(n);
        named.allocateNew(n);
        p.allocateNew(n);
        q.allocateNew(n);
        Map<Metric, Float8Vector> metricVectors = new EnumMap<>(Metric.class);
        for (Metric m : Metric.values()) {
            Float8Vector v = (Float8Vector) root.getVector(column(m));
            v.allocateNew(n);
            metricVectors.put(m, v);
        }
        for (int i = 0; i < n; i++) {
            Row row = rows.get(i);
            suspects.setSafe(i, row.suspectId().getBytes(StandardCharsets.UTF_8));
            models.setSafe(i, row.modelId().getBytes(StandardCharsets.UTF_8));
            ranks.set(i, row.rank());
            probes.set(i, row.probesUsed());
            for (Map.Entry<Metric, Float8Vector> e : metricVectors.entrySet()) {
                set(e.getValue(), i, row.values().get(e.getKey()));
            }
            set(verdicts, i, row.verdict());
            set(named, i, row.verdictModelId());
            set(p, i, row.pValue());
            set(q, i, row.qValue());
        }
        root.setRowCount(n);
        output.writeBatch();
        rows.clear();
    }

    private static void set(Float8Vector v, int i, Double value) {
        if (value == null) {
            v.setNull(i);
        } else {
            v.set(i, value);
        }
    }

    private static void set(VarCharVector v, int i, String value) {
        if (value == null) {
            v.setNull(i);
        } else {
            v.setSafe(i, value.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** CSV rows: a header line, then one line per row; doubles in Java's round-trip form, nulls empty. */
    private static final class CsvOutput implements AutoCloseable {
        private final BufferedWriter out;

        CsvOutput(BufferedWriter out) throws IOException {
            this.out = out;
            out.write(String.join(",", COLUMNS));
            out.write('\n');
        }

        void write(Row row) throws IOException {
            field(out, row.suspectId());
            out.write(',');
            field(out, row.modelId());
            out.write(',');
            out.write(Integer.toString(row.rank()));
            out.write(',');
            out.write(Integer.toString(row.probesUsed()));
            for (Metric metric : Metric.values()) {
                out.write(',');
                number(row.values().get(metric));
            }
            out.write(',');
            if (row.verdict() != null) {
                field(out, row.verdict());
            }
            out.write(',');
            if (row.verdictModelId() != null) {
                field(out, row.verdictModelId());
            }
            out.write(',');
            number(row.pValue());
            out.write(',');
            number(row.qValue());
            out.write('\n');
        }

        private void number(Double value) throws IOException {
            if (value != null) {
                out.write(Double.toString(value));
            }
        }

        /** Writes {@code s}, quoted per RFC 4180 when it holds a comma, quote or line break. */
        private static void field(java.io.Writer out, String s) throws IOException {
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
