package dev.imprint.report;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Debian's {@code chromium} run headless on a local file, for tests of pages we generate.
 *
 * <p>Console messages: with {@code --enable-logging=stderr --v=0} Chromium writes every console
 * message of the page (console.log or error, uncaught exceptions, Content-Security-Policy
 * violations such as a blocked script or fetch) to stderr as one line {@code [...:INFO:CONSOLE:12]
 * "message", source: file:///... (12)}, older releases as {@code CONSOLE(12)}; all at level INFO,
 * so a test that wants a clean page asserts there are none at all. {@link #consoleMessagesOf} on a
 * page that logs on purpose shows the capture works on the Chromium at hand.
 */
final class HeadlessChromium {
    private static final Pattern CONSOLE = Pattern.compile("\\bCONSOLE[(:]\\d*");
    private static final long TIMEOUT_S = 120;

    private final Path binary;
    private final Path work;

    private HeadlessChromium(Path binary, Path work) {
        this.binary = binary;
        this.work = work;
    }

    /** Chromium from PATH ({@code chromium}, else {@code chromium-browser}), working in {@code work}; empty if none. */
    static Optional<HeadlessChromium> find(Path work) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String name : List.of("chromium", "chromium-browser")) {
            for (String dir : path.split(File.pathSeparator)) {
                Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
                if (Files.isExecutable(candidate)) {
                    return Optional.of(new HeadlessChromium(candidate, work));
                }
            }
        }
        return Optional.empty();
    }

    /** What one run of the browser on a page gave. */
    record Run(String stdout, List<String> consoleMessages) {
    }

    /** Loads {@code page} and returns its DOM after load, serialised, with the console messages it caused. */
    Run dumpDom(Path page) throws IOException, InterruptedException {
        return run(List.of("--dump-dom", page.toUri().toString()));
    }

    /** Loads {@code page} in a window of {@code width} × {@code height} and saves a PNG of it to {@code png}. */
    Run screenshot(Path page, Path png, int width, int height) throws IOException, InterruptedException {
        return run(List.of("--hide-scrollbars", "--window-size=" + width + "," + height,
                "--screenshot=" + png.toAbsolutePath(), page.toUri().toString()));
    }

    /** The console messages loading {@code page} causes. */
    List<String> consoleMessagesOf(Path page) throws IOException, InterruptedException {
        return dumpDom(page).consoleMessages();
    }

    private Run run(List<String> args) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory(work, "chromium-profile");
        Path out = work.resolve(profile.getFileName() + ".out");
        Path err = work.resolve(profile.getFileName() + ".err");
        List<String> command = new ArrayList<>(List.of(binary.toString(), "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
                "--enable-logging=stderr", "--v=0", "--user-data-dir=" + profile));
        command.addAll(args);
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new IOException("chromium did not finish within " + TIMEOUT_S + " s: " + command);
        }
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException("chromium exited with " + p.exitValue() + ": " + command + "\n" + stderr);
        }
        List<String> console;
        try (Stream<String> lines = stderr.lines()) {
            console = lines.filter(l -> CONSOLE.matcher(l).find()).toList();
        }
        return new Run(Files.readString(out, StandardCharsets.UTF_8), console);
    }
}
