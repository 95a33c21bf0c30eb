package dev.imprint.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.function.LongSupplier;

/**
 * Tells a benchmark's warm-up when the JVM's JIT compilers have settled: over the last window of
 * {@link #WINDOW_NANOS} they compiled for at most {@link #MAX_BUSY_MILLIS}.
 *
 * <p>A fixed warm-up can end while the compilers are still at work: after W6's three seconds they
 * compiled 50 to 70 methods a second for the next four (-XX:+PrintCompilation). On a machine of two
 * cores a compiler thread then takes a core from the scoring threads, a scheduler slice at a time:
 * in one W6 call on the development machine, seven chunks of the probes took 1.2 ms each and one
 * took 5.3 ms. Runs of 7 timed calls after the fixed warm-up alone had medians from 5.4 to 11.6 ms,
 * and after 1500 warm-up calls from 5.1 to 7.9 (five runs each).
 */
final class JitSettling {
    /** How long a window of watching the compilers lasts. */
    static final long WINDOW_NANOS = 500_000_000L;
    /** Compiling time in one window (1% of a core) still counted as settled: small methods keep trickling in. */
    static final long MAX_BUSY_MILLIS = 5;

    private final LongSupplier compiledMillis;
    private final LongSupplier nanoTime;
    private long windowStart;
    private long compiledAtWindowStart;

    /** Watches this JVM's compilers; without compilation time monitoring, reports settled at once. */
    static JitSettling ofThisJvm() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return new JitSettling(() -> 0, System::nanoTime);
        }
        return new JitSettling(jit::getTotalCompilationTime, System::nanoTime);
    }

    /**
     * @param compiledMillis the compilers' total compiling time so far, in milliseconds
     * @param nanoTime       the clock windows are measured on
     */
    JitSettling(LongSupplier compiledMillis, LongSupplier nanoTime) {
        this.compiledMillis = compiledMillis;
        this.nanoTime = nanoTime;
        this.windowStart = nanoTime.getAsLong();
        this.compiledAtWindowStart = compiledMillis.getAsLong();
    }

    /**
     * Whether the compilers have settled: false until a window has passed since the last one
     * ended (or since construction), then whether that window saw at most {@link #MAX_BUSY_MILLIS}
     * of compiling; each answer after a full window starts the next one.
     */
    boolean settled() {
        long now = nanoTime.getAsLong();
        if (now - windowStart < WINDOW_NANOS) {
            return false;
        }
        long compiled = compiledMillis.getAsLong();
        boolean quiet = compiled - compiledAtWindowStart <= MAX_BUSY_MILLIS;
        windowStart = now;
        compiledAtWindowStart = compiled;
        return quiet;
    }
}
