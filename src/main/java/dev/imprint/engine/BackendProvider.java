package dev.imprint.engine;

import dev.imprint.engine.cpu.CpuBackend;
import java.util.logging.Logger;

/** Picks the scoring backend once, at start-up, and logs why. */
public final class BackendProvider {
    private static final Logger LOG = Logger.getLogger(BackendProvider.class.getName());

    private BackendProvider() {}

    /** Selects the backend for this process. */
    public static SelectedBackend select() {
        SelectedBackend selected = new SelectedBackend(new CpuBackend(),
                "cpu: the CPU backend (native BLAS via netlib: " + CpuBackend.blasImplementation() + ")");
        LOG.info("scoring backend " + selected.reason());
        return selected;
    }
}
