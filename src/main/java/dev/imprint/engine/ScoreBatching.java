package dev.imprint.engine;

import java.time.Duration;

/**
 * How the engine merges concurrent scoring calls on one probe set into batches (see
 * {@link DynamicBatcher}): calls with the same query but for top_k are scored together, up to
 * {@code maxSuspects} suspects per batch, a batch waiting at most {@code maxQueueDelay} from its
 * oldest call's arrival for more to come. With no delay (the default) nothing waits: calls that
 * arrive while a batch is being scored form the next one.
 *
 * @param maxSuspects   most suspects in one batch (1 turns merging off); a single call with more
 *                      is scored alone, in chunks of {@link ImprintEngine#MAX_BATCH}
 * @param maxQueueDelay longest a batch waits to fill; zero for none
 */
public record ScoreBatching(int maxSuspects, Duration maxQueueDelay) {
    public static final int DEFAULT_MAX_SUSPECTS = 64;
    /** One second: a queue delay is a latency every request may pay, so more is a mistake. */
    public static final Duration MAX_QUEUE_DELAY = Duration.ofSeconds(1);
    /** {@link #MAX_QUEUE_DELAY} in microseconds, the unit of the serve flag and of ServerInfo. */
    public static final long MAX_QUEUE_DELAY_MICROS = MAX_QUEUE_DELAY.toNanos() / 1000;

    public ScoreBatching {
        if (maxSuspects < 1 || maxSuspects > ImprintEngine.MAX_BATCH) {
            throw new IllegalArgumentException("maxSuspects=" + maxSuspects + "; expected 1.." + ImprintEngine.MAX_BATCH);
        }
        if (maxQueueDelay.isNegative() || maxQueueDelay.compareTo(MAX_QUEUE_DELAY) > 0) {
            throw new IllegalArgumentException("maxQueueDelay=" + maxQueueDelay + "; expected 0 to " + MAX_QUEUE_DELAY);
        }
    }

    /** Up to {@value #DEFAULT_MAX_SUSPECTS} suspects per batch, no queue delay. */
    public static ScoreBatching defaults() {
        return new ScoreBatching(DEFAULT_MAX_SUSPECTS, Duration.ZERO);
    }

    /** The queue delay in whole microseconds. */
    public long maxQueueDelayMicros() {
        return maxQueueDelay.toNanos() / 1000;
    }

    /** No merging: every call is scored on its own. */
    public static ScoreBatching off() {
        return new ScoreBatching(1, Duration.ZERO);
    }
}
