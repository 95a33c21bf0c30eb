package dev.imprint.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.junit.jupiter.api.Test;

class ReferenceFileTest extends ArrowFileTestBase {
    @Test
    void roundTripsDefinitionLabelsAndRowsBitForBit() throws IOException {
        ProbeSet set = Fingerprints.distributionSet("ps-1", 9, 17);
        Reference ref = Fingerprints.reference(set, "model:a.1",
                Map.of("family", "llama", "note", "naïve, \"quoted\"\nline", "empty", ""), 3);
        Path file = dir.resolve("a.arrow");
        ReferenceFile.write(allocator, file, set, ref);

        ReferenceFile.Contents back = ReferenceFile.read(allocator, file);

        assertEquals(set, back.probeSet());
        assertEquals(ref.meta(), back.reference().meta());
        assertArrayEquals(ref.rows(), back.reference().rows());
    }

    @Test
    void splitsLargeReferencesIntoSeveralRecordBatchesAndReadsThemBack() throws IOException {
        int dim = 4096;
        int numProbes = FingerprintCodec.TARGET_BATCH_BYTES / (4 * dim) * 2 + 3;
        ProbeSet set = Fingerprints.embeddingSet("big", numProbes, dim);
        Reference ref = Fingerprints.reference(set, "m", Map.of(), 11);
        Path file = dir.resolve("big.arrow");
        ReferenceFile.write(allocator, file, set, ref);

        try (FileChannel ch = FileChannel.open(file); ArrowFileReader reader = new ArrowFileReader(ch, allocator)) {
            assertEquals(3, reader.getRecordBlocks().size());
        }
        assertArrayEquals(ref.rows(), ReferenceFile.read(allocator, file).reference().rows());
    }

    @Test
    void checksumIsCrc32cOfSortedMetadataThenLittleEndianValuesAsDocumented() throws IOException {
        ProbeSet set = Fingerprints.distributionSet("ps", 4, 6);
        Reference ref = Fingerprints.reference(set, "m", Map.of("zeta", "1", "alpha", "é"), 5);
        Path file = dir.resolve("m.arrow");
        ReferenceFile.write(allocator, file, set, ref);

        Map<String, String> metadata = schemaMetadata(file);
        CRC32C crc = new CRC32C();
        TreeMap<String, String> sorted = new TreeMap<>(metadata);
        sorted.remove(FingerprintSchema.KEY_CHECKSUM);
        for (Map.Entry<String, String> e : sorted.entrySet()) {
            for (String part : new String[] {e.getKey(), e.getValue()}) {
                byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
                crc.update(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length).array());
                crc.update(bytes);
            }
        }
        ByteBuffer values = ByteBuffer.allocate(ref.rows().length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : ref.rows()) {
            values.putFloat(v);
        }
        crc.update(values.array());

        assertEquals(String.format("crc32c:%08x", crc.getValue()), metadata.get(FingerprintSchema.KEY_CHECKSUM));
        assertEquals("ps", metadata.get("imprint.probe_set_id"));
        assertEquals("DISTRIBUTION", metadata.get("imprint.kind"));
        assertEquals("4", metadata.get("imprint.num_probes"));
        assertEquals("6", metadata.get("imprint.dim"));
        assertEquals(1e-6, Double.parseDouble(metadata.get("imprint.smoothing_epsilon")));
        assertEquals("é", metadata.get("imprint.label.alpha"));
        assertEquals("m", metadata.get("imprint.model_id"));
        assertEquals(ReferenceFile.FORMAT, metadata.get("imprint.format"));
    }

    @Test
    void everySingleBitFlipIsEitherRejectedOrHarmlessAndEveryValueFlipIsRejected() throws IOException {
        ProbeSet set = Fingerprints.distributionSet("ps", 3, 4);
        Reference ref = Fingerprints.reference(set, "m", Map.of("family", "x"), 8);
        Path file = dir.resolve("m.arrow");
        ReferenceFile.write(allocator, file, set, ref);
        byte[] original = Files.readAllBytes(file);
        int valuesAt = Fingerprints.indexOf(original, Fingerprints.littleEndian(Arrays.copyOf(ref.rows(), 2)));
        assertTrue(valuesAt > 0, "values not found in the file");
        int valuesEnd = valuesAt + ref.rows().length * 4;

        Path flipped = dir.resolve("flipped.arrow");
        int rejected = 0;
        int tried = 0;
        for (int i = 0; i < original.length; i++) {
            // Every byte of the values and of the last 256 (footer and its schema), every third elsewhere.
            if (i % 3 != 0 && (i < valuesAt || i >= valuesEnd) && i < original.length - 256) {
                continue;
            }
            tried++;
            byte[] copy = original.clone();
            copy[i] ^= (byte) (1 << (i % 8));
            Files.write(flipped, copy);
            try {
                ReferenceFile.Contents back = ReferenceFile.read(allocator, flipped);
                assertTrue(i < valuesAt || i >= valuesEnd, "flip in values at byte " + i + " went unnoticed");
                assertEquals(set, back.probeSet(), "flip at byte " + i);
                assertEquals(ref.meta(), back.reference().meta(), "flip at byte " + i);
                assertArrayEquals(ref.rows(), back.reference().rows(), "flip at byte " + i);
            } catch (ImprintException e) {
                assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code(), e.getMessage());
                assertTrue(e.getMessage().startsWith(flipped.toString() + ": "), e.getMessage());
                rejected++;
            }
        }
        assertTrue(rejected > tried / 4, "only " + rejected + " of " + tried + " flips rejected");
    }

    @Test
    void rejectsTruncatedFilesAtManyCutPoints() throws IOException {
        ProbeSet set = Fingerprints.embeddingSet("ps", 5, 3);
        Path file = dir.resolve("m.arrow");
        ReferenceFile.write(allocator, file, set, Fingerprints.reference(set, "m", Map.of(), 1));
        byte[] original = Files.readAllBytes(file);
        Path cut = dir.resolve("cut.arrow");
        for (int length = 0; length < original.length; length += length < 64 || length > original.length - 64 ? 1 : 11) {
            Files.write(cut, Arrays.copyOf(original, length));
            ImprintException e = assertThrows(ImprintException.class, () -> ReferenceFile.read(allocator, cut),
                    "cut at " + length);
            assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
        }
    }

    @Test
    void reportsAMissingFileAsNotFound() {
        ImprintException e = assertThrows(ImprintException.class,
                () -> ReferenceFile.read(allocator, dir.resolve("nope.arrow")));
        assertEquals(ImprintException.Code.NOT_FOUND, e.code());
        assertTrue(e.getMessage().contains("nope.arrow"), e.getMessage());
    }

    @Test
    void rejectsGarbageNamingTheFile() throws IOException {
        Path file = dir.resolve("garbage.arrow");
        byte[] garbage = new byte[300];
        new SplittableRandom(4).nextBytes(garbage);
        Files.write(file, garbage);
        ImprintException e = assertThrows(ImprintException.class, () -> ReferenceFile.read(allocator, file));
        assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().startsWith(file + ": not a readable Arrow IPC file"), e.getMessage());
    }

    /**
     * Found by FileReadersFuzzTest (probeSetFile): a damaged offset in the footer's schema makes a
     * field its own descendant, and Arrow's schema parsing recursed until the stack overflowed, an
     * Error that no reader caught. Every reader refuses it now, leaking nothing.
     */
    @Test
    void everyReaderRefusesASchemaWhoseFieldsNestInALoop() throws Exception {
        Path file = dir.resolve("loop.arrow");
        try (var in = getClass().getResourceAsStream(
                "/dev/imprint/fuzz/FileReadersFuzzTestInputs/probeSetFile/schema-fields-nest-in-a-loop")) {
            Files.write(file, in.readAllBytes());
        }
        List<org.junit.jupiter.api.function.Executable> reads = List.of(
                () -> ProbeSetFile.read(allocator, file, file.toString()),
                () -> ReferenceFile.read(allocator, file),
                () -> ReferenceFile.readInput(allocator, file),
                () -> ResultTable.readAll(allocator, file),
                () -> {
                    try (SuspectTable.Reader reader = SuspectTable.open(allocator, file, 10)) {
                        reader.next();
                    }
                });
        for (var read : reads) {
            ImprintException e = assertThrows(ImprintException.class, read);
            assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
            assertTrue(e.getMessage().startsWith(file + ": not a readable Arrow IPC "), e.getMessage());
            assertTrue(e.getMessage().endsWith("(its schema nests too deeply or refers to itself)"), e.getMessage());
        }
    }

    @Test
    void rejectsAProbeSetFileReadAsAReference() throws IOException {
        Path file = dir.resolve("probe-set.arrow");
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ProbeSetFile.write(allocator, out, Fingerprints.embeddingSet("ps", 2, 2));
        }
        ImprintException e = assertThrows(ImprintException.class, () -> ReferenceFile.read(allocator, file));
        assertTrue(e.getMessage().contains("imprint.format='imprint-probe-set'; expected 'imprint-reference'"),
                e.getMessage());
    }

    @Test
    void rejectsValuesWhoseListSizeDisagreesWithTheDeclaredDim() throws IOException {
        ProbeSet set = Fingerprints.embeddingSet("ps", 2, 3);
        Map<String, String> metadata = referenceMetadata(set);
        metadata.put(FingerprintSchema.KEY_DIM, "4");
        Path file = writeRaw(metadata, 3, new int[] {0, 1}, Fingerprints.rows(set, 1));
        ImprintException e = assertThrows(ImprintException.class, () -> ReferenceFile.read(allocator, file));
        assertTrue(e.getMessage().contains("column values has list size 3 but metadata imprint.dim=4"), e.getMessage());
    }

    @Test
    void anInputFileMayLackChecksumAndCreationTimeButAStoredOneMayNot() throws IOException {
        ProbeSet set = Fingerprints.embeddingSet("ps", 3, 2);
        Map<String, String> plain = referenceMetadata(set);
        plain.remove(FingerprintSchema.KEY_CHECKSUM);
        plain.remove(FingerprintSchema.KEY_CREATED_UNIX_MS);
        float[] rows = Fingerprints.rows(set, 1);
        Path file = writeRaw(plain, 2, new int[] {0, 1, 2}, rows);
        ReferenceFile.Contents input = ReferenceFile.readInput(allocator, file);
        assertArrayEquals(rows, input.reference().rows());
        assertEquals(0, input.reference().meta().createdUnixMs());
        ImprintException stored = assertThrows(ImprintException.class, () -> ReferenceFile.read(allocator, file));
        assertTrue(stored.getMessage().contains("imprint.checksum"), stored.getMessage());

        // A checksum that is there is verified on input too.
        Path wrong = writeRaw(referenceMetadata(set), 2, new int[] {0, 1, 2}, rows);
        ImprintException mismatch = assertThrows(ImprintException.class, () -> ReferenceFile.readInput(allocator, wrong));
        assertTrue(mismatch.getMessage().contains("checksum mismatch"), mismatch.getMessage());
    }

    @Test
    void rejectsRowsThatDoNotListProbesInOrder() throws IOException {
        ProbeSet set = Fingerprints.embeddingSet("ps", 3, 2);
        Path file = writeRaw(referenceMetadata(set), 2, new int[] {0, 2, 1}, Fingerprints.rows(set, 1));
        ImprintException e = assertThrows(ImprintException.class, () -> ReferenceFile.read(allocator, file));
        assertTrue(e.getMessage().contains("row 1 has probe=2; expected 1"), e.getMessage());
    }

    @Test
    void rejectsAFileWithFewerRowsThanNumProbes() throws IOException {
        ProbeSet set = Fingerprints.embeddingSet("ps", 3, 2);
        Path file = writeRaw(referenceMetadata(set), 2, new int[] {0, 1}, Arrays.copyOf(Fingerprints.rows(set, 1), 4));
        ImprintException e = assertThrows(ImprintException.class, () -> ReferenceFile.read(allocator, file));
        assertTrue(e.getMessage().contains("has 2 rows; expected 3"), e.getMessage());
    }

    @Test
    void rejectsAnUnknownFormatVersion() throws IOException {
        ProbeSet set = Fingerprints.embeddingSet("ps", 1, 2);
        Map<String, String> metadata = referenceMetadata(set);
        metadata.put(FingerprintSchema.KEY_FORMAT_VERSION, "99");
        Path file = writeRaw(metadata, 2, new int[] {0}, Fingerprints.rows(set, 1));
        ImprintException e = assertThrows(ImprintException.class, () -> ReferenceFile.read(allocator, file));
        assertTrue(e.getMessage().contains("imprint.format_version='99'"), e.getMessage());
    }

    @Test
    void refusesToWriteAReferenceOfAnotherShape() {
        ProbeSet set = Fingerprints.embeddingSet("ps", 2, 3);
        Reference other = Fingerprints.reference(Fingerprints.embeddingSet("ps", 2, 4), "m", Map.of(), 1);
        ImprintException e = assertThrows(ImprintException.class,
                () -> ReferenceFile.write(allocator, dir.resolve("x.arrow"), set, other));
        assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
    }

    private Map<String, String> referenceMetadata(ProbeSet set) {
        Map<String, String> m = new TreeMap<>(FingerprintSchema.probeSetMetadata(set));
        m.put(FingerprintSchema.KEY_FORMAT, ReferenceFile.FORMAT);
        m.put(FingerprintSchema.KEY_FORMAT_VERSION, FingerprintSchema.FORMAT_VERSION);
        m.put(FingerprintSchema.KEY_MODEL_ID, "m");
        m.put(FingerprintSchema.KEY_CREATED_UNIX_MS, "0");
        m.put(FingerprintSchema.KEY_CHECKSUM, "crc32c:00000000");
        return m;
    }

    /** Writes an Arrow file with the reference columns and arbitrary metadata, probes and values. */
    private Path writeRaw(Map<String, String> metadata, int dim, int[] probes, float[] values) throws IOException {
        Path file = dir.resolve("raw.arrow");
        try (VectorSchemaRoot root = VectorSchemaRoot.create(FingerprintSchema.referenceSchema(dim, metadata), allocator);
             FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING);
             ArrowFileWriter writer = new ArrowFileWriter(root, null, out)) {
            IntVector probe = (IntVector) root.getVector(FingerprintSchema.PROBE);
            probe.allocateNew(probes.length);
            for (int i = 0; i < probes.length; i++) {
                probe.set(i, probes[i]);
            }
            FingerprintCodec.fillValues((FixedSizeListVector) root.getVector(FingerprintSchema.VALUES), probes.length,
                    dim, values, 0);
            root.setRowCount(probes.length);
            writer.start();
            writer.writeBatch();
            writer.end();
        }
        return file;
    }

    private Map<String, String> schemaMetadata(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file); ArrowFileReader reader = new ArrowFileReader(ch, allocator)) {
            return reader.getVectorSchemaRoot().getSchema().getCustomMetadata();
        }
    }
}
