package dev.imprint.bench;

import dev.imprint.engine.cpu.CpuBackend;
import dev.ludovic.netlib.blas.BLAS;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntToDoubleFunction;

/**
 * The two physical limits a scoring shape meets on this machine, measured with every core busy,
 * as the CPU backend runs: how fast memory can be read (what bounds one suspect, which reads every
 * reference value once for a handful of operations) and how fast the BLAS multiplies (what bounds
 * a large batch, where each reference value meets many suspects).
 *
 * @param threads    cores used, one thread each
 * @param readGbps   best of several streaming reads of arrays far larger than any cache, GB/s
 *                   (10^9 bytes), all threads together; NaN where the Vector API is not loaded, since
 *                   a scalar loop would measure the loop and not the memory
 * @param sgemmGflops best of several large single-threaded SGEMMs run on every thread at once,
 *                   GFLOP/s all together
 */
public record MachineLimits(int threads, double readGbps, double sgemmGflops) {
    /** Floats each thread streams through: 256 MiB, eight times a large L3. */
    private static final int READ_FLOATS = 64 << 20;
    private static final int READ_ROUNDS = 9;
    /** Square SGEMM side: large enough that packing is noise and the kernel runs at its peak. */
    private static final int GEMM_N = 1536;
    private static final int GEMM_ROUNDS = 3;
    /** Where the warm-up's result goes, so that the compiler cannot drop the loop. */
    private static volatile double warmupSink;

    /** Measures both limits on {@code threads} threads; takes a few seconds and about 0.3 GiB per thread. */
    public static MachineLimits measure(int threads) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            double read = CpuBackend.vectorKernelsUsable() ? readGbps(pool, threads) : Double.NaN;
            return new MachineLimits(threads, read, sgemmGflops(pool, threads));
        } finally {
            pool.shutdownNow();
        }
    }

    /** One line: {@code limits threads=T read_gbps=X sgemm_gflops=Y}. */
    public String line() {
        return String.format(Locale.ROOT, "limits threads=%d read_gbps=%.1f sgemm_gflops=%.1f", threads, readGbps,
                sgemmGflops);
    }

    private static double readGbps(ExecutorService pool, int threads) {
        float[][] arrays = new float[threads][];
        for (int t = 0; t < threads; t++) {
            arrays[t] = new float[READ_FLOATS];
            // Written first, so the pages exist and the reads below are of memory, not of page faults.
            Arrays.fill(arrays[t], 1f);
        }
        // Compiled first on a small array: the Vector API's interpreted form is a thousand times slower.
        float[] small = new float[1 << 14];
        double sum = 0;
        for (int i = 0; i < 20_000; i++) {
            sum += VectorRead.sum(small);
        }
        warmupSink = sum;
        double best = 0;
        for (int round = 0; round < READ_ROUNDS; round++) {
            double seconds = concurrently(pool, threads, t -> VectorRead.sum(arrays[t]));
            best = Math.max(best, (double) threads * READ_FLOATS * Float.BYTES / seconds / 1e9);
        }
        return best;
    }

    private static double sgemmGflops(ExecutorService pool, int threads) {
        BLAS blas = BLAS.getInstance();
        float[][] a = new float[threads][];
        float[][] c = new float[threads][];
        SplittableRandom rng = new SplittableRandom(7);
        for (int t = 0; t < threads; t++) {
            a[t] = new float[GEMM_N * GEMM_N];
            c[t] = new float[GEMM_N * GEMM_N];
            for (int i = 0; i < a[t].length; i++) {
                a[t][i] = (float) rng.nextDouble();
            }
        }
        double best = 0;
        for (int round = 0; round <= GEMM_ROUNDS; round++) {
            double seconds = concurrently(pool, threads, t -> {
                blas.sgemm("N", "N", GEMM_N, GEMM_N, GEMM_N, 1f, a[t], GEMM_N, a[t], GEMM_N, 0f, c[t], GEMM_N);
                return c[t][0];
            });
            if (round > 0) { // the first round warms the library up
                best = Math.max(best, threads * 2.0 * GEMM_N * GEMM_N * GEMM_N / seconds / 1e9);
            }
        }
        return best;
    }

    /** Runs {@code work} on threads 0..threads-1 at once and returns the wall seconds until all finish. */
    private static double concurrently(ExecutorService pool, int threads, IntToDoubleFunction work) {
        List<Future<Double>> futures = new ArrayList<>(threads);
        long start = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            futures.add(pool.submit(() -> work.applyAsDouble(thread)));
        }
        double sink = 0;
        for (Future<Double> f : futures) {
            try {
                sink += f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while measuring", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("measuring failed: " + e.getCause(), e.getCause());
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (Double.isNaN(sink)) {
            throw new IllegalStateException("the measured sums are NaN");
        }
        return seconds;
    }
}
