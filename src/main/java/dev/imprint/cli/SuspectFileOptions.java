package dev.imprint.cli;

import dev.imprint.core.ProbeSet;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The suspects a command scores: the file that holds them and the probe set they answer. */
final class SuspectFileOptions {
    @Parameters(index = "0", paramLabel = "FILE",
            description = "Suspect table (Arrow IPC file), a reference Arrow file taken as one suspect, or a top-k "
                    + "answers file (named *.jsonl; one suspect per model, mapped onto the supports of --probe-set).")
    Path file;

    @Option(names = "--probe-set", paramLabel = "ID",
            description = "Probe set to score against (default: the one the file names; a top-k answers file names "
                    + "none).")
    String probeSetId;

    /** The probe set named by --probe-set, else by the file; CliException if neither names one. */
    ProbeSet resolve(Target target, SuspectSource source) {
        String id = probeSetId != null && !probeSetId.isBlank() ? probeSetId
                : source.probeSetId().orElseThrow(() -> new CliException(file + " names no probe set; pass --probe-set"));
        return target.getProbeSet(id);
    }
}
