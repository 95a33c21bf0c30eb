package dev.imprint.engine;

import dev.imprint.core.ProbeSet;

/**
 * A backend that forwards every call to another, for wrappers (timing, sharing, test gates) that
 * override only what they change.
 */
public abstract class ForwardingBackend implements ScoringBackend {
    protected final ScoringBackend delegate;

    protected ForwardingBackend(ScoringBackend delegate) {
        this.delegate = delegate;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public ResidentReferences createResidentSet(ProbeSet set) {
        return delegate.createResidentSet(set);
    }

    @Override
    public int batchesInFlight() {
        return delegate.batchesInFlight();
    }

    @Override
    public DeviceInfo deviceInfo() {
        return delegate.deviceInfo();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
