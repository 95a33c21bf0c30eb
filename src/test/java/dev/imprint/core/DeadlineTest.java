package dev.imprint.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DeadlineTest {

    @Test
    void noDeadlineNeverExpiresAndHasAllTheTimeInTheWorld() {
        Deadline none = Deadline.none();
        assertFalse(none.bounded());
        assertFalse(none.expired());
        assertEquals(Long.MAX_VALUE, none.remainingNanos());
    }

    @Test
    void aDeadlineInThePastOrNowHasExpired() {
        assertTrue(Deadline.afterNanos(-1).expired());
        assertTrue(Deadline.after(Duration.ZERO).expired());
        assertTrue(Deadline.after(Duration.ofMillis(-5)).remainingNanos() <= 0);
    }

    @Test
    void aFutureDeadlineCountsDownAndThenExpires() throws InterruptedException {
        Deadline soon = Deadline.after(Duration.ofMillis(30));
        assertTrue(soon.bounded());
        assertFalse(soon.expired());
        long remaining = soon.remainingNanos();
        assertTrue(remaining > 0 && remaining <= 30_000_000L, "remaining " + remaining);
        Thread.sleep(40);
        assertTrue(soon.expired());
        assertTrue(soon.remainingNanos() <= 0);
    }

    @Test
    void durationsTooLongForNanosecondsSaturateInsteadOfWrapping() {
        Deadline far = Deadline.after(Duration.ofDays(365L * 1_000_000));
        assertFalse(far.expired());
        assertTrue(far.remainingNanos() > Duration.ofDays(365L * 100).toNanos());
        assertTrue(Deadline.after(Duration.ofDays(-365L * 1_000_000)).expired());
    }
}
