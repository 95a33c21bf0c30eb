package dev.imprint.server;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A fresh server over a fresh data directory for every test, watched by a {@link CallWatcher}. */
public abstract class ServerTestBase {
    @TempDir
    protected Path dataDir;
    protected final CallWatcher watcher = new CallWatcher();
    protected ServerHarness h;

    @BeforeEach
    void startServer() throws Exception {
        h = ServerHarness.start(dataDir, watcher);
    }

    @AfterEach
    void stopServer() throws Exception {
        h.close();
    }
}
