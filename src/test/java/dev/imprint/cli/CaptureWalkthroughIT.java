package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README's walkthrough "From a model endpoint to a verdict", run as written: the shell block after
 * its {@code <!-- walkthrough: -->} marker, in bash, from the repository root, with only its first
 * line (where files go, which ports) replaced. It captures references from the loopback endpoint,
 * registers them from Python, captures a suspect that speaks another tokenizer and scores it; the
 * suspect must come out distilled from its true teacher. Skipped, saying why, without a fresh jar
 * or a Python that has the client's packages (IMPRINT_TEST_PYTHON, else python3).
 */
class CaptureWalkthroughIT {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final String PYTHON = System.getenv().getOrDefault("IMPRINT_TEST_PYTHON", "python3");

    @TempDir
    Path tmp;

    /** The block as README shows it. */
    static String walkthrough() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        int marker = readme.indexOf("<!-- walkthrough:");
        assertTrue(marker >= 0, "README lost its walkthrough marker");
        int start = readme.indexOf("```sh\n", marker) + "```sh\n".length();
        return readme.substring(start, readme.indexOf("```\n", start));
    }

    @Test
    void readmesWalkthroughEndsInTheTrueVerdict() throws Exception {
        LauncherIT.assumeAFreshJar();
        Process probe = new ProcessBuilder(PYTHON, "-c", "import grpc, grpc_tools, numpy")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assumeTrue(probe.waitFor(60, TimeUnit.SECONDS) && probe.exitValue() == 0,
                PYTHON + " cannot import grpc, grpc_tools and numpy (set IMPRINT_TEST_PYTHON to a venv that can)");
        String block = walkthrough();
        String first = block.substring(0, block.indexOf('\n'));
        assertTrue(first.startsWith("W=") && first.contains("ENDPOINT_PORT=") && first.contains("IMPRINT_PORT="), first);
        String script = "set -euo pipefail\n"
                + "W=" + tmp + " ENDPOINT_PORT=" + freePort() + " IMPRINT_PORT=" + freePort() + "\n"
                + block.substring(block.indexOf('\n') + 1);
        Path file = tmp.resolve("walkthrough.sh");
        Files.writeString(file, script);
        ProcessBuilder builder = new ProcessBuilder("setsid", "bash", file.toString()).directory(ROOT.toFile())
                .redirectErrorStream(true);
        // The venv's own bin first, so the block's python3 is the one with the client's packages.
        Path python = Path.of(PYTHON);
        if (python.getParent() != null) {
            builder.environment().put("PATH", python.getParent() + ":" + System.getenv("PATH"));
        }
        builder.environment().remove("OPENAI_API_KEY");
        Process p = builder.start();
        String out;
        try {
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(10, TimeUnit.MINUTES), "the walkthrough did not finish:\n" + out);
        } finally {
            // The block starts an endpoint and a server in the background: stop its whole session.
            new ProcessBuilder("pkill", "-TERM", "-s", Long.toString(p.pid())).start().waitFor(10, TimeUnit.SECONDS);
            p.destroyForcibly();
        }
        assertEquals(0, p.exitValue(), out);
        for (String m : List.of("atlas-7b", "atlas-70b", "boreal-8b", "dune-12b")) {
            assertTrue(out.contains("registered " + m + " from Python"), out);
        }
        assertTrue(out.contains("captured 256 probes of pupil-1b"), out);
        assertTrue(out.contains("verdict DISTILLED_FROM: distilled from atlas-70b"), out);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
