package dev.imprint.server;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The call rate of each token: a token bucket per token name that holds up to one second's worth
 * of calls and refills at {@code perSecond}, so a token may burst briefly but not keep above its
 * rate. One busy token then cannot starve the others of the server.
 */
final class TokenRates {
    private final double perSecond;
    private final double capacity;
    private final LongSupplier nanoTime;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    /** @param perSecond calls per second per token, more than 0 */
    TokenRates(double perSecond) {
        this(perSecond, System::nanoTime);
    }

    TokenRates(double perSecond, LongSupplier nanoTime) {
        if (!(perSecond > 0)) {
            throw new IllegalArgumentException("perSecond=" + perSecond + "; expected more than 0");
        }
        this.perSecond = perSecond;
        this.capacity = Math.max(1, perSecond);
        this.nanoTime = nanoTime;
    }

    double perSecond() {
        return perSecond;
    }

    /**
     * Takes one call from {@code token}'s bucket: 0 if the call may go ahead, else how many
     * nanoseconds until it could.
     */
    long admit(String token) {
        return buckets.computeIfAbsent(token, t -> new Bucket(capacity, nanoTime.getAsLong())).take();
    }

    private final class Bucket {
        private double calls;
        private long refilledAt;

        Bucket(double calls, long now) {
            this.calls = calls;
            this.refilledAt = now;
        }

        synchronized long take() {
            long now = nanoTime.getAsLong();
            calls = Math.min(capacity, calls + (now - refilledAt) * perSecond / TimeUnit.SECONDS.toNanos(1));
            refilledAt = now;
            if (calls >= 1) {
                calls -= 1;
                return 0;
            }
            return (long) Math.ceil((1 - calls) / perSecond * TimeUnit.SECONDS.toNanos(1));
        }
    }
}
