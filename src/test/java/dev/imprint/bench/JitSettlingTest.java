package dev.imprint.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class JitSettlingTest {
    private long now;
    private long compiled;

    @Test
    void settlesOnlyAfterAFullWindowWithLittleCompiling() {
        JitSettling jit = new JitSettling(() -> compiled, () -> now);
        assertFalse(jit.settled(), "no window has passed yet");
        now += JitSettling.WINDOW_NANOS - 1;
        compiled += 1;
        assertFalse(jit.settled(), "a window is not over one nanosecond early, however quiet");
        now += 1;
        assertTrue(jit.settled(), "a full window with 1 ms of compiling");
    }

    @Test
    void aBusyWindowIsNotSettledAndTheNextQuietOneIs() {
        JitSettling jit = new JitSettling(() -> compiled, () -> now);
        now += JitSettling.WINDOW_NANOS;
        compiled += JitSettling.MAX_BUSY_MILLIS + 1;
        assertFalse(jit.settled(), "the window compiled past the limit");
        now += JitSettling.WINDOW_NANOS / 2;
        assertFalse(jit.settled(), "the next window has only begun");
        now += JitSettling.WINDOW_NANOS / 2;
        compiled += JitSettling.MAX_BUSY_MILLIS;
        assertTrue(jit.settled(), "the next window compiled exactly the limit");
    }

    @Test
    void thisJvmsCompilersSettleWhenNothingRuns() throws InterruptedException {
        JitSettling jit = JitSettling.ofThisJvm();
        boolean settled = false;
        // Idle, the compilers finish their queue; ten windows leave room for a busy test JVM.
        for (int i = 0; i < 10 && !settled; i++) {
            Thread.sleep(JitSettling.WINDOW_NANOS / 1_000_000);
            settled = jit.settled();
        }
        assertTrue(settled, "this JVM's compilers never settled in ten idle windows");
    }
}
