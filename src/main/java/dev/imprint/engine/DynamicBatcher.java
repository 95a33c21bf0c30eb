package dev.imprint.engine;

import dev.imprint.core.Deadline;
import dev.imprint.core.ImprintException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Merges concurrent calls with equal keys into one call of a {@link Runner}, in the manner of
 * Triton's dynamic batcher: requests queue, and each batch takes every queued request whose key
 * equals the oldest one's, up to {@code maxItems} items, after waiting at most {@code maxDelay}
 * (from the oldest request's arrival) for the batch to fill. At most {@code maxInFlight} batches
 * run at once (Triton's model instances): two let the host half of one batch (ranking, packing)
 * overlap the device half of the next.
 *
 * <p>There is no thread of its own. A caller that finds fewer than {@code maxInFlight} leaders
 * leads: it forms and runs batches until its own request is answered, then hands the lead to the
 * oldest request still queued, so every caller's latency ends with the batch that answers it.
 * Requests that arrive while batches run form the next ones, which is how a busy batcher turns
 * many small calls into a few large ones without any delay configured.
 *
 * <p>Deadlines: a request whose deadline passes while it is queued leaves the queue and fails
 * with DEADLINE_EXCEEDED, unscored; one whose deadline passes while its batch runs fails the same
 * way at once, and its result is dropped. A batch failure fails every request in it.
 *
 * @param <K> what requests must share to be batched; compared with {@code equals}
 * @param <I> one item of a request (a suspect)
 * @param <O> the runner's output for one item
 */
final class DynamicBatcher<K, I, O> {
    private static final Logger LOG = Logger.getLogger(DynamicBatcher.class.getName());

    /** Computes a batch: one output per item, in order. */
    @FunctionalInterface
    interface Runner<K, I, O> {
        List<O> run(K key, List<I> items);
    }

    /**
     * A snapshot of {@link Totals}.
     *
     * @param batches  runner calls
     * @param requests requests answered by them
     * @param items    items scored by them
     */
    record Stats(long batches, long requests, long items) {
    }

    /**
     * Running totals that batchers add each batch to, and that tell their {@link BatchListener}s of
     * it; thread-safe. Several batchers may share one (an engine's probe sets do), so totals
     * outlive any one of them.
     */
    static final class Totals {
        private final List<BatchListener> listeners = new CopyOnWriteArrayList<>();
        private long batches;
        private long requests;
        private long items;

        void add(int batchRequests, int batchItems) {
            synchronized (this) {
                batches++;
                requests += batchRequests;
                items += batchItems;
            }
            for (BatchListener listener : listeners) {
                try {
                    listener.batchScored(batchRequests, batchItems);
                } catch (RuntimeException e) {
                    // The batch's callers are answered only after this returns: a listener must not strand them.
                    LOG.log(Level.WARNING, "a batch listener failed: " + e, e);
                }
            }
        }

        void listen(BatchListener listener) {
            listeners.add(listener);
        }

        synchronized Stats snapshot() {
            return new Stats(batches, requests, items);
        }
    }

    private final Runner<K, I, O> runner;
    private final int maxItems;
    private final long maxDelayNanos;
    private final int maxInFlight;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a request arrives, for a leader waiting out the delay. */
    private final Condition arrivals = lock.newCondition();
    private final ArrayDeque<Job> queue = new ArrayDeque<>();
    private final Totals totals;
    /** Callers leading now; guarded by {@code lock}. */
    private int leaders;

    /**
     * @param maxItems      most items per batch; a single larger request runs alone
     * @param maxDelayNanos longest a batch waits, from its oldest request's arrival, to fill
     * @param maxInFlight   most batches running at once
     * @param totals        where each batch is counted
     */
    DynamicBatcher(Runner<K, I, O> runner, int maxItems, long maxDelayNanos, int maxInFlight, Totals totals) {
        if (maxItems < 1) {
            throw new IllegalArgumentException("maxItems=" + maxItems + "; expected at least 1");
        }
        if (maxDelayNanos < 0) {
            throw new IllegalArgumentException("maxDelayNanos=" + maxDelayNanos + "; expected 0 or more");
        }
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight=" + maxInFlight + "; expected at least 1");
        }
        this.maxInFlight = maxInFlight;
        this.runner = runner;
        this.maxItems = maxItems;
        this.maxDelayNanos = maxDelayNanos;
        this.totals = totals;
    }

    /**
     * Runs {@code work} in some batch of requests with key {@code key} and returns its outputs,
     * in order.
     *
     * @throws ImprintException DEADLINE_EXCEEDED when {@code deadline} passes first; else
     *                          whatever the runner threw for the batch
     */
    List<O> submit(K key, List<I> work, Deadline deadline) {
        Job job = new Job(key, List.copyOf(work), deadline);
        boolean interrupted = false;
        lock.lock();
        try {
            if (deadline.expired()) {
                throw ImprintException.deadlineExceeded("the deadline had passed before the request was queued for scoring");
            }
            queue.add(job);
            if (leaders < maxInFlight) {
                leaders++;
                job.lead = true;
            } else {
                arrivals.signal();
            }
            while (!job.lead && !job.done) {
                // An interrupt cannot end the wait: leaving could strand a lead handed to this job.
                interrupted |= awaitStep(job);
            }
        } finally {
            lock.unlock();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (job.lead) {
            lead(job);
        }
        return job.outcome();
    }

    /** The totals this batcher counts into, so far. */
    Stats stats() {
        return totals.snapshot();
    }

    /** Requests waiting for a batch now, not counting those being scored. */
    int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Items of the requests waiting for a batch now, not counting those being scored. */
    int queuedItems() {
        lock.lock();
        try {
            int n = 0;
            for (Job j : queue) {
                n += j.work.size();
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Forms and runs batches until {@code self} is answered (perhaps by another leader's batch),
     * then hands the lead on.
     */
    private void lead(Job self) {
        while (true) {
            List<Job> batch;
            lock.lock();
            try {
                if (!self.done && !self.taken && self.deadline.expired()) {
                    // Handed the lead after its deadline: leave, rather than run others' batch first.
                    queue.remove(self);
                    self.finish(null, expired(self, "waiting in the scoring queue"));
                }
                if (self.done) {
                    handOver();
                    return;
                }
                if (self.taken) {
                    // Another leader's batch holds this call: lead no more, wait for it like a follower.
                    handOver();
                    awaitTaken(self);
                    return;
                }
                batch = formBatch(self);
            } finally {
                lock.unlock();
            }
            if (!batch.isEmpty()) {
                run(batch);
            }
        }
    }

    /**
     * Waits once for {@code job}'s signal, at most until its deadline; caller holds the lock.
     *
     * @return whether the wait was interrupted
     * @throws ImprintException DEADLINE_EXCEEDED once the deadline has passed, after taking the
     *                          job off the queue if it is still there
     */
    private boolean awaitStep(Job job) {
        long wait = job.deadline.remainingNanos();
        if (wait <= 0) {
            if (!job.taken) {
                queue.remove(job);
                throw expired(job, "waiting in the scoring queue");
            }
            throw expired(job, "while its batch was being scored");
        }
        try {
            job.ready.awaitNanos(wait);
            return false;
        } catch (InterruptedException e) {
            return true;
        }
    }

    /**
     * Waits until another leader's batch has answered {@code self}; caller holds the lock.
     *
     * @throws ImprintException DEADLINE_EXCEEDED when self's deadline passes first
     */
    private void awaitTaken(Job self) {
        boolean interrupted = false;
        try {
            while (!self.done) {
                interrupted |= awaitStep(self);
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Passes a finishing leader's place to the oldest queued request not leading already; caller holds the lock. */
    private void handOver() {
        for (Job j : queue) {
            if (!j.lead) {
                j.lead = true;
                j.ready.signal();
                return;
            }
        }
        leaders--;
    }

    /**
     * Waits (up to the delay) for the oldest request's batch to fill, then takes it off the queue;
     * empty when expiry emptied the queue or another leader took {@code self}. Caller holds the lock.
     */
    private List<Job> formBatch(Job self) {
        boolean interrupted = false;
        try {
            while (true) {
                dropExpired();
                if (self.taken) {
                    return List.of();
                }
                Job head = queue.peek();
                if (head == null) {
                    return List.of();
                }
                long wait = Math.min(head.enqueuedNanos + maxDelayNanos - System.nanoTime(),
                        head.deadline.remainingNanos());
                if (wait <= 0 || queuedItemsLike(head) >= maxItems) {
                    return take(head);
                }
                try {
                    arrivals.awaitNanos(wait);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private int queuedItemsLike(Job head) {
        int n = 0;
        for (Job j : queue) {
            if (j.key.equals(head.key)) {
                n += j.work.size();
            }
        }
        return n;
    }

    /** Removes {@code head} and the later requests with its key that fit beside it. */
    private List<Job> take(Job head) {
        List<Job> batch = new ArrayList<>();
        int total = 0;
        for (Iterator<Job> it = queue.iterator(); it.hasNext() && total < maxItems; ) {
            Job j = it.next();
            if (j.key.equals(head.key) && (batch.isEmpty() || total + j.work.size() <= maxItems)) {
                it.remove();
                j.taken = true;
                batch.add(j);
                total += j.work.size();
            }
        }
        return batch;
    }

    /** Fails every queued request whose deadline has passed; caller holds the lock. */
    private void dropExpired() {
        for (Iterator<Job> it = queue.iterator(); it.hasNext(); ) {
            Job j = it.next();
            if (j.deadline.expired()) {
                it.remove();
                j.finish(null, expired(j, "waiting in the scoring queue"));
            }
        }
    }

    private void run(List<Job> batch) {
        List<I> all = new ArrayList<>();
        for (Job j : batch) {
            all.addAll(j.work);
        }
        List<O> out = null;
        RuntimeException failure = null;
        try {
            out = runner.run(batch.get(0).key, all);
            if (out.size() != all.size()) {
                throw new IllegalStateException("the batch runner returned " + out.size() + " outputs for "
                        + all.size() + " items");
            }
        } catch (RuntimeException e) {
            failure = e;
        } catch (Error e) {
            // Every waiter must hear of it, or they would wait forever; the cause stays attached.
            failure = new IllegalStateException("scoring a batch failed: " + e, e);
        }
        // Counted before any waiter hears, so an answered call is always in the totals.
        totals.add(batch.size(), all.size());
        lock.lock();
        try {
            int from = 0;
            for (Job j : batch) {
                j.finish(out == null ? null : out.subList(from, from + j.work.size()), failure);
                from += j.work.size();
            }
        } finally {
            lock.unlock();
        }
    }

    private ImprintException expired(Job job, String where) {
        return ImprintException.deadlineExceeded("the deadline passed after %.1f ms %s",
                (System.nanoTime() - job.enqueuedNanos) / 1e6, where);
    }

    /** One submitted request; its fields are guarded by the batcher's lock. */
    private final class Job {
        final K key;
        final List<I> work;
        final Deadline deadline;
        final long enqueuedNanos = System.nanoTime();
        final Condition ready = lock.newCondition();
        boolean lead;
        boolean taken;
        boolean done;
        List<O> result;
        RuntimeException failure;

        Job(K key, List<I> work, Deadline deadline) {
            this.key = key;
            this.work = work;
            this.deadline = deadline;
        }

        void finish(List<O> result, RuntimeException failure) {
            this.result = result == null ? null : List.copyOf(result);
            this.failure = failure;
            this.done = true;
            ready.signal();
        }

        /** The result, or the failure rethrown; only once done. */
        List<O> outcome() {
            lock.lock();
            try {
                if (failure != null) {
                    throw failure;
                }
                return result;
            } finally {
                lock.unlock();
            }
        }
    }
}
