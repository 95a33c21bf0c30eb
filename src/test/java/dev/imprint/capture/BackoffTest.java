package dev.imprint.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class BackoffTest {
    private final Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2), new Random(7));

    @Test
    void fullJitterStaysUnderTheDoublingCeilingAndSpreadsOut() {
        for (int retry = 1; retry <= 8; retry++) {
            long ceiling = Math.min(2000, 100L << (retry - 1));
            long lo = Long.MAX_VALUE;
            long hi = 0;
            for (int i = 0; i < 2000; i++) {
                long d = backoff.delay(retry, null).toMillis();
                assertTrue(d >= 0 && d <= ceiling, retry + ": " + d);
                lo = Math.min(lo, d);
                hi = Math.max(hi, d);
            }
            assertTrue(lo < ceiling / 10 && hi > ceiling * 9 / 10, "spread " + lo + ".." + hi + " of " + ceiling);
        }
    }

    @Test
    void neverSoonerThanRetryAfter() {
        for (int i = 0; i < 1000; i++) {
            long d = backoff.delay(1, Duration.ofSeconds(3)).toMillis();
            assertTrue(d >= 3000 && d <= 3100, "" + d);
        }
    }

    @Test
    void retryAfterIsReadAsSecondsOrAnHttpDate() {
        Instant now = Instant.parse("2026-12-05T10:00:00Z");
        assertEquals(Duration.ofSeconds(7), HttpCaller.parseRetryAfter("7", now));
        assertEquals(Duration.ofMillis(1500), HttpCaller.parseRetryAfter(" 1.5 ", now));
        assertEquals(Duration.ofSeconds(30), HttpCaller.parseRetryAfter("Sat, 05 Dec 2026 10:00:30 GMT", now));
        assertEquals(Duration.ZERO, HttpCaller.parseRetryAfter("Sat, 05 Dec 2026 09:00:00 GMT", now));
        assertNull(HttpCaller.parseRetryAfter("soon", now));
    }

    @Test
    void rateLimiterSpacesTurnsEvenlyAndHonoursAPause() throws InterruptedException {
        AtomicLong clock = new AtomicLong();
        List<Long> waits = new ArrayList<>();
        RateLimiter limiter = new RateLimiter(4, clock::get, nanos -> {
            waits.add(nanos);
            clock.addAndGet(nanos);
        });
        for (int i = 0; i < 4; i++) {
            limiter.acquire();
        }
        assertEquals(List.of(250_000_000L, 250_000_000L, 250_000_000L), waits);
        waits.clear();
        limiter.pauseFor(2_000_000_000L);
        limiter.acquire();
        assertEquals(List.of(2_000_000_000L), waits);
    }

    @Test
    void anUnlimitedRateNeverWaits() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(0, () -> 0L, nanos -> {
            throw new AssertionError("waited " + nanos);
        });
        for (int i = 0; i < 100; i++) {
            limiter.acquire();
        }
    }
}
