package dev.imprint.soak;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One {@code imprint serve} in a child JVM ({@code java -jar} the shaded jar, no wrapper script),
 * so that {@link #kill()} is a SIGKILL of the server process itself. Its stderr (the server log)
 * goes to a file, which outlives the process.
 */
public final class ServerProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile(" INFO listening on [^\\s]+:(\\d+)");

    private final Process process;
    private final Path log;
    private final long startNanos;
    /** Where this start's lines begin in {@code log}. */
    private final long logOffset;

    private ServerProcess(Process process, Path log, long startNanos, long logOffset) {
        this.process = process;
        this.log = log;
        this.startNanos = startNanos;
        this.logOffset = logOffset;
    }

    /**
     * Starts {@code imprint serve --port 0 --data-dir dataDir --log-calls failures} from {@code jar},
     * appending its log to {@code log}.
     *
     * @param jvmFlags extra JVM flags, e.g. {@code -Xmx512m}
     */
    public static ServerProcess start(Path jar, Path dataDir, Path log, List<String> jvmFlags) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--add-opens=java.base/java.nio=ALL-UNNAMED");
        int feature = Runtime.version().feature();
        if (feature >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        if (feature >= 23) {
            command.add("--sun-misc-unsafe-memory-access=allow");
        }
        command.addAll(jvmFlags);
        // Failed calls only: a soak's thousands of calls a second would otherwise fill the log it polls.
        command.addAll(List.of("-jar", jar.toString(), "serve", "--port", "0", "--data-dir", dataDir.toString(),
                "--log-calls", "failures"));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // The CPU backend runs one worker per core itself; OpenBLAS threads on top would oversubscribe.
        builder.environment().putIfAbsent("OPENBLAS_NUM_THREADS", "1");
        long logStart = Files.exists(log) ? Files.size(log) : 0;
        long start = System.nanoTime();
        return new ServerProcess(builder.start(), log, start, logStart);
    }

    /**
     * Waits for this start's "listening on" line and returns the port; throws if the process exits
     * first or {@code timeout} passes.
     */
    public int awaitPort(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String text = Files.readString(log);
            Matcher m = LISTENING.matcher(text.substring((int) Math.min(logOffset, text.length())));
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("imprint serve exited with " + process.exitValue()
                        + " before listening; log " + log + ":\n" + tail(text));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("imprint serve did not listen within " + timeout.toSeconds()
                        + " s; log " + log + ":\n" + tail(text));
            }
            Thread.sleep(5);
        }
    }

    /** When {@link #start} forked the process, on the {@link System#nanoTime()} clock. */
    public long startNanos() {
        return startNanos;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL ({@link Process#destroyForcibly()}) of the server JVM, and waits until it is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /** The server's resident set size in bytes (VmRSS of /proc/PID/status), if this OS has procfs. */
    public Optional<Long> rssBytes() {
        try (Stream<String> lines = Files.lines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
            return lines.filter(l -> l.startsWith("VmRSS:"))
                    .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024).findFirst();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** SIGTERM, the graceful stop; SIGKILL if it has not exited within 30 s. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }

    private static String tail(String text) {
        return text.length() <= 4000 ? text : "..." + text.substring(text.length() - 4000);
    }
}
