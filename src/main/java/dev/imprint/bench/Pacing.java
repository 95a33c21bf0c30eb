package dev.imprint.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.Locale;

/**
 * When a benchmark run's timed calls start: a fixed number back to back, or one for each line that
 * another process writes to standard input ({@code imprint bench --paced}).
 *
 * <p>Why paced. On a shared machine, load from outside comes in bursts of seconds: a run of seven
 * calls can fall wholly inside one while a peer's run, a few seconds later, misses it, and the
 * ratio of the two then measures the burst. {@code scripts/bench-compare.sh} keeps every side of a
 * comparison running, warm, and starts their calls in turn, one each, so a burst slows calls of
 * every side alike and the ratio of each pair of neighbouring calls cancels it.
 *
 * <p>A paced call follows untimed ones, 50 ms of them (at least one), as a call in a stream of
 * batches follows the last: the driver lets the machine go idle before each side's turn, and a call
 * timed right after that wait measures the wake-up of the pool's threads and of the virtual
 * machine's idle CPUs, not the scoring. After one untimed call W5 (0.15 ms a call back to back)
 * still took 0.4 ms on Imprint's side and numpy's, and 3.9 ms on torch's.
 */
public interface Pacing {
    /** How long a paced turn scores untimed before its timed call. */
    long TURN_WARMUP_NANOS = 50_000_000L;

    /** Called once, warm, before the first timed call. */
    void ready();

    /** Blocks until the next timed call may start; false once the run's calls are done. */
    boolean next();

    /** Reports the seconds the call that {@link #next} let start took. */
    void timed(double seconds);

    /** How long to make untimed calls right before each timed one (at least one call when positive). */
    long untimedNanosBefore();

    /** {@code reps} calls back to back. */
    static Pacing fixed(int reps) {
        if (reps < 1) {
            throw new IllegalArgumentException("reps=" + reps + "; expected at least 1");
        }
        return new Pacing() {
            private int started;

            @Override
            public void ready() {}

            @Override
            public boolean next() {
                return started++ < reps;
            }

            @Override
            public void timed(double seconds) {}

            @Override
            public long untimedNanosBefore() {
                // Back to back, each call already follows the last.
                return 0;
            }
        };
    }

    /**
     * One call per line read from {@code in}, until its end, each after untimed ones: prints
     * {@code ready} once warm and {@code call_s=<seconds>} after each timed call to {@code out}, each
     * line flushed at once, since the process on the other end waits for it before it starts the
     * next side's call.
     */
    static Pacing lines(BufferedReader in, PrintStream out) {
        return new Pacing() {
            @Override
            public void ready() {
                out.println("ready");
                out.flush();
            }

            @Override
            public boolean next() {
                try {
                    return in.readLine() != null;
                } catch (IOException e) {
                    throw new UncheckedIOException("reading the pace from standard input", e);
                }
            }

            @Override
            public void timed(double seconds) {
                out.printf(Locale.ROOT, "call_s=%.6f%n", seconds);
                out.flush();
            }

            @Override
            public long untimedNanosBefore() {
                return TURN_WARMUP_NANOS;
            }
        };
    }
}
