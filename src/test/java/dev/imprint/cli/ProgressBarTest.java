package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressBarTest {
    private static final long MS = 1_000_000L;

    private final StringWriter text = new StringWriter();
    private final PrintWriter err = new PrintWriter(text);
    private final AtomicLong now = new AtomicLong(5_000 * MS);

    @Test
    void quickRunOnAPipeDrawsNothing() {
        try (ProgressBar bar = new ProgressBar(err, "suspects", 10, false, now::get)) {
            for (int i = 0; i < 10; i++) {
                now.addAndGet(50 * MS);
                bar.advance(1);
            }
        }
        assertEquals("", text.toString());
    }

    @Test
    void longRunOnAPipeDrawsInPlaceOncePerSecondAndEndsTheLine() {
        try (ProgressBar bar = new ProgressBar(err, "suspects", 100, false, now::get)) {
            for (int i = 0; i < 100; i++) {
                now.addAndGet(100 * MS);
                bar.advance(1);
            }
        }
        String out = text.toString();
        long redraws = out.chars().filter(c -> c == '\r').count();
        // 10 s of work: quiet for the first second, then about one redraw a second, plus the final one.
        assertTrue(redraws >= 9 && redraws <= 12, redraws + " redraws: " + out);
        assertTrue(out.endsWith("100/100 suspects  10.0/s  ETA 0:00\n"), out);
        assertEquals(1, out.chars().filter(c -> c == '\n').count());
    }

    @Test
    void terminalSeesTheBarAtOnce() {
        ProgressBar bar = new ProgressBar(err, "suspects", 4, true, now::get);
        now.addAndGet(500 * MS);
        bar.advance(1);
        assertEquals("\r" + ProgressBar.line("suspects", 1, 4, 500 * MS), text.toString());
    }

    @Test
    void lineShowsFillCountRateAndEta() {
        assertEquals("[###############...............] 50/100 suspects  25.0/s  ETA 0:02",
                ProgressBar.line("suspects", 50, 100, 2_000 * MS));
        assertEquals("[..............................] 1/7201 suspects  1.0/s  ETA 2:00:00",
                ProgressBar.line("suspects", 1, 7201, 1_000 * MS));
    }

    @Test
    void disabledBarNeverDraws() {
        try (ProgressBar bar = ProgressBar.disabled(err)) {
            bar.advance(5);
        }
        assertEquals("", text.toString());
    }
}
