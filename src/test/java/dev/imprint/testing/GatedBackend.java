package dev.imprint.testing;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.engine.BatchScores;
import dev.imprint.engine.ForwardingBackend;
import dev.imprint.engine.ForwardingResidentReferences;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.ScoringBackend;
import dev.imprint.engine.SuspectBatch;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A backend that delegates to another and records the size of every batch it scores; while its
 * gate is shut, scoring calls wait inside it, so a test can pile requests up behind a batch.
 */
public final class GatedBackend extends ForwardingBackend {
    private final List<Integer> batchSizes = new CopyOnWriteArrayList<>();
    private final Semaphore entered = new Semaphore(0);
    private volatile CountDownLatch gate = new CountDownLatch(0);

    public GatedBackend(ScoringBackend inner) {
        super(inner);
    }

    /** From now on, scoring calls wait inside the backend until {@link #openGate()}. */
    public void shutGate() {
        gate = new CountDownLatch(1);
    }

    /** Lets every waiting and later scoring call through. */
    public void openGate() {
        gate.countDown();
    }

    /** Waits until {@code calls} more scoring calls have entered the backend since the last wait. */
    public void awaitEntered(int calls) throws InterruptedException {
        if (!entered.tryAcquire(calls, 10, TimeUnit.SECONDS)) {
            throw new AssertionError("fewer than " + calls + " scoring calls reached the backend in 10 s");
        }
    }

    /** The number of suspects of each scoring call so far, in order. */
    public List<Integer> batchSizes() {
        return List.copyOf(batchSizes);
    }

    @Override
    public ResidentReferences createResidentSet(ProbeSet set) {
        return new ForwardingResidentReferences(delegate.createResidentSet(set)) {
            @Override
            public BatchScores score(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe) {
                pass(batch);
                return delegate.score(batch, modelIds, metrics, perProbe);
            }

            @Override
            public BatchScores scoreClosest(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics,
                                            boolean perProbe, Metric orderBy, int k) {
                pass(batch);
                return delegate.scoreClosest(batch, modelIds, metrics, perProbe, orderBy, k);
            }
        };
    }

    /** Records the batch and waits at the gate. */
    private void pass(SuspectBatch batch) {
        batchSizes.add(batch.size());
        entered.release();
        try {
            gate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted at the gate", e);
        }
    }

    @Override
    public void close() {
        openGate();
        delegate.close();
    }
}
