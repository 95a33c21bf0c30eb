package dev.imprint.cli;

import dev.imprint.core.ProbeSet;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
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
 * {@code imprint score}: ranks the references against each suspect of a suspect table (or against
 * a reference file taken as a suspect) and prints one readable table per suspect.
 */
@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Score suspects from a suspect table (or a reference file taken as a suspect) against the "
                + "references and print a ranked table per suspect.")
final class ScoreCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private TargetOptions target;

    @Mixin
    private ScoringOptions scoring;

    @Mixin
    private SuspectFileOptions input;

    @Option(names = "--suspect", paramLabel = "MODEL_ID", split = ",",
            description = "Score only these suspects of the table (default: all).")
    List<String> suspects = new ArrayList<>();

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "10",
            description = "Matches shown per suspect; 0 for all.")
    int topK;

    /** How results are printed. */
    enum Format { TEXT, JSON }

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text",
            description = "text: the verdict in a sentence, then a ranked table per suspect; json: one JSON object "
                    + "per suspect per line (JSON Lines), with the API's field names. Default: ${DEFAULT-VALUE}.")
    Format format;

    @Override
    public Integer call() {
        if (topK < 0) {
            throw new ParameterException(spec.commandLine(), "--top-k=" + topK + "; expected 0 (all) or more");
        }
        PrintWriter out = spec.commandLine().getOut();
        Set<String> only = new LinkedHashSet<>(suspects);
        Set<String> scored = new LinkedHashSet<>();
        try (BufferAllocator allocator = new RootAllocator();
             SuspectSource source = SuspectSource.open(allocator, input.file);
             Target t = target.open(false)) {
            ProbeSet set = input.resolve(t, source);
            t.scoreAll(set, source.suspects(set, only), scoring.toScoreOptions(topK), (suspect, result) -> {
                scored.add(suspect.requestId());
                if (format == Format.JSON) {
                    out.println(ScoreJson.line(suspect.requestId(), result));
                } else {
                    out.print(RankedTable.render(suspect.requestId(), "", result));
                    out.println();
                }
                out.flush();
            });
        }
        only.removeAll(scored);
        if (!only.isEmpty()) {
            throw new CliException("no suspect " + String.join(", ", only) + " in " + input.file);
        }
        if (scored.isEmpty()) {
            throw new CliException(input.file + " holds no suspects");
        }
        return ImprintCli.EXIT_OK;
    }
}
