package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The token bucket of {@link TokenRates} on a hand-driven clock. */
class TokenRatesTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    @Test
    void aTokenBurstsUpToOneSecondsWorthThenKeepsToItsRate() {
        TokenRates rates = new TokenRates(10, now::get);
        for (int i = 0; i < 10; i++) {
            assertEquals(0, rates.admit("alice"), "call " + i + " of the first second's burst");
        }
        // Empty: the next call could go in 1/10 s.
        assertEquals(TimeUnit.MILLISECONDS.toNanos(100), rates.admit("alice"));
        // A refused call takes nothing: after 50 ms half a call has come back, still not one.
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(50));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(50), rates.admit("alice"));
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(50));
        assertEquals(0, rates.admit("alice"));
        // Over one second, 10 calls and no more, however the calls are spread.
        int admitted = 0;
        for (int ms = 0; ms < 1000; ms += 5) {
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(5));
            admitted += rates.admit("alice") == 0 ? 1 : 0;
        }
        assertEquals(10, admitted);
    }

    @Test
    void eachTokenHasItsOwnBucketAndAnIdleOneRefillsOnlyToItsBurst() {
        TokenRates rates = new TokenRates(2, now::get);
        assertEquals(0, rates.admit("alice"));
        assertEquals(0, rates.admit("alice"));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(500), rates.admit("alice"));
        assertEquals(0, rates.admit("bob"));
        now.addAndGet(TimeUnit.HOURS.toNanos(1));
        assertEquals(0, rates.admit("alice"));
        assertEquals(0, rates.admit("alice"));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(500), rates.admit("alice"));
    }

    @Test
    void aRateBelowOneAllowsOneCallThenWaitsForIt() {
        TokenRates rates = new TokenRates(0.5, now::get);
        assertEquals(0, rates.admit("alice"));
        assertEquals(TimeUnit.SECONDS.toNanos(2), rates.admit("alice"));
    }

    @Test
    void aRateThatIsNotPositiveIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new TokenRates(0));
        assertThrows(IllegalArgumentException.class, () -> new TokenRates(Double.NaN));
    }
}
