package dev.imprint.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code imprint delete}: references of a probe set, or the probe set itself. */
@Command(name = "delete", mixinStandardHelpOptions = true,
        description = {"Delete references from a probe set, durably: imprint delete --probe-set ID MODEL_ID...",
                "Without MODEL_ID, delete the probe set itself; one that still holds references only with --force, "
                        + "which deletes them too."})
final class DeleteCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private TargetOptions target;

    @Option(names = "--probe-set", paramLabel = "ID", required = true, description = "The probe set.")
    String probeSetId;

    @Parameters(arity = "0..*", paramLabel = "MODEL_ID", description = "References to delete.")
    List<String> modelIds = new ArrayList<>();

    @Option(names = "--force", description = "Without MODEL_ID: delete the probe set even if it holds references, "
            + "and them with it.")
    boolean force;

    @Override
    public Integer call() {
        if (force && !modelIds.isEmpty()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--force applies to deleting a whole probe set; it cannot be given with MODEL_ID");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Target t = target.open(false)) {
            if (modelIds.isEmpty()) {
                int references = t.deleteProbeSet(probeSetId, force);
                out.printf("deleted probe set %s and its %d reference%s at %s%n", probeSetId, references,
                        references == 1 ? "" : "s", t.describe());
            } else {
                for (int i = 0; i < modelIds.size(); i++) {
                    try {
                        t.deleteReference(probeSetId, modelIds.get(i));
                    } catch (RuntimeException e) {
                        throw Partway.failure(e, "", i, modelIds.size(), "deleted");
                    }
                    out.printf("deleted %s from probe set %s at %s%n", modelIds.get(i), probeSetId, t.describe());
                    out.flush();
                }
            }
        }
        out.flush();
        return ImprintCli.EXIT_OK;
    }
}
