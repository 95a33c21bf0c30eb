package dev.imprint.cli;

import dev.imprint.core.Probe;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ProbeTexts;
import dev.imprint.core.VocabularyMode;
import dev.imprint.io.ProbesJson;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code imprint probe-set create|export}: probe sets that carry their probes' texts. */
@Command(name = "probe-set", mixinStandardHelpOptions = true,
        description = "Create a probe set from a probes file (JSON Lines), or export a set's probes to one.",
        subcommands = {ProbeSetCommand.Create.class, ProbeSetCommand.Export.class})
final class ProbeSetCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing a subcommand: create or export");
    }

    /** {@code imprint probe-set create ID --probes FILE --dim D}. */
    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create probe set ID carrying the probes of FILE, one JSON object per line: "
                    + "{\"prompt\": \"...\"} or {\"messages\": [{\"role\": \"user\", \"content\": \"...\"}]}.",
                    "num_probes is the number of probes. An identical existing set is left as it is."})
    static final class Create implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Mixin
        private TargetOptions target;

        @Parameters(index = "0", paramLabel = "ID", description = "The probe set's id.")
        String id;

        @Option(names = "--probes", paramLabel = "FILE", required = true, description = "The probes (JSON Lines).")
        Path probes;

        @Option(names = "--dim", paramLabel = "D", required = true,
                description = "Values per row: the vocabulary size of a DISTRIBUTION set, the width of an EMBEDDING one.")
        int dim;

        @Option(names = "--kind", paramLabel = "KIND", defaultValue = "DISTRIBUTION",
                description = "DISTRIBUTION or EMBEDDING. Default: ${DEFAULT-VALUE}.")
        ProbeSetKind kind;

        @Option(names = "--smoothing-epsilon", paramLabel = "EPS", defaultValue = "0",
                description = "DISTRIBUTION only; 0 means the default 1e-6.")
        double smoothingEpsilon;

        @Option(names = "--description", paramLabel = "TEXT", defaultValue = "", description = "What the set is.")
        String description;

        @Option(names = "--temperature", paramLabel = "T", defaultValue = "1",
                description = "The sampling temperature captures use: 0 or 1. Default: ${DEFAULT-VALUE}.")
        double temperature;

        @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "1",
                description = "The most tokens a capture asks for per probe (1 for a next-token row). "
                        + "Default: ${DEFAULT-VALUE}.")
        int maxTokens;

        @Option(names = "--vocabulary", paramLabel = "MODE",
                description = "How distributions from different tokenizers share a support: EXACT, NORMALISED or "
                        + "FIRST_CHARACTER. Default: undeclared.")
        VocabularyMode vocabulary;

        @Override
        public Integer call() {
            List<Probe> list = ProbesJson.readLines(probes);
            ProbeSet set = ProbeSet.fromRequest(id, list.size(), dim, kind, smoothingEpsilon, description)
                    .withTexts(new ProbeTexts(list, temperature, maxTokens, vocabulary));
            PrintWriter out = spec.commandLine().getOut();
            try (Target t = target.open(true)) {
                ProbeSet created = t.createProbeSet(set);
                out.printf("probe set %s: %s, %d probes x %d, with their texts, at %s%n", created.id(),
                        created.kind(), created.numProbes(), created.dim(), t.describe());
            }
            out.flush();
            return ImprintCli.EXIT_OK;
        }
    }

    /** {@code imprint probe-set export ID --out FILE}. */
    @Command(name = "export", mixinStandardHelpOptions = true,
            description = "Write probe set ID's probes to FILE as JSON Lines, one probe per line in probe order; "
                    + "FILE is replaced only once complete.")
    static final class Export implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Mixin
        private TargetOptions target;

        @Parameters(index = "0", paramLabel = "ID", description = "The probe set's id.")
        String id;

        @Option(names = "--out", paramLabel = "FILE", required = true, description = "Where to write the probes.")
        Path out;

        @Override
        public Integer call() throws IOException {
            ProbeSet set;
            try (Target t = target.open(false)) {
                set = t.getProbeSetWithTexts(id);
            }
            if (set.texts() == null) {
                throw new CliException("probe set " + id + " does not carry its probes' texts; it was created "
                        + "without them");
            }
            ProbesJson.writeLines(out, set.texts().probes());
            PrintWriter w = spec.commandLine().getOut();
            w.printf("wrote %d probes of probe set %s to %s (temperature %s, max tokens %d%s)%n",
                    set.texts().probes().size(), id, out, set.texts().temperature(), set.texts().maxTokens(),
                    set.texts().vocabulary() == null ? "" : ", vocabulary " + set.texts().vocabulary());
            w.flush();
            return ImprintCli.EXIT_OK;
        }
    }
}
