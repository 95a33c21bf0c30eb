package dev.imprint.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.io.Fingerprints;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads a file written by the store with pyarrow, checking schema, metadata, values and the
 * checksum as the README describes them. Skipped where python3 has no pyarrow.
 */
class ArrowFingerprintStorePyarrowTest {
    @TempDir
    Path dir;

    @Test
    void pyarrowReadsAStoreFileAndRecomputesItsChecksum() throws Exception {
        assumeTrue(run("python3", "-c", "import pyarrow").exit == 0,
                "python3 with pyarrow is not available here, so this check of pyarrow compatibility cannot run");
        ProbeSet set = Fingerprints.distributionSet("ps", 7, 33);
        Reference ref = Fingerprints.reference(set, "model-x", Map.of("family", "llama", "note", "ü"), 12);
        Path dataDir = dir.resolve("data");
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(set);
            store.saveReference(ref);
        }
        Path expected = Files.write(dir.resolve("expected.bin"), Fingerprints.littleEndian(ref.rows()));
        Path script = dir.resolve("read_reference.py");
        try (InputStream in = getClass().getResourceAsStream("read_reference.py")) {
            Files.copy(in, script);
        }

        Result result = run("python3", script.toString(), dataDir.resolve("ps/refs/model-x.arrow").toString(),
                expected.toString());

        assertEquals(0, result.exit, result.output);
        assertEquals("ok model-x 7x33", result.output.strip());
    }

    private record Result(int exit, String output) {}

    private static Result run(String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return new Result(-1, e.toString());
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "timed out: " + output);
        }
        return new Result(p.exitValue(), output);
    }
}
