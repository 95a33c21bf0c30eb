package dev.imprint.cli;

import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Verdict;
import dev.imprint.io.ResultTable;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code imprint rescore}: scores every suspect of a suspect table against every reference and
 * writes a result table (Arrow IPC, and CSV on request) with one row per (suspect, reference), a
 * column per metric and the suspect's verdict, p-value and q-value ({@link ResultTable}). Rows are
 * streamed to a draft, one suspect batch in memory at a time; the outputs are replaced only once
 * every suspect is scored. A progress bar on stderr shows suspects done, rate and ETA for runs that
 * take more than a moment (or at once when stderr is a terminal).
 */
@Command(name = "rescore", mixinStandardHelpOptions = true,
        description = {"Score every suspect of a suspect table against every reference and write a result table: "
                + "one row per (suspect, reference), a column per metric, the suspect's verdict, each "
                + "reference's p_value and the suspect's q_value (Benjamini-Hochberg across the table).",
            "Existing output files are replaced only when the whole run succeeds.",
            "Uses --data-dir in-process, or a server with --server."})
final class RescoreCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private TargetOptions target;

    @Mixin
    private ScoringOptions scoring;

    @Mixin
    private SuspectFileOptions input;

    @Option(names = "--out", paramLabel = "FILE", required = true,
            description = "Result table to write, Arrow IPC file format.")
    Path out;

    @Option(names = "--csv", paramLabel = "FILE", description = "Also write the result table as CSV here.")
    Path csv;

    @Option(names = "--no-progress", description = "Never draw the progress bar.")
    boolean noProgress;

    @Override
    public Integer call() throws IOException {
        PrintWriter stdout = spec.commandLine().getOut();
        int[] rows = {0};
        Map<Verdict, Integer> verdicts = new EnumMap<>(Verdict.class);
        int suspects;
        long started = System.nanoTime();
        ScoreOptions options = scoring.toScoreOptions(0);
        try (BufferAllocator allocator = new RootAllocator();
             SuspectSource source = SuspectSource.open(allocator, input.file);
             Target t = target.open(false)) {
            ProbeSet set = input.resolve(t, source);
            suspects = source.count(set, Set.of());
            try (ResultTable.Writer table = ResultTable.create(allocator, out, csv, set.id());
                 ProgressBar progress = noProgress ? ProgressBar.disabled(spec.commandLine().getErr())
                         : new ProgressBar(spec.commandLine().getErr(), "suspects", suspects,
                                 ProgressBar.interactive(), System::nanoTime)) {
                t.scoreAll(set, source.suspects(set, Set.of()), options, (suspect, result) -> {
                    try {
                        table.write(suspect.requestId(), result);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    rows[0] += result.matches().size();
                    if (result.attribution() != null) {
                        verdicts.merge(result.attribution().verdict(), 1, Integer::sum);
                    }
                    progress.advance(1);
                });
                table.commit();
            }
        }
        stdout.printf("scored %d suspects: %d result rows written to %s%s in %.1f s%n", suspects, rows[0], out,
                csv == null ? "" : " and " + csv, (System.nanoTime() - started) / 1e9);
        if (options.attribution()) {
            stdout.printf("verdicts at alpha %s: %s%n", options.alpha(), Arrays.stream(Verdict.values())
                    .map(v -> verdicts.getOrDefault(v, 0) + " " + v).collect(Collectors.joining(", ")));
        }
        stdout.flush();
        return ImprintCli.EXIT_OK;
    }
}
