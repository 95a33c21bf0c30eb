package dev.imprint.soak;

import dev.imprint.cli.EnvDefaults;
import dev.imprint.client.ImprintClient;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code scripts/hardening storm|soak}: the kill-9 storm and the load soak at full length, against
 * a server forked from the shaded jar. Each option also reads {@code IMPRINT_<OPTION>} (as the
 * {@code imprint} commands do). Exits 0 when every check passed, 1 otherwise.
 */
@Command(name = "hardening", mixinStandardHelpOptions = true, subcommands = {Hardening.Storm.class,
        Hardening.Soak.class}, description = "Kill-9 storm and load soak of imprint serve.")
public final class Hardening {
    private Hardening() {}

    public static void main(String[] args) {
        System.exit(new CommandLine(new Hardening()).setDefaultValueProvider(new EnvDefaults(System.getenv()))
                .execute(args));
    }

    /** Options both drivers share. */
    abstract static class Common {
        @Option(names = "--jar", paramLabel = "JAR", description = "Shaded jar to run serve from (default: the "
                + "jar this runs from).")
        Path jar;

        @Option(names = "--work-dir", paramLabel = "DIR", description = "Where the data directory and server logs "
                + "go (default: a new directory under the system temp directory, kept).")
        Path workDir;

        @Option(names = "--seed", defaultValue = "20261206",
                description = "Seed of every random choice (${DEFAULT-VALUE}).")
        long seed;

        Path jar() throws URISyntaxException {
            return jar != null ? jar : Path.of(Hardening.class.getProtectionDomain().getCodeSource().getLocation()
                    .toURI());
        }

        Path workDir(String prefix) throws IOException {
            Path dir = workDir != null ? Files.createDirectories(workDir) : Files.createTempDirectory(prefix);
            System.out.println("work dir " + dir);
            return dir;
        }
    }

    @Command(name = "storm", mixinStandardHelpOptions = true, description = "SIGKILL a busy server again and again;"
            + " check every acknowledged write and delete after each kill.")
    static final class Storm extends Common implements Callable<Integer> {
        @Option(names = "--kills", defaultValue = "100", description = "SIGKILLs (${DEFAULT-VALUE}).")
        int kills;

        @Option(names = "--clients", defaultValue = "4", description = "Concurrent clients (${DEFAULT-VALUE}).")
        int clients;

        @Option(names = "--models-per-client", defaultValue = "3", description = "Model ids each client owns "
                + "(${DEFAULT-VALUE}).")
        int modelsPerClient;

        @Option(names = "--max-startup-seconds", defaultValue = "30", description = "Bound on fork to first "
                + "successful call after each restart (${DEFAULT-VALUE}).")
        int maxStartupSeconds;

        @Option(names = "--kill-after-ms", split = ",", defaultValue = "300,3000", description = "A kill lands "
                + "uniformly between these after the clients start (${DEFAULT-VALUE}).")
        long[] killAfterMs;

        @Override
        public Integer call() throws Exception {
            KillStorm.Report report = KillStorm.run(new KillStorm.Settings(jar(), workDir("imprint-storm")
                    .resolve("data"), kills, clients, modelsPerClient, seed, Duration.ofSeconds(maxStartupSeconds),
                    Duration.ofMillis(killAfterMs[0]), Duration.ofMillis(killAfterMs[killAfterMs.length - 1])));
            System.out.println(report.summary());
            return report.passed() ? 0 : 1;
        }
    }

    @Command(name = "soak", mixinStandardHelpOptions = true, description = "64 clients mixing Score, ScoreStream, "
            + "PutReference and GetServerInfo for a fixed time; then a stream whose responses are never read.")
    static final class Soak extends Common implements Callable<Integer> {
        @Option(names = "--duration-seconds", defaultValue = "600", description = "How long the clients run "
                + "(${DEFAULT-VALUE}).")
        int durationSeconds;

        @Option(names = "--clients", defaultValue = "64", description = "Concurrent clients (${DEFAULT-VALUE}).")
        int clients;

        @Option(names = "--sample-ms", defaultValue = "1000", description = "How often the server's RSS is read "
                + "(${DEFAULT-VALUE}).")
        int sampleMs;

        @Option(names = "--stall-seconds", defaultValue = "3", description = "How long the backpressure check waits "
                + "for the stalled stream to stop, then watches it (${DEFAULT-VALUE}).")
        int stallSeconds;

        @Override
        public Integer call() throws Exception {
            Path dir = workDir("imprint-soak");
            LoadSoak.Report report = LoadSoak.run(new LoadSoak.Settings(jar(), dir.resolve("data"),
                    Duration.ofSeconds(durationSeconds), clients, Duration.ofMillis(sampleMs), seed));
            System.out.println(report.summary());
            for (LoadSoak.Sample s : report.rss()) {
                if (Math.round(s.atSeconds()) % 60 == 0 || s == report.rss().get(report.rss().size() - 1)) {
                    System.out.printf("  rss at %5.0f s: %.1f MiB%n", s.atSeconds(), s.bytes() / 1048576.0);
                }
            }
            LoadSoak.Backpressure b;
            try (ServerProcess server = LoadSoak.startServer(jar(), dir.resolve("data-stall"))) {
                String target = "127.0.0.1:" + server.awaitPort(Duration.ofSeconds(120));
                ImprintClient setup = ImprintClient.connect(target);
                try {
                    setup.awaitServer(target, Duration.ofSeconds(30));
                    LoadSoak.load(setup);
                } finally {
                    setup.close();
                }
                b = LoadSoak.stalledStream(server, target, Duration.ofSeconds(stallSeconds));
            }
            System.out.println(b.summary());
            boolean bounded = b.stalled() && b.scoredWhileStalled() == 0 && b.bystanderErrors() == 0;
            return report.passed() && bounded ? 0 : 1;
        }
    }
}
