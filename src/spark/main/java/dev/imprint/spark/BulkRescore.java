package dev.imprint.spark;

import static org.apache.spark.sql.functions.col;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Verdict;
import dev.imprint.io.ResultTable;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.logging.Logger;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

/**
 * The Spark rescore job: what {@code imprint rescore} does for one process, over a cluster.
 *
 * <ol>
 *   <li>On the driver: resolve the probe set and where executors get its references
 *       ({@link ReferenceSource}: a shared data directory, or reference files broadcast once), check
 *       the input's schema and the options, and refuse an existing output unless asked to replace it.
 *   <li>Shuffle the suspect rows into {@code --partitions} partitions by suspect id and sort each by
 *       suspect id, file and row; score each partition in batches of {@code --batch} suspects through
 *       the executor's engine ({@link ScorePartition}), keeping the scored rows (memory, then disk).
 *   <li>Collect each suspect's p-value ({@link ResultTable#suspectPValue}) to the driver, partition
 *       by partition in order, and compute every q-value at once with {@link ResultTable#qValues},
 *       the function {@code rescore} uses: Benjamini–Hochberg across the whole job, not per partition.
 *       A double per suspect travels each way (8 MB per million suspects).
 *   <li>Write the result table as Parquet through Spark's committer to a hidden directory beside
 *       {@code --out}, renamed to {@code --out} only once every task has committed.
 * </ol>
 *
 * A failed task is retried by Spark ({@code spark.task.maxFailures}) and scores the same batches
 * again, so the output is the same as without the failure; a job that fails leaves no output.
 */
public final class BulkRescore {
    private static final Logger LOG = Logger.getLogger(BulkRescore.class.getName());

    private BulkRescore() {}

    /**
     * What a run did.
     *
     * @param suspects   suspects scored
     * @param rows       result rows written (one per suspect and reference)
     * @param references references each suspect was scored against
     * @param verdicts   suspects per verdict; empty without attribution
     */
    public record Summary(String probeSetId, String version, String source, int references, int partitions,
                          long suspects, long rows, Map<Verdict, Long> verdicts, String out, double seconds) {
    }

    /**
     * Runs the job on {@code spark}.
     *
     * @throws ImprintException for bad settings or input, naming the option or the file (for input
     *     found bad on an executor, once Spark has given up on the task); nothing is written then
     */
    public static Summary run(SparkSession spark, RescoreSettings settings) {
        long started = System.nanoTime();
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        SuspectInput input = SuspectInput.of(settings.suspects(), settings.format());
        String probeSetId = settings.probeSetId();
        if ((probeSetId == null || probeSetId.isBlank()) && input.format() == RescoreSettings.InputFormat.ARROW) {
            probeSetId = input.namedProbeSet().orElse(null);
        }
        if ((probeSetId == null || probeSetId.isBlank()) && settings.dataDir() != null) {
            throw ImprintException.invalidArgument("%s names no probe set; pass --probe-set", settings.suspects());
        }
        ReferenceSource source = settings.dataDir() != null
                ? ReferenceSource.sharedDirectory(settings.dataDir(), probeSetId)
                : ReferenceSource.broadcast(context, settings.references(), probeSetId);
        ProbeSet set = source.probeSet();
        ScorePartition.QuerySpec query = new ScorePartition.QuerySpec(settings.metrics(), settings.orderBy(),
                settings.verdict(), settings.alpha());
        query.resolve(set);
        Output output = Output.prepare(spark, settings.out(), settings.overwrite());
        int partitions = settings.partitions() > 0 ? settings.partitions()
                : Integer.parseInt(spark.conf().get("spark.sql.shuffle.partitions"));
        ExecutorEngines.Spec engine = new ExecutorEngines.Spec(source, settings.engine());
        LOG.info(String.format("scoring %s (%s) against %d references from %s, version %s, in %d partitions of "
                        + "batches of %d", settings.suspects(), input.format(), source.references(), source.describe(),
                source.version(), partitions, settings.batch()));

        Dataset<Row> scored = plan(input.rows(spark, set), partitions)
                .mapPartitions(new ScorePartition(engine, query, settings.batch()),
                        Encoders.row(ResultRows.scoringSchema(set.id())))
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            List<PartitionSummary> summaries = new ArrayList<>(scored.javaRDD()
                    .mapPartitionsWithIndex(PartitionSummary::of, false).collect());
            summaries.sort(Comparator.comparingInt(PartitionSummary::partition));
            double[][] q = qValuesByPartition(summaries);
            Broadcast<double[][]> qValues = context.broadcast(q);
            long[] hashes = summaries.stream().mapToLong(PartitionSummary::idHash).toArray();
            JavaRDD<Row> rows = scored.javaRDD().mapPartitionsWithIndex(
                    (partition, it) -> new WithQValues(it, partition, qValues.value()[partition], hashes[partition]),
                    false);
            spark.createDataFrame(rows, ResultRows.schema(set.id())).write().parquet(output.stagingPath());
            output.commit();
            qValues.destroy();
            long suspects = summaries.stream().mapToLong(s -> s.p().length).sum();
            long written = summaries.stream().mapToLong(PartitionSummary::rows).sum();
            Map<Verdict, Long> verdicts = new EnumMap<>(Verdict.class);
            summaries.forEach(s -> s.verdicts().forEach((v, n) -> verdicts.merge(v, n, Long::sum)));
            return new Summary(set.id(), source.version(), source.describe(), source.references(), partitions,
                    suspects, written, verdicts, settings.out(), (System.nanoTime() - started) / 1e9);
        } catch (Exception e) {
            // Spark's own failures (SparkException) are checked exceptions Scala throws undeclared.
            output.abort();
            throw JobFailure.translate(e);
        } finally {
            scored.unpersist(false);
        }
    }

    /**
     * The suspect rows as they are scored: {@code partitions} partitions by a hash of the suspect id,
     * each sorted by suspect id, then file and row. Deterministic for a given input and count, so a
     * retried task sees the same suspects in the same order and scores the same batches.
     */
    static Dataset<SuspectRow> plan(Dataset<SuspectRow> rows, int partitions) {
        return rows.repartition(partitions, col("suspectId")).sortWithinPartitions("suspectId", "file", "row");
    }

    /** The suspect ids of each partition of {@link #plan}, in the order they are scored. */
    static List<List<String>> plannedSuspects(Dataset<SuspectRow> rows, int partitions) {
        List<List<String>> out = new ArrayList<>(plan(rows, partitions).javaRDD()
                .mapPartitions(it -> {
                    List<String> ids = new ArrayList<>();
                    while (it.hasNext()) {
                        String id = it.next().getSuspectId();
                        if (ids.isEmpty() || !ids.get(ids.size() - 1).equals(id)) {
                            ids.add(id);
                        }
                    }
                    return List.<List<String>>of(ids).iterator();
                }).collect());
        return out;
    }

    /** Every suspect's q-value, partition by partition, from one BH adjustment over the whole job. */
    static double[][] qValuesByPartition(List<PartitionSummary> summaries) {
        double[] all = summaries.stream().flatMapToDouble(s -> Arrays.stream(s.p())).toArray();
        double[] q = ResultTable.qValues(all);
        double[][] out = new double[summaries.size()][];
        int from = 0;
        for (int i = 0; i < out.length; i++) {
            out[i] = Arrays.copyOfRange(q, from, from + summaries.get(i).p().length);
            from += out[i].length;
        }
        return out;
    }

    /** Suspect ids, in order, folded into one number that pass two checks it sees again. */
    static long fold(long hash, String suspectId) {
        return 31 * hash + suspectId.hashCode();
    }

    /**
     * One partition's suspects after scoring: each one's p-value in partition order (a suspect
     * starts at its rank-1 row), the fold of their ids, the rows, and the verdict counts.
     */
    record PartitionSummary(int partition, double[] p, long idHash, long rows, Map<Verdict, Long> verdicts)
            implements Serializable {
        private static final long serialVersionUID = 1L;

        static Iterator<PartitionSummary> of(int partition, Iterator<Row> rows) {
            double[] p = new double[64];
            int suspects = 0;
            long hash = 0;
            long count = 0;
            Map<Verdict, Long> verdicts = new EnumMap<>(Verdict.class);
            while (rows.hasNext()) {
                Row row = rows.next();
                count++;
                if (row.getInt(ResultRows.rankIndex()) != 1) {
                    continue;
                }
                if (suspects == p.length) {
                    p = Arrays.copyOf(p, 2 * suspects);
                }
                p[suspects++] = row.getDouble(ResultRows.suspectPIndex());
                hash = fold(hash, row.getString(0));
                if (!row.isNullAt(ResultRows.verdictIndex())) {
                    verdicts.merge(Verdict.valueOf(row.getString(ResultRows.verdictIndex())), 1L, Long::sum);
                }
            }
            return List.of(new PartitionSummary(partition, Arrays.copyOf(p, suspects), hash, count, verdicts))
                    .iterator();
        }
    }

    /**
     * A partition's scored rows as written, each with its suspect's q-value. The partition must
     * hold the suspects pass one saw, in the same order (it is the same persisted, deterministic
     * data); it checks so at the end and fails the task if not, rather than misplace a q-value.
     */
    private static final class WithQValues implements Iterator<Row> {
        private final Iterator<Row> rows;
        private final int partition;
        private final double[] q;
        private final long expectedHash;
        private int suspect = -1;
        private long hash;

        WithQValues(Iterator<Row> rows, int partition, double[] q, long expectedHash) {
            this.rows = rows;
            this.partition = partition;
            this.q = q;
            this.expectedHash = expectedHash;
        }

        @Override
        public boolean hasNext() {
            if (rows.hasNext()) {
                return true;
            }
            if (suspect + 1 != q.length || hash != expectedHash) {
                throw new IllegalStateException("partition " + partition + " holds other suspects than when its "
                        + "p-values were collected (" + (suspect + 1) + " now, " + q.length + " then)");
            }
            return false;
        }

        @Override
        public Row next() {
            if (!rows.hasNext()) {
                throw new NoSuchElementException();
            }
            Row row = rows.next();
            if (row.getInt(ResultRows.rankIndex()) == 1) {
                suspect++;
                hash = fold(hash, row.getString(0));
                if (suspect >= q.length) {
                    throw new IllegalStateException("partition " + partition + " holds more suspects than the "
                            + q.length + " whose p-values were collected");
                }
            }
            return ResultRows.withQValue(row, q[suspect]);
        }
    }

    /**
     * Where the result table goes: a hidden directory beside {@code --out} that Spark's committer
     * fills, renamed over {@code --out} only when the job succeeded.
     */
    private record Output(FileSystem fs, Path out, Path staging, boolean overwrite) {
        static Output prepare(SparkSession spark, String out, boolean overwrite) {
            try {
                Path target = new Path(out);
                FileSystem fs = target.getFileSystem(spark.sparkContext().hadoopConfiguration());
                target = fs.makeQualified(target);
                if (fs.exists(target) && !overwrite) {
                    throw ImprintException.alreadyExists("%s already exists; pass --overwrite to replace it once the "
                            + "run succeeds", out);
                }
                Path staging = new Path(target.getParent(), "." + target.getName() + ".partial-"
                        + spark.sparkContext().applicationId());
                fs.delete(staging, true);
                return new Output(fs, target, staging, overwrite);
            } catch (IOException e) {
                throw new ImprintException(ImprintException.Code.UNAVAILABLE, "cannot prepare " + out + ": " + e, e);
            }
        }

        String stagingPath() {
            return staging.toString();
        }

        void commit() {
            try {
                if (fs.exists(out)) {
                    fs.delete(out, true);
                }
                if (!fs.rename(staging, out)) {
                    throw new ImprintException(ImprintException.Code.UNAVAILABLE, "could not rename " + staging
                            + " to " + out);
                }
            } catch (IOException e) {
                throw new ImprintException(ImprintException.Code.UNAVAILABLE, "could not move the results to " + out
                        + ": " + e, e);
            }
        }

        void abort() {
            try {
                fs.delete(staging, true);
            } catch (IOException e) {
                LOG.warning("could not remove " + staging + ": " + e);
            }
        }
    }
}
