package dev.imprint.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SharedChunksTest {
    private final ForkJoinPool pool = new ForkJoinPool(3);

    @AfterEach
    void stop() throws InterruptedException {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }

    @Test
    void chunksCoverEveryItemOnceAndShrinkTowardsTheEnd() {
        // W4's 128 probes on two threads: a quarter of what is left each time, down to 4.
        assertEquals(List.of(0, 32, 56, 74, 88, 98, 106, 112, 116, 120, 124, 128),
                IntStream.of(SharedChunks.shrinkingBounds(128, 2)).boxed().toList());
        for (int items = 1; items <= 600; items++) {
            for (int threads = 1; threads <= 9; threads++) {
                int[] bounds = SharedChunks.shrinkingBounds(items, threads);
                String shape = items + " items on " + threads + " threads: " + java.util.Arrays.toString(bounds);
                assertEquals(0, bounds[0], shape);
                assertEquals(items, bounds[bounds.length - 1], shape);
                // The float64 reference: a quarter (for two threads) of what is left, at least a
                // sixteenth of a thread's share, and never more than is left.
                double smallest = Math.max(1, Math.ceil(items / (threads * 16.0)));
                for (int c = 0; c + 1 < bounds.length; c++) {
                    int left = items - bounds[c];
                    double wanted = Math.min(left, Math.max(smallest, Math.ceil(left / (2.0 * threads))));
                    assertEquals(wanted, bounds[c + 1] - bounds[c], shape);
                    if (c > 0) {
                        assertTrue(bounds[c + 1] - bounds[c] <= bounds[c] - bounds[c - 1], "a chunk grew: " + shape);
                    }
                }
                // At most 2·threads·ln(16·threads)-ish chunks: never one per item for large counts.
                assertTrue(bounds.length - 1 <= Math.min(items, 2 * threads * 6 + 16), shape);
            }
        }
    }

    @Test
    void returnsEveryChunksResultInChunkOrderWhoeverRanIt() {
        Set<Thread> ran = ConcurrentHashMap.newKeySet();
        List<Integer> results = SharedChunks.run(pool, 40, c -> {
            ran.add(Thread.currentThread());
            sleepMillis(c % 3);
            return c * c;
        }, true);
        assertEquals(IntStream.range(0, 40).map(c -> c * c).boxed().toList(), results);
        assertTrue(ran.size() > 1, "the pool's workers helped the caller: " + ran);
        assertTrue(ran.size() <= 3, "no more threads than the pool has, the caller counted: " + ran);
    }

    @Test
    void theCallerRunsEveryChunkWhenNoWorkerIsFree() throws InterruptedException {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch busy = new CountDownLatch(3);
        for (int i = 0; i < 3; i++) {
            pool.execute(() -> {
                busy.countDown();
                awaitQuietly(release);
            });
        }
        assertTrue(busy.await(10, TimeUnit.SECONDS));
        try {
            Thread caller = Thread.currentThread();
            Set<Thread> ran = ConcurrentHashMap.newKeySet();
            List<Integer> results = SharedChunks.run(pool, 8, c -> {
                ran.add(Thread.currentThread());
                return c;
            }, true);
            assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), results);
            assertEquals(Set.of(caller), ran, "a call does not wait for a worker");
        } finally {
            release.countDown();
        }
    }

    @Test
    void aFailingChunkIsThrownOnceTheChunksTakenHaveEnded() {
        IllegalStateException boom = new IllegalStateException("chunk 3");
        AtomicInteger running = new AtomicInteger();
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> SharedChunks.run(pool, 30,
                c -> {
                    running.incrementAndGet();
                    try {
                        if (c == 3) {
                            throw boom;
                        }
                        sleepMillis(2);
                        return c;
                    } finally {
                        running.decrementAndGet();
                    }
                }, true));
        assertSame(boom, thrown);
        assertEquals(0, running.get(), "no chunk still runs when the failure is thrown");
    }

    @Test
    void aChunkStuckOnAStalledWorkerIsRunAgainByTheCaller() {
        // Twelve chunks of 2 ms: the stalled worker holds one for 30 s unless the call stops waiting.
        Stall stall = callWithAStalledWorker(true, 30_000);
        assertTrue(stall.millis < 5_000, "the call took " + stall.millis + " ms");
        assertEquals(1, stall.runsOfTheStalledChunk, "the caller ran the stalled chunk again, and the worker had not ended it");
    }

    @Test
    void aChunkThatIsNotRerunnableIsWaitedFor() {
        Stall stall = callWithAStalledWorker(false, 300);
        assertTrue(stall.millis >= 300, "the call waited for the stalled worker: " + stall.millis + " ms");
        assertEquals(1, stall.runsOfTheStalledChunk, "the stalled chunk ran once");
    }

    /** What {@link #callWithAStalledWorker} saw: how long the call took, and how often the stalled chunk had ended by then. */
    private record Stall(long millis, int runsOfTheStalledChunk) {}

    /**
     * Runs twelve chunks of 2 ms, the first a worker takes stalling for {@code stallMillis} (as a
     * worker does whose core another process has taken), and checks every result came back.
     */
    private Stall callWithAStalledWorker(boolean rerunnable, long stallMillis) {
        Thread caller = Thread.currentThread();
        CountDownLatch workerStarted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger stalled = new AtomicInteger(-1);
        AtomicInteger stalledChunkEnded = new AtomicInteger();
        try {
            long start = System.nanoTime();
            List<Integer> results = SharedChunks.run(pool, 12, c -> {
                if (Thread.currentThread() != caller && stalled.compareAndSet(-1, c)) {
                    workerStarted.countDown();
                    awaitQuietly(release, stallMillis);
                } else {
                    awaitQuietly(workerStarted, 30_000);
                    sleepMillis(2);
                }
                if (c == stalled.get()) {
                    stalledChunkEnded.incrementAndGet();
                }
                return c * c;
            }, rerunnable);
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(IntStream.range(0, 12).map(c -> c * c).boxed().toList(), results);
            assertTrue(stalled.get() >= 0, "a worker took a chunk");
            return new Stall(millis, stalledChunkEnded.get());
        } finally {
            release.countDown();
        }
    }

    @Test
    void oneChunkRunsOnTheCaller() {
        Thread caller = Thread.currentThread();
        assertEquals(List.of(true), SharedChunks.run(pool, 1, c -> Thread.currentThread() == caller, true));
    }

    private static void sleepMillis(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        awaitQuietly(latch, 30_000);
    }

    private static void awaitQuietly(CountDownLatch latch, long millis) {
        try {
            latch.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
