package dev.imprint.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.exists;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.io.FileOps;
import dev.imprint.io.SuspectTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads a suspect table (README "File formats": {@code model_id} utf8, {@code probe} int,
 * {@code values} a list of D floats, one row per suspect probe) into {@link SuspectRow}s: from
 * Parquet through Spark, which splits files across tasks; from Arrow IPC files through
 * {@link SuspectTable}, one task per file, on executors that can read the path. Schemas (and, for
 * Arrow, D) are checked here on the driver; each row's values are checked where it is scored.
 */
final class SuspectInput {
    private final RescoreSettings.InputFormat format;
    private final String path;
    /** The Arrow files, in name order; empty for Parquet. */
    private final List<Path> arrowFiles;

    private SuspectInput(RescoreSettings.InputFormat format, String path, List<Path> arrowFiles) {
        this.format = format;
        this.path = path;
        this.arrowFiles = arrowFiles;
    }

    /**
     * The input at {@code path} in {@code format}; AUTO picks Arrow for a {@code *.arrow} file or a
     * directory holding {@code *.arrow} files, and Parquet otherwise.
     *
     * @throws ImprintException NOT_FOUND for an Arrow path that does not exist
     */
    static SuspectInput of(String path, RescoreSettings.InputFormat format) {
        RescoreSettings.InputFormat resolved = format;
        List<Path> arrow = List.of();
        if (format != RescoreSettings.InputFormat.PARQUET) {
            arrow = arrowFiles(path);
            if (format == RescoreSettings.InputFormat.AUTO) {
                resolved = arrow.isEmpty() ? RescoreSettings.InputFormat.PARQUET : RescoreSettings.InputFormat.ARROW;
            } else if (arrow.isEmpty()) {
                throw Files.exists(Path.of(path)) ? ImprintException.invalidArgument("%s holds no Arrow suspect table "
                        + "(*.arrow)", path) : ImprintException.notFound("suspect table %s does not exist", path);
            }
        }
        return new SuspectInput(resolved, path, arrow);
    }

    RescoreSettings.InputFormat format() {
        return format;
    }

    /** The probe set the Arrow files name in their metadata ({@code imprint.probe_set_id}), if they name one. */
    Optional<String> namedProbeSet() {
        try (BufferAllocator allocator = new RootAllocator()) {
            for (Path file : arrowFiles) {
                try (SuspectTable.Reader reader = SuspectTable.open(allocator, file, 1)) {
                    if (reader.probeSetId().isPresent()) {
                        return reader.probeSetId();
                    }
                }
            }
        }
        return Optional.empty();
    }

    /**
     * The rows, columns as {@link SuspectRow}'s properties.
     *
     * @throws ImprintException INVALID_ARGUMENT naming the file for a missing column, a column of the
     *     wrong type, an Arrow file whose rows do not have {@code set}'s D values or that names
     *     another probe set; NOT_FOUND when nothing is at the path
     */
    Dataset<SuspectRow> rows(SparkSession spark, ProbeSet set) {
        return format == RescoreSettings.InputFormat.ARROW ? arrowRows(spark, set) : parquetRows(spark);
    }

    private Dataset<SuspectRow> parquetRows(SparkSession spark) {
        Dataset<Row> table;
        try {
            table = spark.read().parquet(path);
        } catch (Exception e) {
            if (e instanceof AnalysisException && String.valueOf(e.getMessage()).contains("PATH_NOT_FOUND")) {
                throw ImprintException.notFound("suspect table %s does not exist", path);
            }
            throw ImprintException.invalidArgument("%s: cannot read it as Parquet: %s", path,
                    JobFailure.firstLine(e.getMessage()));
        }
        StructType schema = table.schema();
        require(schema, SuspectTable.MODEL_ID, "a string (utf8)", t -> t.equals(DataTypes.StringType));
        require(schema, "probe", "an integer (int32 or int64)", t -> t.equals(DataTypes.IntegerType)
                || t.equals(DataTypes.LongType) || t.equals(DataTypes.ShortType));
        require(schema, "values", "a list of floats (fixed_size_list<float32>[D] as pyarrow writes it)",
                t -> t instanceof ArrayType a && (a.elementType().equals(DataTypes.FloatType)
                        || a.elementType().equals(DataTypes.DoubleType)));
        return table.select(
                        col(SuspectTable.MODEL_ID).as("suspectId"),
                        col("_metadata.file_path").as("file"),
                        col("_metadata.row_index").as("row"),
                        col("probe").cast(DataTypes.LongType).as("probe"),
                        col("values").cast(DataTypes.createArrayType(DataTypes.FloatType)).as("values"),
                        exists(col("values"), v -> v.isNull()).as("nullValue"))
                .na().fill(false, new String[] {"nullValue"})
                .as(Encoders.bean(SuspectRow.class));
    }

    private void require(StructType schema, String column, String expected, java.util.function.Predicate<DataType> ok) {
        StructField field = Arrays.stream(schema.fields()).filter(f -> f.name().equals(column)).findFirst()
                .orElseThrow(() -> ImprintException.invalidArgument("%s: no column %s; a suspect table has columns "
                        + "model_id, probe and values (README \"File formats\")", path, column));
        if (!ok.test(field.dataType())) {
            throw ImprintException.invalidArgument("%s: column %s is %s; expected %s", path, column,
                    field.dataType().simpleString(), expected);
        }
    }

    private Dataset<SuspectRow> arrowRows(SparkSession spark, ProbeSet set) {
        try (BufferAllocator allocator = new RootAllocator()) {
            for (Path file : arrowFiles) {
                try (SuspectTable.Reader reader = SuspectTable.open(allocator, file, set.numProbes())) {
                    if (reader.dim() != set.dim()) {
                        throw ImprintException.invalidArgument("%s has rows of %d values but probe set %s has dim=%d",
                                file, reader.dim(), set.id(), set.dim());
                    }
                    Optional<String> named = reader.probeSetId();
                    if (named.isPresent() && !named.get().equals(set.id())) {
                        throw ImprintException.invalidArgument("%s is a suspect table of probe set %s, not of %s",
                                file, named.get(), set.id());
                    }
                }
            }
        }
        List<String> files = arrowFiles.stream().map(Path::toString).toList();
        int numProbes = set.numProbes();
        JavaRDD<SuspectRow> rows = JavaSparkContext.fromSparkContext(spark.sparkContext())
                .parallelize(files, Math.max(1, files.size()))
                .flatMap(file -> new ArrowRows(file, numProbes));
        return spark.createDataset(rows.rdd(), Encoders.bean(SuspectRow.class));
    }

    /** A path's Arrow files: itself if it names one, the {@code *.arrow} files of a directory, else none. */
    private static List<Path> arrowFiles(String path) {
        Path p;
        try {
            p = Path.of(path);
        } catch (RuntimeException e) {
            return List.of();
        }
        if (Files.isDirectory(p)) {
            try {
                return FileOps.SYSTEM.list(p).stream().filter(f -> f.getFileName().toString().endsWith(".arrow")).toList();
            } catch (IOException e) {
                throw new ImprintException(ImprintException.Code.UNAVAILABLE, "could not list " + p + ": " + e, e);
            }
        }
        return p.getFileName() != null && p.getFileName().toString().endsWith(".arrow") ? List.of(p) : List.of();
    }

    /**
     * The rows of one Arrow suspect table, streamed suspect by suspect through {@link SuspectTable}
     * (which checks nulls, contiguity and row counts, naming the file); closed at the end or when
     * the task ends.
     */
    private static final class ArrowRows implements Iterator<SuspectRow> {
        private final String file;
        private final BufferAllocator allocator;
        private final SuspectTable.Reader reader;
        private SuspectTable.SuspectRows current;
        private int next;
        private long row;
        private final int dim;
        private boolean closed;

        ArrowRows(String file, int numProbes) {
            this.file = file;
            this.allocator = new RootAllocator();
            this.reader = SuspectTable.open(allocator, Path.of(file), numProbes);
            this.dim = reader.dim();
            TaskContext task = TaskContext.get();
            if (task != null) {
                task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) context -> close());
            }
        }

        @Override
        public boolean hasNext() {
            while (!closed && (current == null || next == current.probeIndices().length)) {
                current = reader.next();
                next = 0;
                if (current == null) {
                    close();
                }
            }
            return !closed;
        }

        @Override
        public SuspectRow next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            int i = next++;
            float[] values = Arrays.copyOfRange(current.rows(), i * dim, (i + 1) * dim);
            return new SuspectRow(current.modelId(), file, row++, (long) current.probeIndices()[i], values);
        }

        private void close() {
            if (!closed) {
                closed = true;
                try {
                    reader.close();
                } finally {
                    allocator.close();
                }
            }
        }
    }
}
