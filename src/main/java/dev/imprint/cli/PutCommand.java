package dev.imprint.cli;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.io.ReferenceFile;
import dev.imprint.topk.ProbeAnswer;
import dev.imprint.topk.TopKAnswers;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code imprint put}: registers reference fingerprints from reference Arrow files (as
 * {@code synth} writes them), creating each file's probe set if it does not exist yet, or from
 * top-k answers files, which the target maps onto the supports of an existing probe set.
 */
@Command(name = "put", mixinStandardHelpOptions = true,
        description = {"Register reference fingerprints from reference Arrow files, creating their probe set "
                + "if needed.", "A directory argument stands for every *.arrow file in it.",
                "A file named *.jsonl is a top-k answers file: each model in it is put as one reference, its "
                        + "answers mapped onto the supports of --probe-set (a set created with "
                        + "probe-set create --supports); its labels and role come from the file."})
final class PutCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private TargetOptions target;

    @Parameters(arity = "1..*", paramLabel = "FILE",
            description = "Reference Arrow files, directories of them, or top-k answers files (*.jsonl).")
    List<Path> files;

    @Option(names = "--probe-set", paramLabel = "ID",
            description = "The probe set of the top-k answers files (*.jsonl); it must carry supports. Arrow files "
                    + "name their own.")
    String probeSetId;

    @Option(names = "--label", paramLabel = "KEY=VALUE",
            description = "Extra label for every reference put, repeatable; overrides the file's label of that key.")
    Map<String, String> labels = new LinkedHashMap<>();

    @Option(names = "--replace", description = "Overwrite references that already exist.")
    boolean replace;

    @Option(names = "--role", paramLabel = "ROLE",
            description = "Attribution role of every reference put: protected (a candidate teacher) or background "
                    + "(known independent: a control, never named a teacher). Default: the file's imprint.role, "
                    + "else protected.")
    String role;

    @Override
    public Integer call() throws IOException {
        // Parsed before anything is put, so a bad role changes nothing.
        ReferenceRole forced = role == null ? null : ReferenceRole.parse("--role", role);
        List<Path> inputs = expand(files);
        if (probeSetId == null && inputs.stream().anyMatch(TopKAnswers::isAnswersFile)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "a top-k answers file (*.jsonl) needs --probe-set ID, the set whose supports it is mapped onto");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (BufferAllocator allocator = new RootAllocator(); Target t = target.open(true)) {
            for (int i = 0; i < inputs.size(); i++) {
                Path file = inputs.get(i);
                try {
                    if (TopKAnswers.isAnswersFile(file)) {
                        putTopK(t, file, forced, out);
                    } else {
                        put(allocator, t, file, forced, out);
                    }
                } catch (RuntimeException | IOException e) {
                    throw Partway.failure(e, file + ": ", i, inputs.size(), "files put");
                }
            }
        }
        return ImprintCli.EXIT_OK;
    }

    private void put(BufferAllocator allocator, Target t, Path file, ReferenceRole forced, PrintWriter out)
            throws IOException {
        ReferenceFile.Contents contents = ReferenceFile.readInput(allocator, file);
        ProbeSet set = probeSetFor(t, contents.probeSet());
        Reference reference = contents.reference();
        Map<String, String> merged = new LinkedHashMap<>(reference.meta().labels());
        merged.putAll(labels);
        ReferenceMeta meta = t.putReference(set.id(), reference.meta().modelId(), merged,
                forced == null ? reference.meta().role() : forced, reference.rows(), replace);
        out.printf("put %s (%s) into probe set %s (%d x %d) at %s%n", meta.modelId(), meta.role().wireName(),
                set.id(), set.numProbes(), set.dim(), t.describe());
        out.flush();
    }

    /**
     * The file's probe set, created if missing. A token that may put references but not create
     * probe sets (writer) still puts onto an existing set of the same kind and shape.
     */
    private static ProbeSet probeSetFor(Target t, ProbeSet wanted) {
        try {
            return t.createProbeSet(wanted);
        } catch (StatusRuntimeException denied) {
            if (denied.getStatus().getCode() != Status.Code.PERMISSION_DENIED) {
                throw denied;
            }
            ProbeSet existing;
            try {
                existing = t.getProbeSet(wanted.id());
            } catch (ImprintException missing) {
                throw denied;
            }
            if (existing.kind() != wanted.kind() || existing.numProbes() != wanted.numProbes()
                    || existing.dim() != wanted.dim()) {
                throw denied;
            }
            return existing;
        }
    }

    /** Puts each model of a top-k answers file as one reference of --probe-set. */
    private void putTopK(Target t, Path file, ReferenceRole forced, PrintWriter out) {
        List<TopKAnswers.Model> models = TopKAnswers.read(file);
        ProbeSet set = t.getProbeSet(probeSetId);
        for (TopKAnswers.Model m : models) {
            Map<String, String> merged = new LinkedHashMap<>(m.labels());
            merged.putAll(labels);
            ReferenceMeta meta;
            try {
                meta = t.putReferenceTopK(set.id(), m.modelId(), merged, forced == null ? m.role() : forced,
                        ProbeAnswer.of(m.answers()), replace);
            } catch (dev.imprint.core.ImprintException e) {
                throw new dev.imprint.core.ImprintException(e.code(), "reference " + m.modelId() + ": "
                        + e.getMessage(), e);
            }
            out.printf("put %s (%s) into probe set %s (%d x %d) from top-k answers at %s%n", meta.modelId(),
                    meta.role().wireName(), set.id(), set.numProbes(), set.dim(), t.describe());
            out.flush();
        }
    }

    /** Files as given, directories replaced by their *.arrow and *.jsonl files in name order. */
    static List<Path> expand(List<Path> paths) throws IOException {
        return expand(paths, List.of(".arrow", ".jsonl"));
    }

    /** Files as given, directories replaced by their files ending in one of {@code suffixes}, in name order. */
    static List<Path> expand(List<Path> paths, List<String> suffixes) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> listing = Files.list(p)) {
                    List<Path> found = listing.filter(f -> suffixes.stream().anyMatch(f.getFileName().toString()::endsWith)
                            && Files.isRegularFile(f)).sorted().toList();
                    if (found.isEmpty()) {
                        throw new CliException("directory " + p + " holds no "
                                + String.join(" or ", suffixes.stream().map(x -> "*" + x).toList()) + " files");
                    }
                    out.addAll(found);
                }
            } else {
                out.add(p);
            }
        }
        return out;
    }
}
