package dev.imprint.cli;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.io.ReferenceFile;
import dev.imprint.io.SuspectTable;
import dev.imprint.synth.SynthScenario;
import dev.imprint.synth.SynthScenario.SyntheticModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code imprint synth}: writes a synthetic scenario to a directory: {@value #REFERENCES_DIR}/ with
 * one reference Arrow file per reference model (what {@code put} reads) and {@value #SUSPECTS_FILE},
 * a suspect table of the students, a sibling and an unrelated model (what {@code score} and
 * {@code rescore} read). Prints each suspect's ground truth.
 */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = {"Write a synthetic probe-set scenario to a directory: references/<model>.arrow (reference "
                + "files for put) and suspects.arrow (a suspect table for score and rescore).",
            "References come from several families sharing a world component; suspects are distilled students, "
                + "a same-family sibling of a teacher and an unrelated model."})
final class SynthCommand implements Callable<Integer> {
    static final String REFERENCES_DIR = "references";
    static final String SUSPECTS_FILE = "suspects.arrow";

    @Spec
    private CommandSpec spec;

    @Mixin
    private ScenarioOptions scenario;

    @Option(names = "--out", paramLabel = "DIR", required = true,
            description = "Directory to write to (created if missing; existing files of the same name are replaced).")
    Path out;

    @Override
    public Integer call() throws IOException {
        SynthScenario generated = scenario.generate(spec);
        ProbeSet set = generated.probeSet();
        Path refs = Files.createDirectories(out.resolve(REFERENCES_DIR));
        PrintWriter print = spec.commandLine().getOut();
        long now = System.currentTimeMillis();
        try (BufferAllocator allocator = new RootAllocator()) {
            for (SyntheticModel model : generated.references()) {
                ReferenceMeta meta = new ReferenceMeta(set.id(), model.modelId(), model.labels(), set.numProbes(),
                        set.dim(), now);
                ReferenceFile.write(allocator, refs.resolve(model.modelId() + ".arrow"), set,
                        new Reference(meta, model.rows()));
            }
            int[] allProbes = new int[set.numProbes()];
            for (int p = 0; p < allProbes.length; p++) {
                allProbes[p] = p;
            }
            try (SuspectTable.Writer writer = new SuspectTable.Writer(allocator, out.resolve(SUSPECTS_FILE), set.id(),
                    set.dim())) {
                for (SyntheticModel suspect : generated.suspects()) {
                    writer.write(suspect.modelId(), allProbes, suspect.rows());
                }
            }
        }
        print.printf("wrote %d reference files to %s and %d suspects to %s%n", generated.references().size(), refs,
                generated.suspects().size(), out.resolve(SUSPECTS_FILE));
        print.printf("probe set %s: %s, %d probes x %d values, seed %d%n", set.id(), set.kind(), set.numProbes(),
                set.dim(), scenario.seed);
        for (SyntheticModel suspect : generated.suspects()) {
            print.printf("  suspect %-28s %s%n", suspect.modelId(), suspect.teacher()
                    .map(t -> "distilled from " + t)
                    .orElse(suspect.labels().get(SynthScenario.ROLE) + ", family "
                            + suspect.labels().get(SynthScenario.FAMILY)));
        }
        print.flush();
        return ImprintCli.EXIT_OK;
    }
}
