package dev.imprint.engine.cpu;

import dev.imprint.core.ImprintException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;

/**
 * Runs the chunks of one call on the calling thread and a pool's workers together: each takes the
 * next chunk nobody has taken until none are left, so a call never waits for a parked worker to
 * wake. On the development machine a wake-up and the hand-back took some 40 µs, a fifth of a small
 * call (W5); when no worker is up in time, the caller runs every chunk itself.
 *
 * <p>The caller counts as one of the pool's threads: it asks for {@code parallelism - 1} helpers,
 * so a call keeps as many threads busy as the pool has. Results come back in chunk order whoever
 * ran them, so what is added from them is added in the same order every time.
 */
final class SharedChunks {
    /** How long a caller whose chunks are all taken spins for the helpers' before it parks. */
    private static final long SPIN_NANOS = 200_000;

    private SharedChunks() {}

    /**
     * {@code work.apply(c)} for every chunk {@code c < chunks}, in chunk order. The first failure
     * is thrown once every chunk taken has ended; chunks not yet begun by then are skipped.
     *
     * @throws ImprintException INTERNAL when the caller is interrupted while helpers finish
     */
    static <T> List<T> run(ForkJoinPool pool, int chunks, IntFunction<T> work) {
        Object[] results = new Object[chunks];
        AtomicInteger next = new AtomicInteger();
        CountDownLatch ended = new CountDownLatch(chunks);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable taker = () -> {
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                try {
                    if (failure.get() == null) {
                        results[c] = work.apply(c);
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    ended.countDown();
                }
            }
        };
        int helpers = Math.min(pool.getParallelism() - 1, chunks - 1);
        for (int i = 0; i < helpers; i++) {
            pool.execute(taker);
        }
        taker.run();
        // The helpers are finishing their last chunks: wait for them awake, as long as a chunk
        // could take, before parking. On the development machine a parked caller woke some 40 µs
        // after the last chunk ended, a third of a small call (W5).
        long spinUntil = System.nanoTime() + SPIN_NANOS;
        while (ended.getCount() > 0 && System.nanoTime() < spinUntil) {
            Thread.onSpinWait();
        }
        try {
            ended.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImprintException(ImprintException.Code.INTERNAL, "interrupted while scoring", e);
        }
        Throwable t = failure.get();
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
        for (Object r : results) {
            @SuppressWarnings("unchecked")
            T typed = (T) r;
            out.add(typed);
        }
        return out;
    }
}
