package dev.imprint.cli;

import java.io.Console;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A one-line progress bar on stderr, redrawn in place with a carriage return:
 * {@code [#####.....]  120/500 suspects  85.3/s  ETA 0:04}.
 *
 * <p>It stays silent for quick runs: nothing is drawn until {@link #QUIET_NANOS} have passed,
 * unless stderr is a terminal. Redraws are throttled ({@link #REDRAW_NANOS} on a terminal,
 * {@link #REDRAW_NANOS_PIPED} otherwise, so a log file gets few updates). Thread-safe: results
 * may arrive on another thread.
 */
final class ProgressBar implements AutoCloseable {
    static final long QUIET_NANOS = 1_000_000_000L;
    static final long REDRAW_NANOS = 100_000_000L;
    static final long REDRAW_NANOS_PIPED = 1_000_000_000L;
    private static final int WIDTH = 30;

    private final PrintWriter err;
    private final String unit;
    private final int total;
    private final boolean terminal;
    private final LongSupplier clock;
    private final boolean enabled;
    private final long start;
    private long lastDraw = Long.MIN_VALUE;
    private int done;
    private boolean drawn;

    /**
     * @param terminal whether {@code err} is an interactive terminal
     * @param clock    nanoseconds, monotonic ({@code System::nanoTime} outside tests)
     */
    ProgressBar(PrintWriter err, String unit, int total, boolean terminal, LongSupplier clock) {
        this(err, unit, total, terminal, clock, true);
    }

    private ProgressBar(PrintWriter err, String unit, int total, boolean terminal, LongSupplier clock,
                        boolean enabled) {
        this.enabled = enabled;
        this.err = err;
        this.unit = unit;
        this.total = total;
        this.terminal = terminal;
        this.clock = clock;
        this.start = clock.getAsLong();
    }

    /**
     * Whether the process talks to an interactive terminal. Java cannot ask about stderr alone; this
     * asks about the console (stdin and stdout), which is what a person watching a run has.
     */
    static boolean interactive() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            // Java 22+ returns a console even when redirected and tells terminals apart with isTerminal().
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (NoSuchMethodException olderJava) {
            return true;
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }

    /** A bar that never draws, for {@code --no-progress}. */
    static ProgressBar disabled(PrintWriter err) {
        return new ProgressBar(err, "", 0, false, () -> 0L, false);
    }

    /** Records {@code n} more items done and redraws if it is time. */
    synchronized void advance(int n) {
        done += n;
        if (!enabled) {
            return;
        }
        long now = clock.getAsLong();
        boolean visible = terminal || now - start >= QUIET_NANOS;
        long interval = terminal ? REDRAW_NANOS : REDRAW_NANOS_PIPED;
        if (visible && (lastDraw == Long.MIN_VALUE || now - lastDraw >= interval || done == total)) {
            draw(now);
        }
    }

    /** The bar's text for {@code done} items after {@code elapsedNanos}. */
    static String line(String unit, int done, int total, long elapsedNanos) {
        int filled = total == 0 ? WIDTH : (int) ((long) WIDTH * done / total);
        double seconds = elapsedNanos / 1e9;
        double rate = seconds > 0 ? done / seconds : 0;
        String eta = rate > 0 ? clockTime((total - done) / rate) : "?";
        return String.format(Locale.ROOT, "[%s%s] %d/%d %s  %.1f/s  ETA %s", "#".repeat(filled),
                ".".repeat(WIDTH - filled), done, total, unit, rate, eta);
    }

    private void draw(long now) {
        lastDraw = now;
        drawn = true;
        err.print("\r" + line(unit, done, total, now - start));
        err.flush();
    }

    private static String clockTime(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    /** Draws the final state (if the bar was ever shown) and ends its line. */
    @Override
    public synchronized void close() {
        if (drawn) {
            draw(clock.getAsLong());
            err.println();
            err.flush();
        }
    }
}
