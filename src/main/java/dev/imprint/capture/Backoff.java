package dev.imprint.capture;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * How long to wait before asking again: "full jitter" exponential backoff (a uniform wait up to
 * {@code base·2^(try−1)}, capped), so many workers that failed together do not come back together;
 * and never less than what the endpoint asked for with Retry-After, plus a little jitter on top.
 */
final class Backoff {
    private final Duration base;
    private final Duration cap;
    private final RandomGenerator random;

    Backoff(Duration base, Duration cap, RandomGenerator random) {
        this.base = base;
        this.cap = cap;
        this.random = random;
    }

    /**
     * @param retry      which retry this is, from 1
     * @param retryAfter what the endpoint asked for, or null
     */
    Duration delay(int retry, Duration retryAfter) {
        long ceiling = Math.min(cap.toMillis(), base.toMillis() << Math.min(retry - 1, 20));
        if (retryAfter != null) {
            return retryAfter.plusMillis(random.nextLong(base.toMillis() + 1));
        }
        return Duration.ofMillis(random.nextLong(ceiling + 1));
    }
}
