package dev.imprint.spark;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.io.ResultTable;
import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;

/**
 * Scores one partition of suspect rows, sorted by suspect id and then by file and row: consecutive
 * rows of one id form a suspect (its probes in file order), every {@code batch} suspects go to the
 * executor's engine ({@link ExecutorEngines}) as one {@link ImprintEngine#scoreAll} call, and each
 * result becomes its {@link ResultTable#rows} plus the suspect's p-value. The engine, the query and
 * the attribution are Imprint's own; nothing here computes a score or a statistic.
 *
 * <p>Batches are a function of the partition's sorted content alone, so a retried task, or a
 * partition recomputed after a lost executor, scores the same batches and gives the same bits.
 * Output is produced lazily, one batch in memory at a time.
 */
final class ScorePartition implements MapPartitionsFunction<SuspectRow, Row> {
    private static final long serialVersionUID = 1L;

    /** A test's way to fail a task on purpose; nothing else sets it. */
    interface FaultHook extends Serializable {
        /** Called as a task starts scoring partition {@code partition}, attempt {@code attempt} (0 first). */
        void beforePartition(int partition, int attempt);
    }

    /** Set only by tests in local mode, where tasks run in the test's JVM. */
    static volatile FaultHook faults = (partition, attempt) -> { };

    private final ExecutorEngines.Spec engine;
    private final QuerySpec query;
    private final int batch;

    /** The request options every suspect is scored with, resolved against the probe set on the executor. */
    record QuerySpec(List<Metric> metrics, Metric orderBy, boolean verdict, double alpha) implements Serializable {
        private static final long serialVersionUID = 1L;

        /** As {@code imprint rescore} resolves its options: every reference, no per-probe values. */
        ScoreQuery resolve(ProbeSet set) {
            EnumSet<Metric> wanted = metrics.isEmpty() ? EnumSet.noneOf(Metric.class) : EnumSet.copyOf(metrics);
            ScoreQuery resolved = ScoreQuery.resolve(set, wanted, orderBy, 0, List.of(), Map.of(), false);
            return verdict ? resolved.withAttribution(alpha) : resolved;
        }
    }

    ScorePartition(ExecutorEngines.Spec engine, QuerySpec query, int batch) {
        this.engine = engine;
        this.query = query;
        this.batch = batch;
    }

    @Override
    public Iterator<Row> call(Iterator<SuspectRow> rows) {
        TaskContext task = TaskContext.get();
        if (task != null) {
            faults.beforePartition(task.partitionId(), task.attemptNumber());
        }
        ImprintEngine scorer = ExecutorEngines.engine(engine);
        ProbeSet set = scorer.getProbeSet(engine.source().probeSetId());
        return new Scored(scorer, set, query.resolve(set), rows);
    }

    /** The output rows, one batch of suspects scored at a time. */
    private final class Scored implements Iterator<Row> {
        private final ImprintEngine scorer;
        private final ProbeSet set;
        private final ScoreQuery scoreQuery;
        private final Iterator<SuspectRow> input;
        private final ArrayDeque<Row> ready = new ArrayDeque<>();
        private SuspectRow lookahead;

        Scored(ImprintEngine scorer, ProbeSet set, ScoreQuery scoreQuery, Iterator<SuspectRow> input) {
            this.scorer = scorer;
            this.set = set;
            this.scoreQuery = scoreQuery;
            this.input = input;
            this.lookahead = input.hasNext() ? input.next() : null;
        }

        @Override
        public boolean hasNext() {
            while (ready.isEmpty() && lookahead != null) {
                scoreNextBatch();
            }
            return !ready.isEmpty();
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return ready.poll();
        }

        private void scoreNextBatch() {
            List<String> ids = new ArrayList<>(batch);
            List<Suspect> suspects = new ArrayList<>(batch);
            while (suspects.size() < batch && lookahead != null) {
                readSuspect(ids, suspects);
            }
            List<ScoreResult> results = scorer.scoreAll(set, suspects, scoreQuery);
            for (int i = 0; i < results.size(); i++) {
                ScoreResult result = results.get(i);
                double p = ResultTable.suspectPValue(result);
                for (ResultTable.Row row : ResultTable.rows(ids.get(i), result)) {
                    ready.add(ResultRows.scored(row, p));
                }
            }
        }

        /** Reads the rows of the suspect {@link #lookahead} starts, checking each. */
        private void readSuspect(List<String> ids, List<Suspect> suspects) {
            String id = checked(lookahead).getSuspectId();
            String file = lookahead.getFile();
            int dim = set.dim();
            int[] probes = new int[Math.min(16, set.numProbes())];
            float[] values = new float[probes.length * dim];
            int count = 0;
            while (lookahead != null && id.equals(checked(lookahead).getSuspectId())) {
                if (count == set.numProbes()) {
                    throw ImprintException.invalidArgument("%s: suspect %s has more than %d rows (the probe set's "
                            + "num_probes)", file, id, set.numProbes());
                }
                if (count == probes.length) {
                    probes = Arrays.copyOf(probes, Math.min(set.numProbes(), 2 * count));
                    values = Arrays.copyOf(values, probes.length * dim);
                }
                probes[count] = (int) (long) lookahead.getProbe();
                System.arraycopy(lookahead.getValues(), 0, values, count * dim, dim);
                count++;
                lookahead = input.hasNext() ? input.next() : null;
            }
            int[] probeIndices = Arrays.copyOf(probes, count);
            try {
                suspects.add(Suspect.of(set, count, dim, Arrays.copyOf(values, count * dim), probeIndices));
            } catch (ImprintException e) {
                throw new ImprintException(e.code(), file + ": suspect " + id + ": " + e.getMessage(), e);
            }
            ids.add(id);
        }

        /** {@code row}, once its id, probe and values are known to be there and of the probe set's width. */
        private SuspectRow checked(SuspectRow row) {
            String where = row.getFile() + ": row " + row.getRow();
            if (row.getSuspectId() == null) {
                throw ImprintException.invalidArgument("%s: model_id is null", where);
            }
            if (row.getProbe() == null) {
                throw ImprintException.invalidArgument("%s: probe is null", where);
            }
            long probe = row.getProbe();
            if (probe < 0 || probe > Integer.MAX_VALUE) {
                throw ImprintException.invalidArgument("%s: probe=%d is not a probe index", where, probe);
            }
            if (row.getValues() == null) {
                throw ImprintException.invalidArgument("%s: values is null", where);
            }
            if (row.getValues().length != set.dim()) {
                throw ImprintException.invalidArgument("%s: values has %d entries but probe set %s has dim=%d", where,
                        row.getValues().length, set.id(), set.dim());
            }
            if (row.getNullValue()) {
                throw ImprintException.invalidArgument("%s: values holds a null entry", where);
            }
            return row;
        }
    }
}
