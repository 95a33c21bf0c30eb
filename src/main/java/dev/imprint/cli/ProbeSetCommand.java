package dev.imprint.cli;

import dev.imprint.core.Probe;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ProbeTexts;
import dev.imprint.core.Supports;
import dev.imprint.core.VocabularyMode;
import dev.imprint.io.ProbesJson;
import dev.imprint.io.SupportsJson;
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

/** {@code imprint probe-set create|export}: probe sets that carry their probes' texts or supports. */
@Command(name = "probe-set", mixinStandardHelpOptions = true,
        description = "Create a probe set from a probes file (JSON Lines) and/or a supports.json, or export a set's "
                + "probes to a probes file.",
        subcommands = {ProbeSetCommand.Create.class, ProbeSetCommand.Export.class})
final class ProbeSetCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing a subcommand: create or export");
    }

    /** {@code imprint probe-set create ID (--probes FILE --dim D | --supports FILE [--probes FILE])}. */
    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create probe set ID carrying the probes of FILE, one JSON object per line: "
                    + "{\"prompt\": \"...\"} or {\"messages\": [{\"role\": \"user\", \"content\": \"...\"}]}, "
                    + "and/or the per-probe supports of a supports.json (as topk build writes it), so that the set "
                    + "takes top-k answers (put and score of a *.jsonl file).",
                    "num_probes is the number of probes (or of supports). With --supports the set is DISTRIBUTION, "
                            + "its dim and vocabulary those of the file. An identical existing set is left as it is."})
    static final class Create implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Mixin
        private TargetOptions target;

        @Parameters(index = "0", paramLabel = "ID", description = "The probe set's id.")
        String id;

        @Option(names = "--probes", paramLabel = "FILE",
                description = "The probes (JSON Lines); required unless --supports is given.")
        Path probes;

        @Option(names = "--supports", paramLabel = "FILE",
                description = "A supports.json written by topk build: the per-probe supports top-k answers are "
                        + "mapped onto.")
        Path supports;

        @Option(names = "--dim", paramLabel = "D",
                description = "Values per row: the vocabulary size of a DISTRIBUTION set, the width of an EMBEDDING "
                        + "one. Required without --supports; with it, taken from the file.")
        Integer dim;

        @Option(names = "--kind", paramLabel = "KIND",
                description = "DISTRIBUTION or EMBEDDING. Default: DISTRIBUTION (the only kind with --supports).")
        ProbeSetKind kind;

        @Option(names = "--smoothing-epsilon", paramLabel = "EPS", defaultValue = "0",
                description = "DISTRIBUTION only; 0 means the default 1e-6.")
        double smoothingEpsilon;

        @Option(names = "--description", paramLabel = "TEXT",
                description = "What the set is. Default: the supports file's description with --supports, else none.")
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
            ProbeSet set = supports == null ? fromProbes() : fromSupports();
            PrintWriter out = spec.commandLine().getOut();
            try (Target t = target.open(true)) {
                ProbeSet created = t.createProbeSet(set);
                // What was asked for: a server's answer says whether the set carries texts and supports,
                // not what they are, and it created this very set or refused.
                out.printf("probe set %s: %s, %d probes x %d, %s, at %s%n", created.id(), created.kind(),
                        created.numProbes(), created.dim(), carried(set), t.describe());
            }
            out.flush();
            return ImprintCli.EXIT_OK;
        }

        private ProbeSet fromProbes() {
            if (probes == null) {
                throw new ParameterException(spec.commandLine(), "give --probes FILE, --supports FILE, or both");
            }
            if (dim == null) {
                throw new ParameterException(spec.commandLine(), "--probes without --supports needs --dim D");
            }
            List<Probe> list = ProbesJson.readLines(probes);
            return ProbeSet.fromRequest(id, list.size(), dim, kind == null ? ProbeSetKind.DISTRIBUTION : kind,
                    smoothingEpsilon, description == null ? "" : description).withTexts(new ProbeTexts(list, temperature, maxTokens, vocabulary));
        }

        /** A DISTRIBUTION set shaped by the supports file, with the probes' texts if given. */
        private ProbeSet fromSupports() {
            SupportsJson.File file = SupportsJson.read(supports);
            Supports s = file.supports();
            if (kind != null && kind != ProbeSetKind.DISTRIBUTION) {
                throw new ParameterException(spec.commandLine(), "--kind " + kind + " with --supports; a set with "
                        + "supports is DISTRIBUTION");
            }
            if (dim != null && dim != file.dim()) {
                throw new ParameterException(spec.commandLine(), "--dim " + dim + " but " + supports + " has dim "
                        + file.dim() + "; leave --dim out with --supports");
            }
            if (vocabulary != null && vocabulary != s.mode()) {
                throw new ParameterException(spec.commandLine(), "--vocabulary " + vocabulary + " but " + supports
                        + " was built with " + s.mode());
            }
            // The build's description by default, so the reference files topk build wrote name this very set.
            ProbeSet set = ProbeSet.fromRequest(id, s.keys().size(), file.dim(), ProbeSetKind.DISTRIBUTION,
                    smoothingEpsilon, description == null ? file.description() : description).withSupports(s);
            if (probes == null) {
                return set;
            }
            List<Probe> list = ProbesJson.readLines(probes);
            if (list.size() != s.keys().size()) {
                throw new CliException(probes + " holds " + list.size() + " probes but " + supports + " has "
                        + s.keys().size() + " supports; expected one per probe");
            }
            return set.withTexts(new ProbeTexts(list, temperature, maxTokens, s.mode()));
        }

        private static String carried(ProbeSet set) {
            if (set.texts() != null && set.supports() != null) {
                return "with their texts and supports";
            }
            return set.supports() != null ? "with supports" : set.texts() != null ? "with their texts" : "bare";
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
                        + "without them" + (set.supports() == null ? "" : " (it carries supports for "
                        + set.supports().keys().size() + " probes, vocabulary " + set.supports().mode() + ")"));
            }
            ProbesJson.writeLines(out, set.texts().probes());
            PrintWriter w = spec.commandLine().getOut();
            w.printf("wrote %d probes of probe set %s to %s (temperature %s, max tokens %d%s)%n",
                    set.texts().probes().size(), id, out, set.texts().temperature(), set.texts().maxTokens(),
                    set.texts().vocabulary() == null ? "" : ", vocabulary " + set.texts().vocabulary());
            if (set.supports() != null) {
                w.printf("probe set %s carries supports (vocabulary %s, largest %d keys): it takes top-k answers%n",
                        id, set.supports().mode(), set.supports().largest());
            }
            w.flush();
            return ImprintCli.EXIT_OK;
        }
    }
}
