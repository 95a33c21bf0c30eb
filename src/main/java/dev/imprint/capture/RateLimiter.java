package dev.imprint.capture;

import java.util.function.LongSupplier;

/**
 * Spaces requests evenly at most {@code perSecond} apart, across threads, and holds every thread
 * back while the endpoint has asked all callers to wait (a 429 with Retry-After is about the key,
 * not the one request).
 */
final class RateLimiter {
    /** Sleeps for nanoseconds; a test can count instead. */
    interface Sleeper {
        void sleep(long nanos) throws InterruptedException;
    }

    private final long intervalNanos;
    private final LongSupplier clock;
    private final Sleeper sleeper;
    private long next;

    /** @param perSecond requests per second; 0 or less means unlimited */
    RateLimiter(double perSecond, LongSupplier clock, Sleeper sleeper) {
        this.intervalNanos = perSecond > 0 ? (long) (1e9 / perSecond) : 0;
        this.clock = clock;
        this.sleeper = sleeper;
        this.next = clock.getAsLong();
    }

    static RateLimiter perSecond(double perSecond) {
        return new RateLimiter(perSecond, System::nanoTime,
                nanos -> Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000)));
    }

    /** Waits for this caller's turn. */
    void acquire() throws InterruptedException {
        long at;
        synchronized (this) {
            long now = clock.getAsLong();
            at = Math.max(now, next);
            next = at + intervalNanos;
        }
        long wait = at - clock.getAsLong();
        if (wait > 0) {
            sleeper.sleep(wait);
        }
    }

    /** No turn starts before {@code nanos} from now. */
    synchronized void pauseFor(long nanos) {
        next = Math.max(next, clock.getAsLong() + nanos);
    }
}
