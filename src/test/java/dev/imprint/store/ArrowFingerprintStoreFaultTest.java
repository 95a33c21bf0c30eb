package dev.imprint.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.io.Fingerprints;
import dev.imprint.io.ReferenceFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntUnaryOperator;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Plants damage in a populated data directory and checks that load sets aside exactly the damaged
 * files, says why, and loads everything else bit for bit.
 */
class ArrowFingerprintStoreFaultTest {
    @TempDir
    Path dataDir;

    private final ProbeSet alpha = Fingerprints.distributionSet("alpha", 6, 10);
    private final ProbeSet beta = Fingerprints.embeddingSet("beta", 4, 8);
    /** Every reference saved by {@link #populate}, keyed "set/model". */
    private final Map<String, Reference> saved = new LinkedHashMap<>();

    @BeforeEach
    void populate() {
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(alpha);
            store.saveProbeSet(beta);
            for (int i = 0; i < 4; i++) {
                save(store, Fingerprints.reference(alpha, "r" + i, Map.of("family", "fam-" + i), 100 + i));
            }
            for (int i = 0; i < 2; i++) {
                save(store, Fingerprints.reference(beta, "e" + i, Map.of(), 200 + i));
            }
        }
    }

    static Stream<Arguments> cutPoints() {
        return Stream.of(
                Arguments.of("empty", (IntUnaryOperator) len -> 0),
                Arguments.of("first byte", (IntUnaryOperator) len -> 1),
                Arguments.of("magic only", (IntUnaryOperator) len -> 8),
                Arguments.of("inside the schema", (IntUnaryOperator) len -> 100),
                Arguments.of("half", (IntUnaryOperator) len -> len / 2),
                Arguments.of("footer cut", (IntUnaryOperator) len -> len - 300),
                Arguments.of("no trailing magic", (IntUnaryOperator) len -> len - 6),
                Arguments.of("last byte missing", (IntUnaryOperator) len -> len - 1));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cutPoints")
    void truncatedReferenceIsSetAsideAndEverythingElseLoads(String name, IntUnaryOperator cut) throws IOException {
        Path file = refFile("alpha", "r2");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, cut.applyAsInt(bytes.length)));

        ArrowFingerprintStoreTest.Recorder loaded = new ArrowFingerprintStoreTest.Recorder();
        LoadReport report = load(loaded);

        assertEquals(1, report.quarantined().size(), report.quarantined().toString());
        assertTrue(report.quarantined().get(0).startsWith("alpha/refs/r2.arrow: "), report.quarantined().get(0));
        assertTrue(report.quarantined().get(0).endsWith("(moved to alpha/refs/r2.arrow.corrupt)"),
                report.quarantined().get(0));
        assertLoadedAllBut(loaded, "alpha/r2");
        assertFalse(Files.exists(file));
        assertArrayEquals(Arrays.copyOf(bytes, cut.applyAsInt(bytes.length)),
                Files.readAllBytes(file.resolveSibling("r2.arrow.corrupt")));
    }

    @Test
    void bitFlipInValuesFailsTheChecksum() throws IOException {
        Path file = refFile("beta", "e1");
        byte[] bytes = Files.readAllBytes(file);
        int at = Fingerprints.indexOf(bytes, Fingerprints.littleEndian(Arrays.copyOfRange(saved.get("beta/e1").rows(), 5, 7)));
        assertTrue(at > 0);
        bytes[at + 2] ^= 0x10;
        Files.write(file, bytes);

        ArrowFingerprintStoreTest.Recorder loaded = new ArrowFingerprintStoreTest.Recorder();
        LoadReport report = load(loaded);

        assertEquals(1, report.quarantined().size(), report.quarantined().toString());
        assertTrue(report.quarantined().get(0).startsWith("beta/refs/e1.arrow: checksum mismatch: metadata imprint.checksum=crc32c:"),
                report.quarantined().get(0));
        assertLoadedAllBut(loaded, "beta/e1");
    }

    @Test
    void bitFlipInALabelFailsTheChecksum() throws IOException {
        Path file = refFile("alpha", "r1");
        byte[] bytes = Files.readAllBytes(file);
        // Readers take the schema from the footer, the last copy of the label in the file.
        int at = Fingerprints.lastIndexOf(bytes, "fam-1".getBytes(StandardCharsets.UTF_8));
        bytes[at + 4] ^= 0x02;
        Files.write(file, bytes);

        ArrowFingerprintStoreTest.Recorder loaded = new ArrowFingerprintStoreTest.Recorder();
        LoadReport report = load(loaded);

        assertEquals(List.of("alpha/refs/r1.arrow: checksum mismatch"), report.quarantined().stream()
                .map(q -> q.substring(0, q.indexOf(": metadata"))).toList());
        assertLoadedAllBut(loaded, "alpha/r1");
    }

    @Test
    void halfWrittenTemporariesAndInterruptedCreatesAndDeletesAreCleanedUp() throws IOException {
        byte[] valid = Files.readAllBytes(refFile("alpha", "r0"));
        Files.write(dataDir.resolve("alpha/refs/r9.arrow.5eed.tmp"), Arrays.copyOf(valid, valid.length / 3));
        Files.write(dataDir.resolve("beta/probe-set.arrow.77.tmp"), new byte[0]);
        Path interruptedDelete = Files.createDirectories(dataDir.resolve("gamma~deleting/refs"));
        Files.write(interruptedDelete.resolve("x.arrow"), valid);
        Path interruptedCreate = Files.createDirectories(dataDir.resolve("delta/refs"));
        Files.write(interruptedCreate.getParent().resolve("probe-set.arrow.1.tmp"), Arrays.copyOf(valid, 10));

        ArrowFingerprintStoreTest.Recorder loaded = new ArrowFingerprintStoreTest.Recorder();
        LoadReport report = load(loaded);

        assertEquals(List.of(), report.quarantined());
        assertEquals(5, report.removedTemporaries(), "3 temporaries, 1 interrupted delete, 1 interrupted create");
        assertLoadedAllBut(loaded);
        assertFalse(Files.exists(dataDir.resolve("gamma~deleting")));
        assertFalse(Files.exists(dataDir.resolve("delta")));
        assertEquals(List.of(), leftovers(".tmp"));
    }

    @Test
    void garbageAndEmptyReferenceFilesAreSetAsideWhileOtherFilesAreLeftAlone() throws IOException {
        byte[] garbage = new byte[4096];
        new SplittableRandom(9).nextBytes(garbage);
        Files.write(dataDir.resolve("alpha/refs/junk.arrow"), garbage);
        Files.write(dataDir.resolve("alpha/refs/empty.arrow"), new byte[0]);
        Files.writeString(dataDir.resolve("alpha/refs/notes.txt"), "kept");

        ArrowFingerprintStoreTest.Recorder loaded = new ArrowFingerprintStoreTest.Recorder();
        LoadReport report = load(loaded);

        assertEquals(2, report.quarantined().size(), report.quarantined().toString());
        assertTrue(report.quarantined().get(0).startsWith("alpha/refs/empty.arrow: not a readable Arrow IPC file"),
                report.quarantined().get(0));
        assertTrue(report.quarantined().get(1).startsWith("alpha/refs/junk.arrow: not a readable Arrow IPC file"),
                report.quarantined().get(1));
        assertLoadedAllBut(loaded);
        assertEquals("kept", Files.readString(dataDir.resolve("alpha/refs/notes.txt")));
    }

    @Test
    void referencesWhoseProbeSetFileIsMissingAreSetAside() throws IOException {
        Files.delete(dataDir.resolve("beta/probe-set.arrow"));

        ArrowFingerprintStoreTest.Recorder loaded = new ArrowFingerprintStoreTest.Recorder();
        LoadReport report = load(loaded);

        assertEquals(List.of(
                "beta/refs/e0.arrow: its probe set file beta/probe-set.arrow is missing (moved to beta/refs/e0.arrow.corrupt)",
                "beta/refs/e1.arrow: its probe set file beta/probe-set.arrow is missing (moved to beta/refs/e1.arrow.corrupt)"),
                report.quarantined());
        assertEquals(List.of("alpha"), List.copyOf(loaded.sets.keySet()));
        assertLoadedAllBut(loaded, "beta/e0", "beta/e1");
    }

    @Test
    void corruptProbeSetFileIsSetAsideWithItsReferences() throws IOException {
        Path file = dataDir.resolve("alpha/probe-set.arrow");
        byte[] bytes = Files.readAllBytes(file);
        int at = Fingerprints.lastIndexOf(bytes, "DISTRIBUTION".getBytes(StandardCharsets.US_ASCII));
        bytes[at] ^= 0x01;
        Files.write(file, bytes);

        ArrowFingerprintStoreTest.Recorder loaded = new ArrowFingerprintStoreTest.Recorder();
        LoadReport report = load(loaded);

        assertEquals(5, report.quarantined().size(), report.quarantined().toString());
        assertTrue(report.quarantined().get(0).startsWith("alpha/probe-set.arrow: "), report.quarantined().get(0));
        for (int i = 0; i < 4; i++) {
            assertTrue(report.quarantined().get(i + 1).startsWith(
                    "alpha/refs/r" + i + ".arrow: its probe set file alpha/probe-set.arrow is corrupt"));
        }
        assertEquals(List.of("beta"), List.copyOf(loaded.sets.keySet()));
        assertLoadedAllBut(loaded, "alpha/r0", "alpha/r1", "alpha/r2", "alpha/r3");
    }

    @Test
    void referenceWrittenForOtherDimsIsSetAside() throws IOException {
        ProbeSet wider = Fingerprints.distributionSet("alpha", 6, 11);
        try (BufferAllocator allocator = new RootAllocator()) {
            ReferenceFile.write(allocator, dataDir.resolve("alpha/refs/wide.arrow"), wider,
                    Fingerprints.reference(wider, "wide", Map.of(), 5));
        }

        ArrowFingerprintStoreTest.Recorder loaded = new ArrowFingerprintStoreTest.Recorder();
        LoadReport report = load(loaded);

        assertEquals(List.of("alpha/refs/wide.arrow: written for probe set alpha (num_probes=6, dim=11, "
                + "kind=DISTRIBUTION, smoothing_epsilon=1.0E-6) but the stored probe set is alpha (num_probes=6, "
                + "dim=10, kind=DISTRIBUTION, smoothing_epsilon=1.0E-6) (moved to alpha/refs/wide.arrow.corrupt)"),
                report.quarantined());
        assertLoadedAllBut(loaded);
    }

    @Test
    void referenceFiledUnderAnotherModelsNameIsSetAside() throws IOException {
        Files.copy(refFile("alpha", "r0"), refFile("alpha", "r7"));

        ArrowFingerprintStoreTest.Recorder loaded = new ArrowFingerprintStoreTest.Recorder();
        LoadReport report = load(loaded);

        assertEquals(1, report.quarantined().size());
        assertTrue(report.quarantined().get(0).startsWith("alpha/refs/r7.arrow: holds model r0"));
        assertLoadedAllBut(loaded);
    }

    @Test
    void aSetAsideFileIsReportedOnceAndNeverOverwritten() throws IOException {
        Path file = refFile("alpha", "r3");
        Files.write(file, new byte[] {1, 2, 3});
        assertEquals(1, load(new ArrowFingerprintStoreTest.Recorder()).quarantined().size());

        ArrowFingerprintStoreTest.Recorder again = new ArrowFingerprintStoreTest.Recorder();
        assertEquals(List.of(), load(again).quarantined());
        assertLoadedAllBut(again, "alpha/r3");

        Files.write(file, new byte[] {4, 5});
        List<String> second = load(new ArrowFingerprintStoreTest.Recorder()).quarantined();
        assertTrue(second.get(0).endsWith("(moved to alpha/refs/r3.arrow.corrupt.2)"), second.toString());
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(file.resolveSibling("r3.arrow.corrupt")));
        assertArrayEquals(new byte[] {4, 5}, Files.readAllBytes(file.resolveSibling("r3.arrow.corrupt.2")));
    }

    private void save(ArrowFingerprintStore store, Reference reference) {
        store.saveReference(reference);
        saved.put(reference.meta().probeSetId() + "/" + reference.meta().modelId(), reference);
    }

    private LoadReport load(ArrowFingerprintStoreTest.Recorder recorder) {
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            return store.load(recorder);
        }
    }

    /** Asserts that exactly the saved references except {@code missing} were loaded, bit for bit. */
    private void assertLoadedAllBut(ArrowFingerprintStoreTest.Recorder loaded, String... missing) {
        Map<String, Reference> expected = new LinkedHashMap<>(saved);
        for (String key : missing) {
            expected.remove(key);
        }
        assertEquals(expected.keySet(), loaded.refs.keySet());
        for (Map.Entry<String, Reference> e : expected.entrySet()) {
            Reference back = loaded.refs.get(e.getKey());
            assertEquals(e.getValue().meta(), back.meta());
            assertArrayEquals(e.getValue().rows(), back.rows(), e.getKey());
        }
    }

    private Path refFile(String set, String model) {
        return dataDir.resolve(set).resolve("refs").resolve(model + ".arrow");
    }

    private List<Path> leftovers(String suffix) throws IOException {
        try (Stream<Path> walk = Files.walk(dataDir)) {
            return walk.filter(p -> p.getFileName().toString().endsWith(suffix)).toList();
        }
    }
}
