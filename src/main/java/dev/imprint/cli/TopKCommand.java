package dev.imprint.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.VocabularyMode;
import dev.imprint.io.DurableFiles;
import dev.imprint.io.ReferenceFile;
import dev.imprint.io.SuspectTable;
import dev.imprint.topk.TopKAnswers;
import dev.imprint.topk.TopKEntry;
import dev.imprint.topk.TopKRows;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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

    /** {@code imprint topk build --references FILE [--suspects FILE] --probe-set ID --out-dir DIR}. */
    @Command(name = "build", mixinStandardHelpOptions = true,
            description = {"Build a DISTRIBUTION probe set over per-probe supports from the references' top-k "
                    + "answers (each probe's support: the keys the references list, then <other>), and write "
                    + "DIR/references/<model>.arrow, DIR/suspects.arrow (with --suspects) and DIR/supports.json.",
                    "With --supports, suspects are mapped onto an earlier build's supports instead. DIR must not "
                            + "exist; it appears whole or not at all."})
    static final class Build implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Option(names = "--references", paramLabel = "FILE", description = "The references' top-k answers.")
        Path references;

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

        private static final ObjectMapper JSON = new ObjectMapper();

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
            Built built = references != null ? build(TopKAnswers.read(references)) : load(supports);
            List<TopKAnswers.Model> suspectAnswers = suspects == null ? List.of() : TopKAnswers.read(suspects);
            Path tmp = DurableFiles.temporaryFor(outDir);
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
                Files.writeString(tmp.resolve("supports.json"), supportsJson(built));
                Files.move(tmp, outDir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } finally {
                if (Files.exists(tmp)) {
                    DurableFiles.deleteRecursively(tmp);
                }
            }
            PrintWriter out = spec.commandLine().getOut();
            out.printf("probe set %s: %d probes x %d (largest support), vocabulary %s; %d reference%s, %d suspect%s "
                            + "in %s%n", built.set.id(), built.set.numProbes(), built.set.dim(), built.mode,
                    built.references.size(), built.references.size() == 1 ? "" : "s", suspectAnswers.size(),
                    suspectAnswers.size() == 1 ? "" : "s", outDir);
            out.flush();
            return ImprintCli.EXIT_OK;
        }

        /** The probe set, its per-probe supports and the references over them. */
        private record Built(ProbeSet set, VocabularyMode mode, List<List<String>> supports,
                             List<Reference> references) {
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
                    throw new CliException(references + ": reference " + m.modelId() + " answers " + m.answers().size()
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
                    "top-k answers over per-probe supports (vocabulary " + vocabulary + ")");
            List<Reference> refs = new ArrayList<>();
            for (TopKAnswers.Model m : models) {
                float[] rows = rows(m, supports, dim, vocabulary, "reference");
                refs.add(new Reference(new ReferenceMeta(set.id(), m.modelId(), m.labels(), probes, dim,
                        System.currentTimeMillis(), m.role()), rows));
            }
            return new Built(set, vocabulary, supports, refs);
        }

        /** N×D rows for the probes the model answered, in probe order; padding beyond a support is 0. */
        private static float[] rows(TopKAnswers.Model m, List<List<String>> supports, int dim, VocabularyMode mode,
                                    String what) {
            float[] rows = new float[m.answers().size() * dim];
            int j = 0;
            for (Map.Entry<Integer, List<TopKEntry>> a : m.answers().entrySet()) {
                if (a.getKey() >= supports.size()) {
                    throw new CliException(what + " " + m.modelId() + " answers probe " + a.getKey() + ", but the "
                            + "probe set has " + supports.size());
                }
                double[] row = TopKRows.row(a.getValue(), supports.get(a.getKey()), mode,
                        what + " " + m.modelId() + " probe " + a.getKey());
                for (int k = 0; k < row.length; k++) {
                    rows[j * dim + k] = (float) row[k];
                }
                j++;
            }
            return rows;
        }

        private static void writeSuspects(BufferAllocator allocator, Path path, Built built,
                                          List<TopKAnswers.Model> suspects) throws IOException {
            try (SuspectTable.Writer writer = new SuspectTable.Writer(allocator, path, built.set.id(), built.set.dim())) {
                for (TopKAnswers.Model s : suspects) {
                    int[] probes = s.answers().keySet().stream().mapToInt(Integer::intValue).toArray();
                    writer.write(s.modelId(), probes, rows(s, built.supports, built.set.dim(), built.mode, "suspect"));
                }
            }
        }

        private static String supportsJson(Built built) throws IOException {
            ObjectNode root = JSON.createObjectNode();
            root.put("probe_set_id", built.set.id());
            root.put("dim", built.set.dim());
            root.put("vocabulary", built.mode.name());
            ArrayNode probes = root.putArray("supports");
            for (List<String> s : built.supports) {
                ArrayNode keys = probes.addArray();
                s.forEach(keys::add);
            }
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        }

        private static Built load(Path file) {
            try {
                com.fasterxml.jackson.databind.JsonNode root = JSON.readTree(Files.readString(file));
                List<List<String>> supports = new ArrayList<>();
                for (com.fasterxml.jackson.databind.JsonNode s : root.get("supports")) {
                    List<String> keys = new ArrayList<>();
                    s.forEach(k -> keys.add(k.asText()));
                    if (keys.isEmpty() || !keys.get(keys.size() - 1).equals(TopKRows.OTHER)) {
                        throw new CliException(file + ": a support does not end with " + TopKRows.OTHER);
                    }
                    supports.add(keys);
                }
                ProbeSet set = ProbeSet.fromRequest(root.get("probe_set_id").asText(), supports.size(),
                        root.get("dim").asInt(), ProbeSetKind.DISTRIBUTION, 0, "");
                return new Built(set, VocabularyMode.valueOf(root.get("vocabulary").asText()), supports, List.of());
            } catch (java.nio.file.NoSuchFileException e) {
                throw ImprintException.notFound("file %s does not exist", file);
            } catch (IOException | RuntimeException e) {
                if (e instanceof CliException || e instanceof ImprintException) {
                    throw (RuntimeException) e;
                }
                throw new CliException(file + " is not a supports.json written by imprint topk build (" + e + ")");
            }
        }
    }
}
