package dev.imprint.spark;

import dev.imprint.cli.EnvDefaults;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Metric;
import dev.imprint.core.Verdict;
import dev.imprint.engine.BackendProvider;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The entry point {@code spark-submit --class dev.imprint.spark.RescoreJob} runs (README "Bulk
 * jobs"): {@code imprint rescore} over a cluster. Options reuse {@code rescore}'s names, and each
 * can also be set by {@code IMPRINT_<NAME>} in the driver's environment, as for the CLI.
 *
 * <p>Exit codes as the CLI's: 0 ok, 1 a failure reported in one line (bad input, unknown probe set,
 * no usable GPU with {@code --backend cuda}), 2 a command-line mistake.
 */
@Command(name = "imprint-spark-rescore", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Score every suspect of a suspect table (Parquet or Arrow) against every reference of a "
                + "probe set on Spark, and write the result table as Parquet: one row per (suspect, reference), "
                + "a column per metric, the suspect's verdict, each reference's p_value and the suspect's q_value "
                + "(Benjamini-Hochberg across the whole job).",
            "The output appears only once the whole job succeeded."})
public final class RescoreJob implements Callable<Integer> {
    @Option(names = "--suspects", paramLabel = "PATH", required = true,
            description = "Suspect table: a Parquet file or directory, or an Arrow IPC file (*.arrow) or a directory of "
                    + "them; columns model_id, probe, values.")
    String suspects;

    @Option(names = "--format", paramLabel = "auto|parquet|arrow", defaultValue = "auto",
            description = "Format of --suspects (default: ${DEFAULT-VALUE}: arrow for *.arrow files, else parquet).")
    RescoreSettings.InputFormat format;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "A data directory every executor can read (a shared file system); each executor loads the "
                    + "probe set's references from it once.")
    String dataDir;

    @Option(names = "--references", paramLabel = "PATH", split = ",",
            description = "Reference files (or directories of *.arrow files) to read on the driver and broadcast to "
                    + "the executors, instead of --data-dir.")
    List<String> references = List.of();

    @Option(names = "--probe-set", paramLabel = "ID",
            description = "Probe set to score against (default: the one the Arrow table or the references name).")
    String probeSetId;

    @Option(names = "--out", paramLabel = "DIR", required = true,
            description = "Result table to write, a Parquet directory (any file system Spark writes to).")
    String out;

    @Option(names = "--overwrite", description = "Replace --out if it exists, once the run succeeded.")
    boolean overwrite;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "64",
            description = "Suspects per engine call (default: ${DEFAULT-VALUE}; 1..256). 1 scores each suspect alone, "
                    + "exactly as a lone Score call to a server does.")
    int batch;

    @Option(names = "--partitions", paramLabel = "N", defaultValue = "0",
            description = "Partitions to score in (default: 0, spark.sql.shuffle.partitions).")
    int partitions;

    @Option(names = "--metrics", split = ",", paramLabel = "METRIC",
            description = "Metrics to compute, comma-separated: COSINE, KL_REF_SUSPECT, KL_SUSPECT_REF, JS, "
                    + "TOP1_AGREEMENT (default: all the probe set's kind supports but JS).")
    List<Metric> metrics = List.of();

    @Option(names = "--order-by", paramLabel = "METRIC",
            description = "Metric that ranks the references (default: the kind's, as rescore).")
    Metric orderBy;

    @Option(names = "--alpha", paramLabel = "ALPHA", defaultValue = "0.01",
            description = "Significance level of each verdict, in (0, 0.5] (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--no-verdict", description = "Only rank the references; give no verdict, p- or q-values.")
    boolean noVerdict;

    @Option(names = "--backend", paramLabel = "auto|cpu|cuda", defaultValue = "auto",
            description = "Executors' scoring backend (default: ${DEFAULT-VALUE}): auto uses the executor's GPU when it "
                    + "has a usable one and else the CPU, logging why; cuda fails the job without one.")
    String backend;

    @Option(names = "--cuda-memory-budget", paramLabel = "BYTES",
            description = "Device memory the references may hold on each executor's GPU (default: 90%% of the free "
                    + "memory, less scratch).")
    Long cudaMemoryBudget;

    @Option(names = "--cuda-bf16-cosine", description = "bf16 reference rows for EMBEDDING sets on CUDA (as serve).")
    boolean cudaBf16Cosine;

    @Option(names = "--cpu-bf16-cosine", description = "bf16 unit rows for EMBEDDING sets on the CPU backend (as serve).")
    boolean cpuBf16Cosine;

    @Option(names = "--cpu-threads", paramLabel = "N", defaultValue = "0",
            description = "CPU backend workers per executor (default: 0, one per core the executor's JVM sees).")
    int cpuThreads;

    private PrintWriter stdout;

    /** Runs the job with {@code args} and exits with its code. */
    public static void main(String[] args) {
        int code = execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        System.exit(code);
    }

    /** Parses {@code args}, runs the job on the active (or a new) Spark session and returns the exit code. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        RescoreJob job = new RescoreJob();
        job.stdout = out;
        CommandLine cli = new CommandLine(job).setCaseInsensitiveEnumValuesAllowed(true)
                .setDefaultValueProvider(new EnvDefaults(System.getenv())).setOut(out).setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parsed) -> {
            if (!(e instanceof ImprintException) && !JobFailure.isImprintFailure(e)) {
                throw e;
            }
            err.println("imprint-spark: " + JobFailure.oneLine(e));
            err.flush();
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() {
        RescoreSettings settings = settings();
        SparkSession spark = SparkSession.builder().appName("imprint rescore " + suspects).getOrCreate();
        BulkRescore.Summary s = BulkRescore.run(spark, settings);
        stdout.printf("scored %d suspects against %d references (%s, version %s) in %d partitions: %d result rows "
                + "written to %s in %.1f s%n", s.suspects(), s.references(), s.source(), s.version(), s.partitions(),
                s.rows(), s.out(), s.seconds());
        if (settings.verdict()) {
            stdout.printf("verdicts at alpha %s: %s%n", alpha, Arrays.stream(Verdict.values())
                    .map(v -> s.verdicts().getOrDefault(v, 0L) + " " + v).collect(Collectors.joining(", ")));
        }
        stdout.flush();
        return 0;
    }

    /** The settings the options give; ImprintException naming the option that is wrong. */
    RescoreSettings settings() {
        return new RescoreSettings(suspects, format, dataDir, references, probeSetId, out, overwrite, batch, partitions,
                metrics, orderBy, alpha, !noVerdict, new RescoreSettings.EngineSettings(
                        BackendProvider.Choice.parse(backend), cudaMemoryBudget, cudaBf16Cosine, cpuThreads, cpuBf16Cosine));
    }
}
