package dev.imprint.engine.cpu;

import dev.imprint.core.ProbeSet;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.ScoringBackend;

public final class CpuBackend implements ScoringBackend {
    public static String blasImplementation() { return "?"; }
    public String name() { return "cpu"; }
    public ResidentReferences createResidentSet(ProbeSet set) { throw new UnsupportedOperationException(); }
    public void close() {}
}
