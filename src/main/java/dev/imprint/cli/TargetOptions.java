package dev.imprint.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where a command finds fingerprints: a running server, or else a data directory in-process. */
final class TargetOptions {
    @Option(names = "--server", paramLabel = "HOST:PORT",
            description = "Talk to a running server instead of opening --data-dir in-process.")
    String server;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "./imprint-data",
            description = "Data directory used in-process when --server is not given.")
    Path dataDir;

    /** Connects to the server if one was named, else opens the data directory. */
    Target open() {
        if (server != null && !server.isBlank()) {
            return RemoteTarget.connect(server.trim());
        }
        return LocalTarget.open(dataDir);
    }
}
