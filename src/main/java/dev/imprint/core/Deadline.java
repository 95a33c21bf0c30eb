package dev.imprint.core;

import java.time.Duration;
import java.util.Locale;

/**
 * The moment after which a request is no longer worth answering, on the {@link System#nanoTime()}
 * clock, or no such moment. Adapters turn their own deadlines (gRPC's) into one of these so the
 * engine can drop work nobody waits for.
 */
public final class Deadline {
    private static final Deadline NONE = new Deadline(0, false);

    private final long nanoTime;
    private final boolean bounded;

    private Deadline(long nanoTime, boolean bounded) {
        this.nanoTime = nanoTime;
        this.bounded = bounded;
    }

    /** No deadline: the request waits as long as it takes. */
    public static Deadline none() {
        return NONE;
    }

    /** {@code timeout} from now; zero or negative is already expired. */
    public static Deadline after(Duration timeout) {
        return afterNanos(saturatedNanos(timeout));
    }

    /** {@code nanos} from now; zero or negative is already expired. */
    public static Deadline afterNanos(long nanos) {
        return new Deadline(System.nanoTime() + nanos, true);
    }

    public boolean bounded() {
        return bounded;
    }

    public boolean expired() {
        return bounded && System.nanoTime() - nanoTime >= 0;
    }

    /** Nanoseconds left, zero or negative once expired; {@link Long#MAX_VALUE} without a deadline. */
    public long remainingNanos() {
        return bounded ? nanoTime - System.nanoTime() : Long.MAX_VALUE;
    }

    @Override
    public String toString() {
        return bounded ? String.format(Locale.ROOT, "deadline in %.3f ms", remainingNanos() / 1e6) : "no deadline";
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException overflow) {
            return d.isNegative() ? Long.MIN_VALUE / 2 : Long.MAX_VALUE / 2;
        }
    }
}
