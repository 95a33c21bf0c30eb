package dev.imprint.cli;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.io.ReferenceFile;
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
 * {@code synth} writes them), creating each file's probe set if it does not exist yet.
 */
@Command(name = "put", mixinStandardHelpOptions = true,
        description = {"Register reference fingerprints from reference Arrow files, creating their probe set "
                + "if needed.", "A directory argument stands for every *.arrow file in it."})
final class PutCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private TargetOptions target;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "Reference Arrow files, or directories of them.")
    List<Path> files;

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
        PrintWriter out = spec.commandLine().getOut();
        try (BufferAllocator allocator = new RootAllocator(); Target t = target.open(true)) {
            for (int i = 0; i < inputs.size(); i++) {
                Path file = inputs.get(i);
                try {
                    put(allocator, t, file, forced, out);
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
        ProbeSet set = t.createProbeSet(contents.probeSet());
        Reference reference = contents.reference();
        Map<String, String> merged = new LinkedHashMap<>(reference.meta().labels());
        merged.putAll(labels);
        ReferenceMeta meta = t.putReference(set.id(), reference.meta().modelId(), merged,
                forced == null ? reference.meta().role() : forced, reference.rows(), replace);
        out.printf("put %s (%s) into probe set %s (%d x %d) at %s%n", meta.modelId(), meta.role().wireName(),
                set.id(), set.numProbes(), set.dim(), t.describe());
        out.flush();
    }

    /** Files as given, directories replaced by their *.arrow files in name order. */
    static List<Path> expand(List<Path> paths) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> listing = Files.list(p)) {
                    List<Path> arrows = listing.filter(f -> f.getFileName().toString().endsWith(".arrow")
                            && Files.isRegularFile(f)).sorted().toList();
                    if (arrows.isEmpty()) {
                        throw new CliException("directory " + p + " holds no *.arrow files");
                    }
                    out.addAll(arrows);
                }
            } else {
                out.add(p);
            }
        }
        return out;
    }
}
