package dev.imprint.engine;

import dev.imprint.core.Metric;
import java.util.List;
import java.util.Set;

/** Resident references that forward every call to others, for wrappers that override only what they change. */
public class ForwardingResidentReferences implements ResidentReferences {
    protected final ResidentReferences delegate;

    public ForwardingResidentReferences(ResidentReferences delegate) {
        this.delegate = delegate;
    }

    @Override
    public void put(String modelId, float[] rows) {
        delegate.put(modelId, rows);
    }

    @Override
    public void remove(String modelId) {
        delegate.remove(modelId);
    }

    @Override
    public int size() {
        return delegate.size();
    }

    @Override
    public long bytesHeld() {
        return delegate.bytesHeld();
    }

    @Override
    public BatchScores score(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe) {
        return delegate.score(batch, modelIds, metrics, perProbe);
    }

    @Override
    public BatchScores scoreClosest(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe,
                                    Metric orderBy, int k) {
        return delegate.scoreClosest(batch, modelIds, metrics, perProbe, orderBy, k);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
