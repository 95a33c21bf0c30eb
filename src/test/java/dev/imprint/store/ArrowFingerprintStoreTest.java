package dev.imprint.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Reference;
import dev.imprint.io.Fingerprints;
import dev.imprint.io.ReferenceFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArrowFingerprintStoreTest {
    @TempDir
    Path dataDir;

    @Test
    void restartRestoresEveryProbeSetAndReferenceExactly() {
        ProbeSet dist = Fingerprints.distributionSet("ps.dist", 7, 13);
        ProbeSet emb = Fingerprints.embeddingSet("ps:emb", 3, 5);
        List<Reference> saved = new ArrayList<>();
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(dist);
            store.saveProbeSet(emb);
            for (int i = 0; i < 3; i++) {
                Reference r = Fingerprints.reference(dist, "m-" + i, Map.of("family", "f" + i % 2), i);
                store.saveReference(r);
                saved.add(r);
            }
            Reference e = Fingerprints.reference(emb, "emb-1", Map.of(), 42);
            store.saveReference(e);
            saved.add(e);
        }
        Recorder loaded = new Recorder();
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            LoadReport report = store.load(loaded);
            assertEquals(2, report.probeSets());
            assertEquals(4, report.references());
            assertTrue(report.quarantined().isEmpty(), report.quarantined().toString());
        }
        assertEquals(List.of(dist, emb), List.copyOf(loaded.sets.values()));
        for (Reference r : saved) {
            Reference back = loaded.refs.get(r.meta().probeSetId() + "/" + r.meta().modelId());
            assertEquals(r.meta(), back.meta());
            assertArrayEquals(r.rows(), back.rows());
        }
    }

    @Test
    void readOnlyLoadsOneProbeSetWhileAnotherStoreHoldsTheDirectoryAndChangesNothing() throws IOException {
        ProbeSet set = Fingerprints.distributionSet("ps", 3, 5);
        ProbeSet other = Fingerprints.embeddingSet("other", 2, 3);
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(set);
            store.saveProbeSet(other);
            store.saveReference(Fingerprints.reference(set, "b", Map.of(), 1));
            store.saveReference(Fingerprints.reference(set, "a", Map.of("family", "f"), 2));
            store.saveReference(Fingerprints.reference(other, "x", Map.of(), 3));
            Path leftover = Files.writeString(dataDir.resolve("ps/refs/c.arrow.0123abcd.tmp"), "half");
            List<String> before = listing();

            Recorder loaded = new Recorder();
            LoadReport report = ArrowFingerprintStore.readOnly(dataDir, "ps", loaded);
            assertEquals(2, report.references());
            assertEquals(List.of(set), List.copyOf(loaded.sets.values()));
            assertEquals(List.of("ps/a", "ps/b"), List.copyOf(loaded.refs.keySet()), "the order load visits them in");
            assertEquals(before, listing(), "nothing is removed, locked anew or set aside");
            assertTrue(Files.exists(leftover));

            Files.write(dataDir.resolve("ps/refs/b.arrow"), new byte[] {1, 2, 3});
            ImprintException damaged = assertThrows(ImprintException.class,
                    () -> ArrowFingerprintStore.readOnly(dataDir, "ps", new Recorder()));
            assertEquals(ImprintException.Code.INVALID_ARGUMENT, damaged.code());
            assertTrue(damaged.getMessage().startsWith(dataDir.resolve("ps/refs/b.arrow").toString()),
                    damaged.getMessage());
            assertTrue(Files.exists(dataDir.resolve("ps/refs/b.arrow")), "a damaged file is not set aside");
            ImprintException missing = assertThrows(ImprintException.class,
                    () -> ArrowFingerprintStore.readOnly(dataDir, "nope", new Recorder()));
            assertEquals(ImprintException.Code.NOT_FOUND, missing.code());
        }
    }

    private List<String> listing() throws IOException {
        try (Stream<Path> files = Files.walk(dataDir)) {
            return files.map(p -> dataDir.relativize(p).toString()).sorted().toList();
        }
    }

    @Test
    void tokensAndTheAuditLogBesideTheProbeSetsAreLeftAlone() throws IOException {
        ProbeSet set = Fingerprints.embeddingSet("ps", 2, 3);
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(set);
        }
        Files.createDirectories(dataDir.resolve("~auth"));
        Files.writeString(dataDir.resolve("~auth/tokens.json"), "{}");
        Files.createDirectories(dataDir.resolve("~audit"));
        Files.writeString(dataDir.resolve("~audit/audit.jsonl"), "{}\n");
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            assertEquals(new LoadReport(1, 0, List.of(), 0), store.load(new Recorder()));
        }
        assertEquals("{}", Files.readString(dataDir.resolve("~auth/tokens.json")));
        assertEquals("{}\n", Files.readString(dataDir.resolve("~audit/audit.jsonl")));
    }

    @Test
    void aProbeSetsTextsSurviveARestartAndADamagedTextIsCaught() throws IOException {
        ProbeSet plain = Fingerprints.distributionSet("texts", 2, 4);
        ProbeSet set = plain.withTexts(new dev.imprint.core.ProbeTexts(List.of(
                dev.imprint.core.Probe.completion("The capital of Peru is"),
                dev.imprint.core.Probe.chat(List.of(new dev.imprint.core.ChatMessage("user", "Name a colour.")))),
                0, 1, dev.imprint.core.VocabularyMode.FIRST_CHARACTER));
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(set);
            store.saveReference(Fingerprints.reference(plain, "m", Map.of(), 3));
        }
        Recorder loaded = reload();
        assertEquals(set, loaded.sets.get("texts"));
        assertEquals(1, loaded.refs.size());

        // The texts are in the checksummed metadata: a changed character is caught, not loaded.
        Path file = dataDir.resolve("texts").resolve(ArrowFingerprintStore.PROBE_SET_FILE);
        byte[] bytes = Files.readAllBytes(file);
        byte[] needle = "Peru".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        // Arrow keeps the schema twice (stream header and footer); change the text in both.
        int changed = 0;
        for (int at = indexOf(bytes, needle, 0); at >= 0; at = indexOf(bytes, needle, at + 1)) {
            bytes[at] = 'Q';
            changed++;
        }
        assertTrue(changed > 0, "the texts are stored in the probe-set file");
        Files.write(file, bytes);
        Recorder after = new Recorder();
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            LoadReport report = store.load(after);
            // The set is set aside, and its reference with it, as for any damaged probe-set file.
            assertEquals(2, report.quarantined().size(), report.toString());
            assertTrue(report.quarantined().get(0).contains("probe-set.arrow: checksum mismatch"),
                    report.quarantined().toString());
        }
        assertTrue(after.sets.isEmpty());
    }

    private static int indexOf(byte[] haystack, byte[] needle, int from) {
        outer:
        for (int i = from; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void replacingAReferenceKeepsOnlyTheNewVersion() {
        ProbeSet set = Fingerprints.embeddingSet("ps", 4, 6);
        Reference second = Fingerprints.reference(set, "m", Map.of("v", "2"), 2);
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(set);
            store.saveReference(Fingerprints.reference(set, "m", Map.of("v", "1"), 1));
            store.saveReference(second);
        }
        Recorder loaded = reload();
        assertEquals(List.of("ps/m"), List.copyOf(loaded.refs.keySet()));
        assertEquals(second.meta(), loaded.refs.get("ps/m").meta());
        assertArrayEquals(second.rows(), loaded.refs.get("ps/m").rows());
    }

    @Test
    void deletedReferencesStayDeletedAndDeletingTwiceIsHarmless() {
        ProbeSet set = Fingerprints.embeddingSet("ps", 2, 3);
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(set);
            store.saveReference(Fingerprints.reference(set, "keep", Map.of(), 1));
            store.saveReference(Fingerprints.reference(set, "drop", Map.of(), 2));
            store.deleteReference("ps", "drop");
            store.deleteReference("ps", "drop");
            store.deleteReference("ps", "never-existed");
        }
        assertEquals(List.of("ps/keep"), List.copyOf(reload().refs.keySet()));
        assertFalse(Files.exists(dataDir.resolve("ps/refs/drop.arrow")));
    }

    @Test
    void deletingAProbeSetRemovesItsDirectoryAndReferences() {
        ProbeSet gone = Fingerprints.embeddingSet("gone", 2, 3);
        ProbeSet kept = Fingerprints.embeddingSet("kept", 2, 3);
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(gone);
            store.saveProbeSet(kept);
            store.saveReference(Fingerprints.reference(gone, "m", Map.of(), 1));
            store.deleteProbeSet("gone");
            store.deleteProbeSet("gone");
        }
        Recorder loaded = reload();
        assertEquals(List.of("kept"), List.copyOf(loaded.sets.keySet()));
        assertEquals(List.of(), List.copyOf(loaded.refs.keySet()));
        assertFalse(Files.exists(dataDir.resolve("gone")));
        assertFalse(Files.exists(dataDir.resolve("gone~deleting")));
    }

    @Test
    void aProbeSetCanBeRecreatedAfterItsDeletion() {
        ProbeSet first = Fingerprints.embeddingSet("ps", 2, 3);
        ProbeSet second = Fingerprints.distributionSet("ps", 5, 7);
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(first);
            store.saveReference(Fingerprints.reference(first, "m", Map.of(), 1));
            store.deleteProbeSet("ps");
            store.saveProbeSet(second);
            store.saveReference(Fingerprints.reference(second, "n", Map.of(), 2));
        }
        Recorder loaded = reload();
        assertEquals(List.of(second), List.copyOf(loaded.sets.values()));
        assertEquals(List.of("ps/n"), List.copyOf(loaded.refs.keySet()));
    }

    @Test
    void savingAProbeSetAgainOverwritesItsRecord() {
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(new ProbeSet("ps", 2, 3, ProbeSetKind.EMBEDDING, 0, "old"));
            store.saveProbeSet(new ProbeSet("ps", 2, 3, ProbeSetKind.EMBEDDING, 0, "new"));
        }
        assertEquals("new", reload().sets.get("ps").description());
    }

    @Test
    void aFailedWriteLeavesThePreviousVersionAndNoTemporary() throws IOException {
        ProbeSet set = Fingerprints.embeddingSet("ps", 2, 3);
        Reference original = Fingerprints.reference(set, "m", Map.of(), 1);
        ProbeSet otherShape = Fingerprints.embeddingSet("ps", 2, 4);
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(set);
            store.saveReference(original);
            ImprintException e = assertThrows(ImprintException.class,
                    () -> store.saveReference(Fingerprints.reference(otherShape, "m", Map.of(), 2)));
            assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
        }
        try (Stream<Path> files = Files.list(dataDir.resolve("ps/refs"))) {
            assertEquals(List.of("m.arrow"), files.map(p -> p.getFileName().toString()).toList());
        }
        assertArrayEquals(original.rows(), reload().refs.get("ps/m").rows());
    }

    @Test
    void savingAReferenceOfAnUnknownProbeSetIsNotFound() {
        ProbeSet set = Fingerprints.embeddingSet("nowhere", 2, 3);
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            ImprintException e = assertThrows(ImprintException.class,
                    () -> store.saveReference(Fingerprints.reference(set, "m", Map.of(), 1)));
            assertEquals(ImprintException.Code.NOT_FOUND, e.code());
        }
    }

    @Test
    void idsThatWouldEscapeTheDataDirectoryAreRefused() {
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            for (String bad : List.of("..", ".", "../x", "a/b", "/etc", "a\\b", "")) {
                assertEquals(ImprintException.Code.INVALID_ARGUMENT,
                        assertThrows(ImprintException.class, () -> store.deleteProbeSet(bad)).code(), bad);
                assertEquals(ImprintException.Code.INVALID_ARGUMENT,
                        assertThrows(ImprintException.class, () -> store.deleteReference("ps", bad)).code(), bad);
            }
        }
    }

    @Test
    void aSecondStoreOnTheSameDirectoryIsRefusedUntilTheFirstCloses() {
        ArrowFingerprintStore first = ArrowFingerprintStore.open(dataDir);
        ImprintException e = assertThrows(ImprintException.class, () -> ArrowFingerprintStore.open(dataDir));
        assertEquals(ImprintException.Code.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains("in use"), e.getMessage());
        first.close();
        first.close();
        ArrowFingerprintStore.open(dataDir).close();
    }

    @Test
    void createsAMissingDataDirectoryAndLoadsNothingFromIt() {
        Path nested = dataDir.resolve("a/b/imprint-data");
        Recorder loaded = new Recorder();
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(nested)) {
            assertEquals(new LoadReport(0, 0, List.of(), 0), store.load(loaded));
            assertEquals(nested.toAbsolutePath().toString(), store.location());
        }
        assertTrue(Files.isDirectory(nested));
    }

    @Test
    void storeFilesAreReferenceExchangeFilesAndWritesLeaveNoTemporaries() throws IOException {
        ProbeSet set = Fingerprints.distributionSet("ps", 3, 4);
        Reference ref = Fingerprints.reference(set, "m", Map.of("family", "x"), 7);
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.saveProbeSet(set);
            store.saveReference(ref);
        }
        try (BufferAllocator allocator = new RootAllocator()) {
            ReferenceFile.Contents contents = ReferenceFile.read(allocator, dataDir.resolve("ps/refs/m.arrow"));
            assertEquals(set, contents.probeSet());
            assertEquals(ref.meta(), contents.reference().meta());
        }
        try (Stream<Path> walk = Files.walk(dataDir)) {
            assertEquals(List.of(), walk.filter(p -> p.toString().endsWith(".tmp")).toList());
        }
    }

    private Recorder reload() {
        Recorder loaded = new Recorder();
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            LoadReport report = store.load(loaded);
            assertEquals(List.of(), report.quarantined());
        }
        return loaded;
    }

    /** Records what a load hands over, checking that each probe set comes before its references. */
    static final class Recorder implements FingerprintStore.LoadVisitor {
        final Map<String, ProbeSet> sets = new LinkedHashMap<>();
        final Map<String, Reference> refs = new LinkedHashMap<>();

        @Override
        public void probeSet(ProbeSet set) {
            sets.put(set.id(), set);
        }

        @Override
        public void reference(Reference reference) {
            assertTrue(sets.containsKey(reference.meta().probeSetId()), "reference before its probe set");
            refs.put(reference.meta().probeSetId() + "/" + reference.meta().modelId(), reference);
        }
    }
}
