package dev.imprint.engine.cpu;

import dev.imprint.core.ImprintException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;

/**
 * Runs the chunks of one call on the calling thread and a pool's workers together: each takes the
 * next chunk nobody has taken until none are left, so a call never waits for a parked worker to
 * wake. On the development machine a wake-up and the hand-back took some 40 µs, a fifth of a small
 * call (W5); when no worker is up in time, the caller runs every chunk itself.
 *
 * <p>Nor does a call of rerunnable chunks wait long for a worker that the machine's other load has
 * stopped: once every chunk is taken, the caller waits as long as one of its own chunks took, then
 * runs whatever is still unfinished itself. The first result of a chunk is the one kept, and a
 * rerunnable chunk's work only reads what the call shares and returns its result, so who ran it
 * changes nothing. (A chunk that writes into shared output is not rerunnable: a late copy could
 * write into it after the call has returned it.) On the development machine, under
 * another process's load, W5 (a tenth of a millisecond on two threads) took a median 4 ms a call
 * in one round of a benchmark: a worker holding a chunk had lost its core for a scheduler's slice.
 *
 * <p>The caller counts as one of the pool's threads: it asks for {@code parallelism - 1} helpers,
 * so a call keeps as many threads busy as the pool has. Results come back in chunk order whoever
 * ran them, so what is added from them is added in the same order every time.
 */
final class SharedChunks {
    /**
     * How long a caller whose chunks are all taken spins for the helpers before it parks: a parked
     * caller woke some 40 µs after the last chunk ended, a third of a small call (W5).
     */
    private static final long SPIN_NANOS = 200_000;
    /** A chunk whose work returned null. */
    private static final Object NULL = new Object();
    /** A chunk that failed, or that was skipped after another failed. */
    private static final Object FAILED = new Object();

    /** Each chunk but the smallest takes this share of what is left per thread: a half. */
    private static final int SHRINK = 2;
    /** The smallest chunk, as a fraction of the items per thread: a sixteenth. */
    private static final int SMALLEST = 16;

    private SharedChunks() {}

    /**
     * Bounds of the chunks {@code items} are split into for {@code threads}: chunk c covers
     * {@code bounds[c]..bounds[c+1]-1}. Each takes 1/(2·threads) of the items left, down to a
     * sixteenth of a thread's share, so the first chunks are large and the last small (OpenMP's
     * guided schedule). Why: with equal chunks, a thread slowed by the machine's other load left
     * its partner idle for up to a whole chunk at the end. W4 was split in eight chunks of 16
     * probes, some 21 ms of one thread each; its calls fell in two groups, 84-92 ms and 100-117,
     * one chunk apart, where torch's ran 86-100 (40 paired calls). Its eleven chunks now end in
     * four of 4 probes. More equal chunks instead cost what each chunk costs whatever its size
     * (its buffers, its sums and their merge).
     */
    static int[] shrinkingBounds(int items, int threads) {
        int smallest = Math.max(1, (int) Math.ceil(items / (double) (threads * SMALLEST)));
        int[] bounds = new int[items + 1];
        int chunks = 0;
        for (int start = 0; start < items; ) {
            int left = items - start;
            int size = Math.min(left, Math.max(smallest, (int) Math.ceil(left / (double) (SHRINK * threads))));
            start += size;
            bounds[++chunks] = start;
        }
        return Arrays.copyOf(bounds, chunks + 1);
    }

    /**
     * {@code work.apply(c)} for every chunk {@code c < chunks}, in chunk order. With
     * {@code rerunnable}, a worker's late copy of a chunk the caller ran again may still be running
     * when this returns; its result is dropped. The first failure is thrown once no chunk runs any
     * more; chunks not yet begun by then are skipped.
     *
     * @param rerunnable whether a chunk may run twice: its work reads what the call shares, writes
     *                   nothing but its result, and returns the same result whoever runs it
     * @throws ImprintException INTERNAL when the caller is interrupted while helpers finish
     */
    static <T> List<T> run(ForkJoinPool pool, int chunks, IntFunction<T> work, boolean rerunnable) {
        Call call = new Call(chunks, work);
        int helpers = Math.min(pool.getParallelism() - 1, chunks - 1);
        for (int i = 0; i < helpers; i++) {
            pool.execute(call::takeChunks);
        }
        long start = System.nanoTime();
        int own = call.takeChunks();
        // Without a chunk of its own the caller has no measure of how long one takes: it waits.
        if (rerunnable && own > 0) {
            call.awaitEnded((System.nanoTime() - start) / own);
            for (int c = 0; c < chunks && call.failure.get() == null; c++) {
                if (call.results.get(c) == null) {
                    call.run(c);
                }
            }
        } else {
            call.awaitEnded(Long.MAX_VALUE);
        }
        Throwable t = call.failure.get();
        if (t != null) {
            call.awaitNoneRunning();
        }
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error error) {
            throw error;
        }
        if (t != null) {
            throw new ImprintException(ImprintException.Code.INTERNAL, "scoring failed: " + t, t);
        }
        List<T> out = new ArrayList<>(chunks);
        for (int c = 0; c < chunks; c++) {
            Object r = call.results.get(c);
            @SuppressWarnings("unchecked")
            T typed = r == NULL ? null : (T) r;
            out.add(typed);
        }
        return out;
    }

    /** One call's chunks: who takes the next, their first outcomes, and what still runs. */
    private static final class Call {
        final IntFunction<?> work;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicReferenceArray<Object> results;
        /** Counts down once per chunk, at its first outcome. */
        final CountDownLatch ended;
        final AtomicInteger running = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Call(int chunks, IntFunction<?> work) {
            this.work = work;
            this.chunks = chunks;
            this.results = new AtomicReferenceArray<>(chunks);
            this.ended = new CountDownLatch(chunks);
        }

        /** Runs chunks nobody has taken until none are left; returns how many it ran. */
        int takeChunks() {
            int ran = 0;
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                run(c);
                ran++;
            }
            return ran;
        }

        /** Runs chunk c (skips it once a chunk has failed) and keeps the outcome if it is the chunk's first. */
        void run(int c) {
            running.incrementAndGet();
            Object outcome;
            try {
                Object r = failure.get() == null ? work.apply(c) : FAILED;
                outcome = r == null ? NULL : r;
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                outcome = FAILED;
            } finally {
                running.decrementAndGet();
            }
            if (results.compareAndSet(c, null, outcome)) {
                ended.countDown();
            }
        }

        /**
         * Waits until every chunk has an outcome or {@code nanos} have passed ({@code Long.MAX_VALUE}:
         * no limit); awake for the first {@link #SPIN_NANOS}.
         */
        void awaitEnded(long nanos) {
            long start = System.nanoTime();
            long spin = Math.min(nanos, SPIN_NANOS);
            while (ended.getCount() > 0 && System.nanoTime() - start < spin) {
                Thread.onSpinWait();
            }
            long left = nanos - (System.nanoTime() - start);
            if (ended.getCount() == 0 || left <= 0) {
                return;
            }
            try {
                if (nanos == Long.MAX_VALUE) {
                    ended.await();
                } else {
                    ended.await(left, TimeUnit.NANOSECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ImprintException(ImprintException.Code.INTERNAL, "interrupted while scoring", e);
            }
        }

        /** After a failure: waits until no copy of any chunk runs, so none outlives the call. */
        void awaitNoneRunning() {
            while (running.get() > 0) {
                LockSupport.parkNanos(50_000);
            }
        }
    }
}
