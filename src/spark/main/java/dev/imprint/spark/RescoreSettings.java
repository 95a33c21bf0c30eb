package dev.imprint.spark;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Metric;
import dev.imprint.core.ScoreQuery;
import dev.imprint.engine.BackendProvider;
import java.util.List;

/**
 * What one run of the Spark rescore job does; {@link RescoreJob} fills it from the command line.
 *
 * @param suspects       the suspect table: a Parquet file or directory of them, or an Arrow IPC file or
 *                       a directory of {@code *.arrow} files (README "File formats", suspect table)
 * @param format         {@link InputFormat#AUTO} tells them apart by name
 * @param dataDir        a data directory every executor can read (a shared file system), or null
 * @param references     reference files, or directories of them, to read on the driver and broadcast;
 *                       empty when {@code dataDir} is given
 * @param probeSetId     the probe set to score against; null for the one the input names
 * @param out            the result table to write, a Parquet directory (any Hadoop file system)
 * @param overwrite      whether an existing {@code out} may be replaced (only once the run succeeded)
 * @param batch          suspects per engine call
 * @param partitions     scoring partitions; 0 for {@code spark.sql.shuffle.partitions}
 * @param metrics        metrics to compute; empty for the probe set kind's defaults
 * @param orderBy        the ranking metric; null for the kind's default
 * @param alpha          each verdict's level; ignored without {@code verdict}
 * @param verdict        whether to attribute (verdict, p- and q-values)
 * @param engine         the backend the executors score on
 */
public record RescoreSettings(String suspects, InputFormat format, String dataDir, List<String> references,
                              String probeSetId, String out, boolean overwrite, int batch, int partitions,
                              List<Metric> metrics, Metric orderBy, double alpha, boolean verdict,
                              EngineSettings engine) {
    /** The format of the suspect table. */
    public enum InputFormat {
        /** Arrow when the path ends in {@code .arrow} or is a directory holding {@code *.arrow} files, else Parquet. */
        AUTO,
        PARQUET,
        ARROW
    }

    /**
     * The backend executors open, as {@code imprint serve} takes it.
     *
     * @param cudaMemoryBudget bytes references may hold on a CUDA device; null for the default
     * @param cpuThreads       the CPU backend's workers; 0 for one per core of the executor's host
     * @param cpuBf16Cosine    the CPU backend holds EMBEDDING sets' unit rows as bf16
     */
    public record EngineSettings(BackendProvider.Choice backend, Long cudaMemoryBudget, boolean cudaBf16Cosine,
                                 int cpuThreads, boolean cpuBf16Cosine) implements java.io.Serializable {
        /** The CPU backend with one worker per core. */
        public static EngineSettings cpu() {
            return new EngineSettings(BackendProvider.Choice.CPU, null, false, 0, false);
        }
    }

    /**
     * @throws ImprintException INVALID_ARGUMENT naming the setting that is out of range or missing
     */
    public RescoreSettings {
        references = references == null ? List.of() : List.copyOf(references);
        metrics = metrics == null ? List.of() : List.copyOf(metrics);
        format = format == null ? InputFormat.AUTO : format;
        if (suspects == null || suspects.isBlank()) {
            throw ImprintException.invalidArgument("--suspects is required");
        }
        if (out == null || out.isBlank()) {
            throw ImprintException.invalidArgument("--out is required");
        }
        if ((dataDir == null) == references.isEmpty()) {
            throw ImprintException.invalidArgument("give either --data-dir (a shared data directory) or --references "
                    + "(reference files to broadcast), not %s", dataDir == null ? "neither" : "both");
        }
        if (batch < 1 || batch > dev.imprint.engine.ImprintEngine.MAX_BATCH) {
            throw ImprintException.invalidArgument("--batch=%d; expected 1..%d suspects per engine call", batch,
                    dev.imprint.engine.ImprintEngine.MAX_BATCH);
        }
        if (partitions < 0) {
            throw ImprintException.invalidArgument("--partitions=%d; expected 0 (spark.sql.shuffle.partitions) or more",
                    partitions);
        }
        if (verdict && !(alpha > 0 && alpha <= ScoreQuery.MAX_ALPHA)) {
            throw ImprintException.invalidArgument("--alpha=%s; expected a significance level in (0, %s]", alpha,
                    ScoreQuery.MAX_ALPHA);
        }
        if (engine == null) {
            throw ImprintException.invalidArgument("no backend settings");
        }
    }
}
