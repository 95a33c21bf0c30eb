package dev.imprint.cli;

import dev.imprint.core.ProbeSet;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code imprint info}: what a server or data directory holds, and which backend scores it. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show a server's (--server) or a data directory's facts: backend, counts, memory, "
                + "probe sets.")
final class InfoCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private TargetOptions target;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Target t = target.open(false)) {
            for (Map.Entry<String, String> e : t.info().entrySet()) {
                out.printf("%-26s %s%n", e.getKey() + ":", e.getValue());
            }
            for (ProbeSet set : t.listProbeSets()) {
                out.printf("probe set %s: %s, %d probes x %d, %d references%s%n", set.id(), set.kind(),
                        set.numProbes(), set.dim(), t.referenceCount(set.id()),
                        set.description().isEmpty() ? "" : " - " + set.description());
            }
        }
        out.flush();
        return ImprintCli.EXIT_OK;
    }
}
