package dev.imprint.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.io.Fingerprints;
import dev.imprint.io.ReferenceFile;
import dev.imprint.io.SuspectTable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads a file written by the store with pyarrow, checking schema, metadata, values and the
 * checksum as the README describes them. Skipped where python3 has no pyarrow.
 */
class ArrowFingerprintStorePyarrowTest {
    @TempDir
    Path dir;

    /** The Python to run: IMPRINT_TEST_PYTHON (what .ci/run sets to its venv), else python3. */
    private static final String PYTHON = System.getenv().getOrDefault("IMPRINT_TEST_PYTHON", "python3");

    private static void requirePyarrow() throws Exception {
        assumeTrue(run(PYTHON, "-c", "import pyarrow, numpy").exit == 0,
                PYTHON + " with pyarrow and numpy is not available here (set IMPRINT_TEST_PYTHON, as .ci/run does), "
                        + "so this check of pyarrow compatibility cannot run");
    }

    @Test
    void filesPyarrowWritesFromNumpyDefaultsArePutAndScoredAsTheirValues() throws Exception {
        requirePyarrow();
        Path script = dir.resolve("write_numpy_files.py");
        try (InputStream in = getClass().getResourceAsStream("write_numpy_files.py")) {
            Files.copy(in, script);
        }
        int p = 6;
        int d = 9;
        Result written = run(PYTHON, script.toString(), dir.toString(), Integer.toString(p), Integer.toString(d));
        assertEquals(0, written.exit, written.output);
        try (BufferAllocator allocator = new RootAllocator()) {
            // The reference has no checksum or creation time, int64 probes and float64 values.
            ReferenceFile.Contents ref = ReferenceFile.readInput(allocator, dir.resolve("reference.arrow"));
            assertArrayEquals(npyFloats(dir.resolve("reference.npy"), p * d), ref.reference().rows());
            try (SuspectTable.Reader suspects = SuspectTable.open(allocator, dir.resolve("suspects.arrow"), p)) {
                SuspectTable.SuspectRows s1 = suspects.next();
                assertEquals("s1", s1.modelId());
                assertArrayEquals(java.util.stream.IntStream.range(0, p).toArray(), s1.probeIndices());
                assertArrayEquals(npyFloats(dir.resolve("suspect.npy"), p * d), s1.rows());
            }
            // Stored, it gains both, and the store's strict reader takes it back.
            Path dataDir = dir.resolve("data");
            try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
                store.saveProbeSet(ref.probeSet());
                store.saveReference(new Reference(new dev.imprint.core.ReferenceMeta(ref.probeSet().id(),
                        "from-numpy", ref.reference().meta().labels(), p, d, System.currentTimeMillis(),
                        dev.imprint.core.ReferenceRole.PROTECTED), ref.reference().rows()));
            }
            ReferenceFile.Contents stored = ReferenceFile.read(allocator, dataDir.resolve("py/refs/from-numpy.arrow"),
                    "stored");
            assertArrayEquals(ref.reference().rows(), stored.reference().rows());
        }
    }

    /** The float32 payload of a .npy file numpy wrote (little-endian, C order, after its header). */
    private static float[] npyFloats(Path npy, int count) throws IOException {
        byte[] bytes = Files.readAllBytes(npy);
        int headerLength = (bytes[8] & 0xff) | (bytes[9] & 0xff) << 8;
        float[] out = new float[count];
        java.nio.ByteBuffer.wrap(bytes, 10 + headerLength, count * Float.BYTES)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    @Test
    void pyarrowReadsAStoreFileAndRecomputesItsChecksum() throws Exception {
        requirePyarrow();
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

        Result result = run(PYTHON, script.toString(), dataDir.resolve("ps/refs/model-x.arrow").toString(),
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
