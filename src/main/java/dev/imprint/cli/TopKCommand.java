package dev.imprint.cli;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.Supports;
import dev.imprint.core.Suspect;
import dev.imprint.core.VocabularyMode;
import dev.imprint.io.DurableFiles;
import dev.imprint.io.ReferenceFile;
import dev.imprint.io.SuspectTable;
import dev.imprint.io.SupportsJson;
import dev.imprint.topk.ProbeAnswer;
import dev.imprint.topk.SupportedRows;
import dev.imprint.topk.TopKAnswers;
import dev.imprint.topk.TopKEntry;
import dev.imprint.topk.TopKRows;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code imprint topk build}: fingerprints from top-k answers, as APIs give them, over compact
 * per-probe supports ({@link TopKRows}): reference files and a suspect table that {@code put} and
 * {@code score} take as they are.
 */
@Command(name = "topk", mixinStandardHelpOptions = true,
        description = "Turn top-k answers (token strings and logprobs) into fingerprint files.",
        subcommands = {TopKCommand.Build.class})
final class TopKCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing a subcommand: build");
    }

    /** {@code imprint topk build --references FILE[,FILE...] [--suspects FILE] --probe-set ID --out-dir DIR}. */
    @Command(name = "build", mixinStandardHelpOptions = true,
            description = {"Build a DISTRIBUTION probe set over per-probe supports from the references' top-k "
                    + "answers (each probe's support: the keys the references list, then <other>), and write "
                    + "DIR/references/<model>.arrow, DIR/suspects.arrow (with --suspects) and DIR/supports.json.",
                    "With --supports, suspects are mapped onto an earlier build's supports instead. DIR must not "
                            + "exist; it appears whole or not at all."})
    static final class Build implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Option(names = "--references", paramLabel = "FILE", split = ",",
                description = "The references' top-k answers: one or more files (repeat the flag or separate them "
                        + "with commas), e.g. one per model captured; a directory stands for its *.jsonl files.")
        List<Path> references;

        @Option(names = "--suspects", paramLabel = "FILE", description = "The suspects' top-k answers.")
        Path suspects;

        @Option(names = "--supports", paramLabel = "FILE",
                description = "supports.json of an earlier build, to map --suspects onto its probe set.")
        Path supports;

        @Option(names = "--probe-set", paramLabel = "ID", description = "The probe set's id (with --references).")
        String probeSetId;

        @Option(names = "--vocabulary", paramLabel = "MODE", defaultValue = "FIRST_CHARACTER",
                description = "EXACT, NORMALISED or FIRST_CHARACTER (tokenizer-agnostic). Default: ${DEFAULT-VALUE}.")
        VocabularyMode vocabulary;

        @Option(names = "--out-dir", paramLabel = "DIR", required = true, description = "Where to write the files.")
        Path outDir;

        @Override
        public Integer call() throws IOException {
            if ((references == null) == (supports == null)) {
                throw new ParameterException(spec.commandLine(),
                        "give --references (to build supports) or --supports (to reuse them), not both or neither");
            }
            if (references != null && probeSetId == null) {
                throw new ParameterException(spec.commandLine(), "--references needs --probe-set ID");
            }
            if (supports != null && suspects == null) {
                throw new ParameterException(spec.commandLine(), "--supports is for mapping --suspects");
            }
            if (Files.exists(outDir)) {
                throw new CliException("--out-dir " + outDir + " already exists; name a new directory");
            }
            Built built = references != null ? build(readReferences()) : load(supports);
            List<TopKAnswers.Model> suspectAnswers = suspects == null ? List.of() : TopKAnswers.read(suspects);
            Path tmp = DurableFiles.temporaryFor(outDir);
            DurableFiles.ShutdownDeletion removeDraft = DurableFiles.deleteAtShutdown(tmp);
            try {
                Files.createDirectories(tmp.resolve("references"));
                try (BufferAllocator allocator = new RootAllocator()) {
                    for (Reference r : built.references) {
                        ReferenceFile.write(allocator, tmp.resolve("references").resolve(r.meta().modelId() + ".arrow"),
                                built.set, r);
                    }
                    if (!suspectAnswers.isEmpty()) {
                        writeSuspects(allocator, tmp.resolve("suspects.arrow"), built, suspectAnswers);
                    }
                }
                SupportsJson.write(tmp.resolve("supports.json"), built.set);
                Files.move(tmp, outDir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } finally {
                if (Files.exists(tmp)) {
                    DurableFiles.deleteRecursively(tmp);
                }
                removeDraft.close();
            }
            PrintWriter out = spec.commandLine().getOut();
            out.printf("probe set %s: %d probes x %d (largest support), vocabulary %s; %d reference%s, %d suspect%s "
                            + "in %s%n", built.set.id(), built.set.numProbes(), built.set.dim(),
                    built.set.supports().mode(),
                    built.references.size(), built.references.size() == 1 ? "" : "s", suspectAnswers.size(),
                    suspectAnswers.size() == 1 ? "" : "s", outDir);
            out.flush();
            return ImprintCli.EXIT_OK;
        }

        /** The probe set, carrying its per-probe supports, and the references over them. */
        private record Built(ProbeSet set, List<Reference> references) {
        }

        /** Every --references file's models, in order; a model in two files is refused. */
        private List<TopKAnswers.Model> readReferences() throws IOException {
            Map<String, Path> seen = new HashMap<>();
            List<TopKAnswers.Model> models = new ArrayList<>();
            for (Path file : PutCommand.expand(references, List.of(".jsonl"))) {
                for (TopKAnswers.Model m : TopKAnswers.read(file)) {
                    Path earlier = seen.putIfAbsent(m.modelId(), file);
                    if (earlier != null) {
                        throw new CliException("reference " + m.modelId() + " answers in both " + earlier + " and "
                                + file + "; give each model's answers once");
                    }
                    models.add(m);
                }
            }
            return models;
        }

        private Built build(List<TopKAnswers.Model> models) {
            int probes = models.stream().mapToInt(m -> m.answers().lastKey() + 1).max().orElse(0);
            for (TopKAnswers.Model m : models) {
                if (m.answers().size() != probes) {
                    List<Integer> missing = new ArrayList<>();
                    for (int p = 0; p < probes && missing.size() < 5; p++) {
                        if (!m.answers().containsKey(p)) {
                            missing.add(p);
                        }
                    }
                    throw new CliException(String.join(", ", references.stream().map(Path::toString).toList())
                            + ": reference " + m.modelId() + " answers " + m.answers().size()
                            + " of the " + probes + " probes (missing " + missing + (missing.size() == 5 ? "..." : "")
                            + "); a reference must answer every probe");
                }
            }
            List<List<String>> supports = new ArrayList<>();
            int dim = 1;
            for (int p = 0; p < probes; p++) {
                List<List<TopKEntry>> answers = new ArrayList<>();
                for (TopKAnswers.Model m : models) {
                    answers.add(m.answers().get(p));
                }
                List<String> support = TopKRows.support(answers, vocabulary);
                supports.add(support);
                dim = Math.max(dim, support.size());
            }
            ProbeSet set = ProbeSet.fromRequest(probeSetId, probes, dim, ProbeSetKind.DISTRIBUTION, 0,
                    "top-k answers over per-probe supports (vocabulary " + vocabulary + ")")
                    .withSupports(new Supports(vocabulary, supports));
            List<Reference> refs = new ArrayList<>();
            for (TopKAnswers.Model m : models) {
                float[] rows = SupportedRows.reference(set, ProbeAnswer.of(m.answers()), "reference " + m.modelId());
                refs.add(new Reference(new ReferenceMeta(set.id(), m.modelId(), m.labels(), probes, dim,
                        System.currentTimeMillis(), m.role()), rows));
            }
            return new Built(set, refs);
        }

        private static void writeSuspects(BufferAllocator allocator, Path path, Built built,
                                          List<TopKAnswers.Model> suspects) throws IOException {
            try (SuspectTable.Writer writer = new SuspectTable.Writer(allocator, path, built.set.id(), built.set.dim())) {
                for (TopKAnswers.Model s : suspects) {
                    Suspect suspect = SupportedRows.suspect(built.set, ProbeAnswer.of(s.answers()),
                            "suspect " + s.modelId());
                    writer.write(s.modelId(), suspect.probeIndices(), suspect.rows());
                }
            }
        }

        private static Built load(Path file) {
            SupportsJson.File read = SupportsJson.read(file);
            ProbeSet set = ProbeSet.fromRequest(read.probeSetId(), read.supports().keys().size(), read.dim(),
                    ProbeSetKind.DISTRIBUTION, 0, read.description()).withSupports(read.supports());
            return new Built(set, List.of());
        }
    }
}
