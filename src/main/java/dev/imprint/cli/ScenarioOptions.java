package dev.imprint.cli;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.synth.SynthParams;
import dev.imprint.synth.SynthScenario;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The shape of a synthetic scenario, shared by {@code synth} and {@code demo}. */
final class ScenarioOptions {
    @Option(names = "--kind", paramLabel = "KIND", defaultValue = "DISTRIBUTION",
            description = "Probe set kind: DISTRIBUTION (next-token distributions) or EMBEDDING.")
    ProbeSetKind kind;

    @Option(names = "--probe-set", paramLabel = "ID", defaultValue = "synth",
            description = "Probe set id.")
    String probeSetId;

    @Option(names = "--probes", paramLabel = "P", defaultValue = "64",
            description = "Number of probes P.")
    int probes;

    @Option(names = "--dim", paramLabel = "D", defaultValue = "512",
            description = "Values per row D: vocabulary size or embedding width.")
    int dim;

    @Option(names = "--families", paramLabel = "N", defaultValue = "4",
            description = "Reference model families, 1.." + SynthScenario.Spec.MAX_FAMILIES + ".")
    int families;

    @Option(names = "--models-per-family", paramLabel = "N", defaultValue = "3",
            description = "Reference models per family.")
    int modelsPerFamily;

    @Option(names = "--students", paramLabel = "N", defaultValue = "1",
            description = "Distilled students among the suspects, each from a different reference.")
    int students;

    @Option(names = "--beta", paramLabel = "B", defaultValue = "0.7",
            description = "How much of its teacher a student absorbed, in [0, 1].")
    double beta;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "42",
            description = "Random seed; the same seed gives the same fingerprints.")
    long seed;

    /** Generates the scenario, turning a bad shape into a usage error. */
    SynthScenario generate(CommandSpec spec) {
        try {
            ProbeSet set = ProbeSet.fromRequest(probeSetId, probes, dim, kind, 0,
                    "synthetic " + kind + " probe set, seed " + seed);
            return SynthScenario.generate(set, seed,
                    new SynthScenario.Spec(families, modelsPerFamily, students, beta), SynthParams.defaults());
        } catch (IllegalArgumentException | ImprintException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
