package dev.imprint.testing;

import dev.imprint.core.ProbeSet;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.SuspectBatch;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * References held by one backend's resident set, with their rows kept beside it for the float64
 * oracle: what the backends' bf16 tests put, remove and score.
 *
 * @param <R> the resident set's type, for a test that asks it for more than the interface does
 */
public final class HeldReferences<R extends ResidentReferences> implements AutoCloseable {
    public final Map<String, float[]> rows = new LinkedHashMap<>();
    public final List<String> ids = new ArrayList<>();
    public final ProbeSet set;
    public final R resident;

    /** {@code count} generated references, m0.., held by {@code resident}, a set of {@code set}. */
    public HeldReferences(ProbeSet set, R resident, TestFingerprints gen, int count) {
        this.set = set;
        this.resident = resident;
        for (int i = 0; i < count; i++) {
            put("m" + i, gen.rows(set.kind(), set.numProbes(), set.dim()));
        }
    }

    /** The references of {@code source}, in its order, held by {@code resident}. */
    public HeldReferences(HeldReferences<?> source, R resident) {
        this(source.set, resident, null, 0);
        source.rows.forEach(this::put);
    }

    public void put(String id, float[] r) {
        resident.put(id, r);
        if (rows.put(id, r) == null) {
            ids.add(id);
        }
    }

    public void remove(String id) {
        resident.remove(id);
        rows.remove(id);
        ids.remove(id);
    }

    /** COSINE within {@link Bf16Oracle}'s bound of the oracle's. */
    public void assertWithinBound(SuspectBatch batch, List<String> modelIds, boolean perProbe) {
        assertWithin(batch, modelIds, perProbe, Bf16Oracle.ROUNDING);
    }

    /** COSINE within {@code rounding} of the oracle's (see {@link Bf16Oracle#assertWithin}). */
    public void assertWithin(SuspectBatch batch, List<String> modelIds, boolean perProbe, double rounding) {
        Bf16Oracle.assertWithin(set, resident, rows, batch, modelIds, perProbe, rounding);
    }

    @Override
    public void close() {
        resident.close();
    }
}
