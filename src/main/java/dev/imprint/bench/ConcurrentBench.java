package dev.imprint.bench;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.Suspect;
import dev.imprint.engine.EngineInfo;
import dev.imprint.engine.ForwardingBackend;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.ScoreBatching;
import dev.imprint.engine.ScoringBackend;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.store.MemoryOnlyStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Throughput under concurrency: {@code callers} threads each make the same scoring calls of S
 * suspects at once, as that many gRPC clients would, through {@link ImprintEngine#scoreAll} with
 * the engine's dynamic batcher on, and again with it off, on the same references.
 */
public final class ConcurrentBench {
    private ConcurrentBench() {}

    /**
     * One run of callers against one batching setting.
     *
     * @param suspectsPerSecond suspects scored per second of wall time, all callers together
     * @param p50Ms             median latency of a call
     * @param p99Ms             99th percentile latency of a call
     */
    public record Run(String batching, int calls, long batches, double suspectsPerSecond, double p50Ms, double p99Ms) {
        double meanBatch(int suspectsPerCall) {
            return batches == 0 ? 0 : (double) calls * suspectsPerCall / batches;
        }
    }

    /**
     * The batched and the unbatched run of one workload.
     *
     * @param references M at the run's scale
     */
    public record Result(Workload workload, String backend, int references, int callers, Run batched,
                         Run unbatched) {

        /** Two lines, batched first, the first ending in {@code speedup=<batched/unbatched throughput>}. */
        public List<String> lines() {
            return List.of(line(batched, String.format(Locale.ROOT, " speedup=%.2f",
                    batched.suspectsPerSecond() / unbatched.suspectsPerSecond())), line(unbatched, ""));
        }

        private String line(Run r, String tail) {
            return String.format(Locale.ROOT,
                    "workload=%s backend=%s kind=%s M=%d P=%d D=%d S=%d concurrency=%d batching=%s calls=%d "
                            + "batches=%d mean_batch=%.1f p50_ms=%.3f p99_ms=%.3f suspects_per_s=%.1f%s",
                    workload, backend, workload.kind(), references, workload.probes(), workload.dim(),
                    workload.suspects(), callers, r.batching(), r.calls(), r.batches(),
                    r.meanBatch(workload.suspects()), r.p50Ms(), r.p99Ms(), r.suspectsPerSecond(), tail);
        }
    }

    /**
     * Builds {@code workload} at {@code scale} on {@code selected} (which the run closes), then
     * times {@code callsPerCaller} calls from each of {@code callers} threads, after
     * {@code warmupPerCaller} untimed ones, batched as {@code batching} says and then unbatched,
     * each call keeping its {@code topK} best matches (0: all).
     */
    public static Result run(Workload workload, double scale, int callers, int warmupPerCaller, int callsPerCaller,
                             SelectedBackend selected, ScoreBatching batching, int topK) {
        int m = workload.references(scale);
        ProbeSet set = Bench.probeSet(workload);
        String backend;
        Run batched;
        Run unbatched;
        // One engine per setting over the same backend would need two resident copies; the
        // references are cheap to rebuild, the backend is not, so the engines share it in turn.
        try (ImprintEngine engine = ImprintEngine.open(new MemoryOnlyStore(), new SelectedBackend(
                new SharedBackend(selected.backend()), selected.reason()), batching)) {
            backend = engine.backendName();
            List<Suspect> suspects = Bench.populate(engine, set, workload, m);
            batched = time(engine, set, suspects, Bench.query(set, topK), callers, warmupPerCaller, callsPerCaller,
                    describe(batching));
        }
        try (ImprintEngine engine = ImprintEngine.open(new MemoryOnlyStore(), selected, ScoreBatching.off())) {
            List<Suspect> suspects = Bench.populate(engine, set, workload, m);
            unbatched = time(engine, set, suspects, Bench.query(set, topK), callers, warmupPerCaller, callsPerCaller,
                    "off");
        }
        return new Result(workload, backend, m, callers, batched, unbatched);
    }

    private static String describe(ScoreBatching b) {
        return b.maxSuspects() == 1 ? "off" : String.format(Locale.ROOT, "max%d/%dus", b.maxSuspects(),
                b.maxQueueDelayMicros());
    }

    private static Run time(ImprintEngine engine, ProbeSet set, List<Suspect> suspects, ScoreQuery query, int callers,
                            int warmup, int calls, String batching) {
        // warmedUp holds every caller until the counters are read; go then starts the timed calls.
        CyclicBarrier warmedUp = new CyclicBarrier(callers + 1);
        CyclicBarrier go = new CyclicBarrier(callers + 1);
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            List<Future<double[]>> latencies = new ArrayList<>();
            for (int t = 0; t < callers; t++) {
                latencies.add(pool.submit(() -> {
                    for (int i = 0; i < warmup; i++) {
                        engine.scoreAll(set, suspects, query);
                    }
                    warmedUp.await();
                    go.await();
                    double[] ms = new double[calls];
                    for (int i = 0; i < calls; i++) {
                        long t0 = System.nanoTime();
                        engine.scoreAll(set, suspects, query);
                        ms[i] = (System.nanoTime() - t0) / 1e6;
                    }
                    return ms;
                }));
            }
            warmedUp.await();
            EngineInfo before = engine.info();
            long t0 = System.nanoTime();
            go.await();
            double[] all = new double[callers * calls];
            for (int t = 0; t < callers; t++) {
                System.arraycopy(latencies.get(t).get(), 0, all, t * calls, calls);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            long batches = engine.info().scoringBatches() - before.scoringBatches();
            Arrays.sort(all);
            return new Run(batching, all.length, batches, (double) all.length * suspects.size() / seconds,
                    all[all.length / 2], all[Math.min(all.length - 1, (int) Math.ceil(all.length * 0.99) - 1)]);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while benchmarking", e);
        } catch (ExecutionException | BrokenBarrierException e) {
            throw new IllegalStateException("a benchmark caller failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /** Another backend, left open when the engine over it closes, so engines can take turns on it. */
    private static final class SharedBackend extends ForwardingBackend {
        SharedBackend(ScoringBackend inner) {
            super(inner);
        }

        @Override
        public void close() {
            // The caller's SelectedBackend owns it.
        }
    }
}
