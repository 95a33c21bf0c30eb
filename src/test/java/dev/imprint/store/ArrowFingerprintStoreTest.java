package dev.imprint.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.io.Fingerprints;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
