package dev.imprint.io;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.testing.TestFingerprints;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Map;

/** Seeded generators of valid probe sets and fingerprints for the io and store tests. */
public final class Fingerprints {
    private Fingerprints() {}

    public static ProbeSet distributionSet(String id, int numProbes, int dim) {
        return new ProbeSet(id, numProbes, dim, ProbeSetKind.DISTRIBUTION, 1e-6, "test set " + id);
    }

    public static ProbeSet embeddingSet(String id, int numProbes, int dim) {
        return new ProbeSet(id, numProbes, dim, ProbeSetKind.EMBEDDING, 0, "");
    }

    /** numProbes × dim valid rows for {@code set}'s kind, from the shared seeded generator. */
    public static float[] rows(ProbeSet set, long seed) {
        return new TestFingerprints(seed).rows(set.kind(), set.numProbes(), set.dim());
    }

    public static Reference reference(ProbeSet set, String modelId, Map<String, String> labels, long seed) {
        ReferenceMeta meta = new ReferenceMeta(set.id(), modelId, labels, set.numProbes(), set.dim(),
                1_700_000_000_000L + seed);
        return new Reference(meta, rows(set, seed));
    }

    /** {@code values} as float32 little-endian bytes, the way Arrow stores them. */
    public static byte[] littleEndian(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    /** Where {@code needle} first occurs in {@code haystack}, or -1. */
    public static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        return -1;
    }

    /** Where {@code needle} last occurs in {@code haystack}, or -1. */
    public static int lastIndexOf(byte[] haystack, byte[] needle) {
        for (int i = haystack.length - needle.length; i >= 0; i--) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        return -1;
    }
}
