package dev.imprint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.Deadline;
import dev.imprint.core.ImprintException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(30)
class DynamicBatcherTest {
    private final ExecutorService callers = Executors.newCachedThreadPool();
    /** Every batch the runner saw: its key and items. */
    private final List<Batch> batches = new CopyOnWriteArrayList<>();
    /** Runner calls entered, and a gate that holds them while closed. */
    private final Semaphore entered = new Semaphore(0);
    private volatile CountDownLatch gate = new CountDownLatch(0);

    private record Batch(String key, List<Integer> items) {
    }

    @AfterEach
    void stopCallers() {
        gate.countDown();
        callers.shutdownNow();
    }

    /** Answers item x of key k with "k:x*10", after the gate lets it through. */
    private List<String> run(String key, List<Integer> items) {
        batches.add(new Batch(key, List.copyOf(items)));
        entered.release();
        try {
            gate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return items.stream().map(x -> key + ":" + x * 10).toList();
    }

    private DynamicBatcher<String, Integer, String> batcher(int maxItems, Duration delay) {
        return batcher(maxItems, delay, 1);
    }

    private DynamicBatcher<String, Integer, String> batcher(int maxItems, Duration delay, int inFlight) {
        return new DynamicBatcher<>(this::run, maxItems, delay.toNanos(), inFlight, new DynamicBatcher.Totals());
    }

    private Future<List<String>> submitAsync(DynamicBatcher<String, Integer, String> b, String key, List<Integer> items,
                                             Deadline deadline) {
        return callers.submit(() -> b.submit(key, items, deadline));
    }

    /** Holds the runner, lets one call in, and waits until it is inside. */
    private Future<List<String>> occupy(DynamicBatcher<String, Integer, String> b, String key) throws Exception {
        gate = new CountDownLatch(1);
        Future<List<String>> first = submitAsync(b, key, List.of(-1), Deadline.none());
        assertTrue(entered.tryAcquire(10, TimeUnit.SECONDS), "the first call never reached the runner");
        return first;
    }

    /** Waits until {@code n} calls are queued behind the running batch (they have no other observable state). */
    private static void awaitQueued(DynamicBatcher<String, Integer, String> b, int n) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (b.queued() < n) {
            assertTrue(System.nanoTime() < until, "only " + b.queued() + " of " + n + " calls queued");
            Thread.sleep(1);
        }
    }

    @Test
    void aLoneCallRunsAtOnceWithoutADelay() {
        DynamicBatcher<String, Integer, String> b = batcher(8, Duration.ZERO);

        assertEquals(List.of("k:10", "k:20"), b.submit("k", List.of(1, 2), Deadline.none()));
        assertEquals(List.of(new Batch("k", List.of(1, 2))), batches);
        assertEquals(new DynamicBatcher.Stats(1, 1, 2), b.stats());
    }

    @Test
    void callsThatArriveWhileABatchRunsFormTheNextBatchTogether() throws Exception {
        DynamicBatcher<String, Integer, String> b = batcher(64, Duration.ZERO);
        Future<List<String>> first = occupy(b, "k");
        List<Future<List<String>>> later = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            later.add(submitAsync(b, "k", List.of(i), Deadline.none()));
        }
        awaitQueued(b, 10);

        gate.countDown();

        assertEquals(List.of("k:-10"), first.get());
        for (int i = 0; i < 10; i++) {
            assertEquals(List.of("k:" + i * 10), later.get(i).get(), "call " + i + " got another call's answer");
        }
        assertEquals(2, batches.size());
        assertEquals(10, batches.get(1).items().size());
        assertEquals(new DynamicBatcher.Stats(2, 11, 11), b.stats());
    }

    @Test
    void callsWithDifferentKeysNeverShareABatch() throws Exception {
        DynamicBatcher<String, Integer, String> b = batcher(64, Duration.ZERO);
        Future<List<String>> first = occupy(b, "a");
        List<Future<List<String>>> later = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            later.add(submitAsync(b, i % 2 == 0 ? "a" : "b", List.of(i), Deadline.none()));
        }
        awaitQueued(b, 6);

        gate.countDown();

        first.get();
        for (int i = 0; i < 6; i++) {
            assertEquals(List.of((i % 2 == 0 ? "a:" : "b:") + i * 10), later.get(i).get());
        }
        for (Batch batch : batches) {
            for (int item : batch.items()) {
                assertEquals(item < 0 || item % 2 == 0 ? "a" : "b", batch.key(), "item " + item);
            }
        }
        assertEquals(3, batches.size(), "the first, then one batch per key: " + batches);
    }

    @Test
    void aBatchTakesAtMostMaxItemsAndALargerCallRunsAlone() throws Exception {
        DynamicBatcher<String, Integer, String> b = batcher(4, Duration.ZERO);
        Future<List<String>> first = occupy(b, "k");
        List<Future<List<String>>> later = new ArrayList<>();
        later.add(submitAsync(b, "k", List.of(0, 1, 2, 3, 4, 5), Deadline.none()));
        awaitQueued(b, 1);
        for (int i = 10; i < 16; i++) {
            later.add(submitAsync(b, "k", List.of(i), Deadline.none()));
            awaitQueued(b, later.size());
        }

        gate.countDown();

        first.get();
        assertEquals(List.of("k:0", "k:10", "k:20", "k:30", "k:40", "k:50"), later.get(0).get());
        for (int i = 1; i < later.size(); i++) {
            later.get(i).get();
        }
        assertEquals(List.of(List.of(-1), List.of(0, 1, 2, 3, 4, 5), List.of(10, 11, 12, 13), List.of(14, 15)),
                batches.stream().map(Batch::items).toList());
    }

    @Test
    void aQueueDelayWaitsForMoreCallsToFillTheBatch() throws Exception {
        DynamicBatcher<String, Integer, String> b = batcher(3, Duration.ofSeconds(1));
        long start = System.nanoTime();
        Future<List<String>> a = submitAsync(b, "k", List.of(1), Deadline.none());
        awaitQueued(b, 1);
        Future<List<String>> c = submitAsync(b, "k", List.of(2), Deadline.none());
        Future<List<String>> d = submitAsync(b, "k", List.of(3), Deadline.none());

        assertEquals(List.of("k:10"), a.get());
        assertEquals(List.of("k:20"), c.get());
        assertEquals(List.of("k:30"), d.get());
        assertEquals(1, batches.size(), "three calls inside the delay are one batch: " + batches);
        assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(900),
                "a full batch must not wait out the delay");
    }

    @Test
    void aLoneCallWaitsOutTheDelayAndNoLonger() {
        DynamicBatcher<String, Integer, String> b = batcher(8, Duration.ofMillis(150));
        long start = System.nanoTime();

        b.submit("k", List.of(1), Deadline.none());

        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(ms >= 140 && ms < 5000, "took " + ms + " ms");
    }

    @Test
    void aCallWhoseDeadlinePassesInTheQueueFailsUnscored() throws Exception {
        DynamicBatcher<String, Integer, String> b = batcher(64, Duration.ZERO);
        Future<List<String>> first = occupy(b, "k");

        ImprintException e = assertThrows(ImprintException.class,
                () -> b.submit("k", List.of(7), Deadline.after(Duration.ofMillis(50))));

        assertEquals(ImprintException.Code.DEADLINE_EXCEEDED, e.code());
        assertTrue(e.getMessage().contains("waiting in the scoring queue"), e.getMessage());
        assertEquals(0, b.queued());
        gate.countDown();
        first.get();
        assertEquals(List.of("k:30"), b.submit("k", List.of(3), Deadline.none()));
        assertFalse(batches.stream().anyMatch(x -> x.items().contains(7)), "the expired call was scored: " + batches);
    }

    @Test
    void aDeadlineThatPassesWhileItsBatchRunsFailsAtOnceAndTheBatcherCarriesOn() throws Exception {
        DynamicBatcher<String, Integer, String> b = batcher(64, Duration.ZERO);
        CountDownLatch firstGate = new CountDownLatch(1);
        gate = firstGate;
        Future<List<String>> first = submitAsync(b, "k", List.of(-1), Deadline.none());
        assertTrue(entered.tryAcquire(10, TimeUnit.SECONDS));
        Future<List<String>> leader = submitAsync(b, "k", List.of(1), Deadline.none());
        // Queued strictly after the leader, so the leader (oldest) leads the next batch; and with
        // time to spare before its batch forms, even on a loaded machine.
        awaitQueued(b, 1);
        Future<List<String>> impatient = submitAsync(b, "k", List.of(2), Deadline.after(Duration.ofMillis(1500)));
        awaitQueued(b, 2);
        // The second batch (both queued calls, led by the first of them) runs into a closed gate.
        gate = new CountDownLatch(1);
        firstGate.countDown();
        assertTrue(entered.tryAcquire(10, TimeUnit.SECONDS));
        assertEquals(0, b.queued());

        ExecutionException e = assertThrows(ExecutionException.class,
                impatient::get);

        ImprintException cause = (ImprintException) e.getCause();
        assertEquals(ImprintException.Code.DEADLINE_EXCEEDED, cause.code());
        assertTrue(cause.getMessage().contains("while its batch was being scored"), cause.getMessage());
        assertFalse(leader.isDone());
        gate.countDown();
        assertEquals(List.of("k:-10"), first.get());
        assertEquals(List.of("k:10"), leader.get());
        assertEquals(List.of("k:30"), b.submit("k", List.of(3), Deadline.none()));
    }

    @Test
    void anExpiredDeadlineIsRefusedBeforeQueueing() {
        DynamicBatcher<String, Integer, String> b = batcher(8, Duration.ZERO);

        ImprintException e = assertThrows(ImprintException.class,
                () -> b.submit("k", List.of(1), Deadline.afterNanos(-1)));

        assertEquals(ImprintException.Code.DEADLINE_EXCEEDED, e.code());
        assertTrue(batches.isEmpty());
    }

    @Test
    void aFailingBatchFailsEveryCallInItAndLaterBatchesStillRun() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        IllegalStateException boom = new IllegalStateException("boom");
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        DynamicBatcher<String, Integer, String> b = new DynamicBatcher<>((key, items) -> {
            if (calls.incrementAndGet() == 1) {
                inside.countDown();
                await(release);
                return List.of("first");
            }
            if (calls.get() == 2) {
                throw boom;
            }
            return items.stream().map(String::valueOf).toList();
        }, 64, 0, 1, new DynamicBatcher.Totals());
        Future<List<String>> first = callers.submit(() -> b.submit("k", List.of(0), Deadline.none()));
        assertTrue(inside.await(10, TimeUnit.SECONDS));
        Future<List<String>> x = callers.submit(() -> b.submit("k", List.of(1), Deadline.none()));
        Future<List<String>> y = callers.submit(() -> b.submit("k", List.of(2), Deadline.none()));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (b.queued() < 2 && System.nanoTime() < until) {
            Thread.sleep(1);
        }
        release.countDown();

        assertEquals(List.of("first"), first.get());
        assertSame(boom, assertThrows(ExecutionException.class, x::get).getCause());
        assertSame(boom, assertThrows(ExecutionException.class, y::get).getCause());
        assertEquals(List.of("3"), b.submit("k", List.of(3), Deadline.none()));
    }

    @Test
    void asManyBatchesRunAtOnceAsAllowedAndTheRestQueue() throws Exception {
        DynamicBatcher<String, Integer, String> b = batcher(64, Duration.ZERO, 2);
        gate = new CountDownLatch(1);
        Future<List<String>> first = submitAsync(b, "k", List.of(1), Deadline.none());
        Future<List<String>> second = submitAsync(b, "k", List.of(2), Deadline.none());
        assertTrue(entered.tryAcquire(2, 10, TimeUnit.SECONDS), "two batches did not run at once");
        Future<List<String>> third = submitAsync(b, "k", List.of(3), Deadline.none());
        Future<List<String>> fourth = submitAsync(b, "k", List.of(4), Deadline.none());
        awaitQueued(b, 2);

        gate.countDown();

        assertEquals(List.of("k:10"), first.get());
        assertEquals(List.of("k:20"), second.get());
        assertEquals(List.of("k:30"), third.get());
        assertEquals(List.of("k:40"), fourth.get());
        // The two queued calls form the next batch together; they were submitted from two threads at
        // once, so in either order.
        assertEquals(List.of(List.of(3, 4)), batches.subList(2, batches.size()).stream()
                .map(batch -> batch.items().stream().sorted().toList()).toList());
    }

    @ParameterizedTest(name = "{0} batches in flight")
    @ValueSource(ints = {1, 3})
    void manyCallersWithMixedKeysEachGetTheirOwnAnswers(int inFlight) throws Exception {
        DynamicBatcher<String, Integer, String> b = batcher(16, Duration.ofNanos(200_000), inFlight);
        List<Future<Boolean>> checks = new ArrayList<>();
        for (int t = 0; t < 24; t++) {
            SplittableRandom rng = new SplittableRandom(t);
            checks.add(callers.submit(() -> {
                for (int i = 0; i < 200; i++) {
                    String key = "k" + rng.nextInt(3);
                    int n = 1 + rng.nextInt(4);
                    List<Integer> items = new ArrayList<>();
                    List<String> expected = new ArrayList<>();
                    for (int j = 0; j < n; j++) {
                        int item = rng.nextInt(1_000_000);
                        items.add(item);
                        expected.add(key + ":" + item * 10);
                    }
                    if (!expected.equals(b.submit(key, items, Deadline.none()))) {
                        return false;
                    }
                }
                return true;
            }));
        }
        for (Future<Boolean> f : checks) {
            assertTrue(f.get(), "a caller got another caller's answer");
        }
        DynamicBatcher.Stats stats = b.stats();
        assertEquals(24 * 200, stats.requests());
        assertTrue(stats.batches() < stats.requests(), "no call was ever batched with another: " + stats);
        assertTrue(batches.stream().allMatch(x -> x.items().size() <= 16), "a batch took more than maxItems");
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
