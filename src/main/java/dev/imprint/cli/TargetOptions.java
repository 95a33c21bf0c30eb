package dev.imprint.cli;

import java.nio.file.Files;
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

    /**
     * Connects to the server if one was named, else opens the data directory.
     *
     * @param create whether a missing data directory is created (for commands that write) or an
     *               error (for commands that only read, so a mistyped path is not silently empty)
     */
    Target open(boolean create) {
        if (server != null && !server.isBlank()) {
            return RemoteTarget.connect(server.trim());
        }
        if (!create && !Files.isDirectory(dataDir)) {
            throw new CliException("data dir " + dataDir + " does not exist; put references there first, "
                    + "or name a server with --server");
        }
        return LocalTarget.open(dataDir);
    }
}
