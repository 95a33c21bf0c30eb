package dev.imprint.cli;

import dev.imprint.client.ImprintClient.SuspectInput;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Verdict;
import dev.imprint.report.EvidenceReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code imprint report}: scores the suspects of a file with attribution against every reference
 * and writes the evidence report ({@link EvidenceReport}), one self-contained HTML page. The page
 * is written only once every suspect is scored, and atomically, so a failed run leaves an earlier
 * report in place.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Score suspects with attribution and write the evidence report: one self-contained HTML "
                + "file with each verdict, the ranked candidates and their p-values, a suspects x references heatmap, "
                + "the signed-rank null against the observed statistic and the per-probe evidence.",
            "Uses --data-dir in-process, or a server with --server."})
final class ReportCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private TargetOptions target;

    @Mixin
    private ScoringOptions scoring;

    @Mixin
    private SuspectFileOptions input;

    @Option(names = "--out", paramLabel = "FILE.html", required = true, description = "The report to write.")
    Path out;

    @Option(names = "--max-suspects", paramLabel = "N", defaultValue = "100",
            description = "Report on the file's first N suspects only, so the page stays readable; 0 for all.")
    int maxSuspects;

    @Option(names = "--candidates", paramLabel = "N", defaultValue = "10",
            description = "Ranked candidates listed per suspect.")
    int candidates;

    @Option(names = "--heatmap-metric", paramLabel = "METRIC",
            description = "Metric of the suspects x references heatmap, computed as well if --metrics leaves it out "
                    + "(default: the ranking metric).")
    Metric heatmapMetric;

    @Override
    public Integer call() throws IOException {
        ScoreOptions scoreOptions = scoring.toScoreOptions(0);
        check(scoreOptions.attribution(), "--no-verdict: the report is about verdicts; leave it out");
        check(maxSuspects >= 0, "--max-suspects=" + maxSuspects + "; expected 0 (all) or more");
        check(candidates >= 1, "--candidates=" + candidates + "; expected at least 1");
        List<EvidenceReport.Entry> entries = new ArrayList<>();
        ProbeSet set;
        int total;
        try (BufferAllocator allocator = new RootAllocator();
             SuspectSource source = SuspectSource.open(allocator, input.file);
             Target t = target.open(false)) {
            set = input.resolve(t, source);
            total = source.count(set, Set.of());
            if (total == 0) {
                throw new CliException(input.file + " holds no suspects");
            }
            // Every reference is kept (top_k 0), so the heatmap has no holes.
            ScoreOptions options = withHeatmapMetric(scoreOptions, set);
            Iterable<SuspectInput> suspects = first(source.suspects(set, Set.of()),
                    maxSuspects == 0 ? total : maxSuspects);
            t.scoreAll(set, suspects, options, (suspect, result) -> {
                if (result.attribution() == null) {
                    throw new CliException(t.describe() + " returned no verdict for suspect " + suspect.requestId()
                            + "; it does not support attribution, so report with --data-dir or a newer server");
                }
                entries.add(new EvidenceReport.Entry(suspect.requestId(), result));
            });
        }
        EvidenceReport.write(out, set, entries, new EvidenceReport.Settings(heatmapMetric, candidates, Instant.now(),
                total));
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.printf("report on %d of %d suspects written to %s: %s%n", entries.size(), total, out,
                tally(entries));
        stdout.flush();
        return ImprintCli.EXIT_OK;
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    /** The options computing the heatmap's metric too, when one was named. */
    private ScoreOptions withHeatmapMetric(ScoreOptions options, ProbeSet set) {
        if (heatmapMetric == null) {
            return options;
        }
        Set<Metric> metrics = EnumSet.copyOf(options.metrics().isEmpty() ? Metric.defaultsFor(set.kind())
                : options.metrics());
        metrics.add(heatmapMetric);
        return options.withMetrics(metrics);
    }

    /** "2 DISTILLED_FROM, 1 INDEPENDENT": how many suspects got each verdict. */
    private static String tally(List<EvidenceReport.Entry> entries) {
        Map<Verdict, Integer> counts = new EnumMap<>(Verdict.class);
        for (EvidenceReport.Entry e : entries) {
            counts.merge(e.result().attribution().verdict(), 1, Integer::sum);
        }
        List<String> parts = new ArrayList<>();
        counts.forEach((v, n) -> parts.add(n + " " + v));
        return String.join(", ", parts);
    }

    /** The first {@code limit} elements of {@code all}, iterated lazily. */
    private static <T> Iterable<T> first(Iterable<T> all, int limit) {
        return () -> new Iterator<>() {
            private final Iterator<T> it = all.iterator();
            private int taken;

            @Override
            public boolean hasNext() {
                return taken < limit && it.hasNext();
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                taken++;
                return it.next();
            }
        };
    }
}
