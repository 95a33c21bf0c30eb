package dev.imprint.cli;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code imprint list}: the probe sets, or one probe set's references. */
@Command(name = "list", mixinStandardHelpOptions = true,
        description = {"List the probe sets of a server (--server) or data directory, or with --probe-set the "
                + "references of one, with their role and labels."})
final class ListCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private TargetOptions target;

    @Option(names = "--probe-set", paramLabel = "ID", description = "List this probe set's references.")
    String probeSetId;

    @Option(names = "--label", paramLabel = "KEY=VALUE",
            description = "With --probe-set, only references carrying this label; repeatable (all must match).")
    Map<String, String> labels = new LinkedHashMap<>();

    @Option(names = "--role", paramLabel = "ROLE", description = "With --probe-set, only references of this role: "
            + "protected or background.")
    String role;

    @Override
    public Integer call() {
        ReferenceRole only = role == null ? null : ReferenceRole.parse("--role", role);
        if (probeSetId == null && (only != null || !labels.isEmpty())) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--label and --role select references; name their probe set with --probe-set");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Target t = target.open(false)) {
            if (probeSetId == null) {
                List<ProbeSet> sets = t.listProbeSets();
                for (ProbeSet set : sets) {
                    out.printf("%s  %s  %d probes x %d  %d references%s%n", set.id(), set.kind(), set.numProbes(),
                            set.dim(), t.referenceCount(set.id()),
                            set.description().isEmpty() ? "" : "  " + set.description());
                }
                out.printf("%d probe set%s at %s%n", sets.size(), sets.size() == 1 ? "" : "s", t.describe());
            } else {
                List<ReferenceMeta> references = t.listReferences(probeSetId, labels, only);
                for (ReferenceMeta m : references) {
                    out.printf("%s  %s  %s%n", m.modelId(), m.role().wireName(), m.labels().entrySet().stream()
                            .map(e -> e.getKey() + "=" + e.getValue()).sorted().collect(Collectors.joining(" ")));
                }
                out.printf("%d reference%s in probe set %s at %s%n", references.size(),
                        references.size() == 1 ? "" : "s", probeSetId, t.describe());
            }
        }
        out.flush();
        return ImprintCli.EXIT_OK;
    }
}
