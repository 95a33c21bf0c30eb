package dev.imprint.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.ipc.ArrowWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;

class SuspectTableTest extends ArrowFileTestBase {
    @Test
    void streamsSuspectsBackExactlyEvenWhenTheySpanRecordBatches() throws IOException {
        int dim = 16384;
        assertEquals(128, FingerprintCodec.TARGET_BATCH_BYTES / (4 * dim), "the sizes below assume 128 rows a batch");
        int[] sizes = {50, 200, 1, 129, 30};
        SplittableRandom random = new SplittableRandom(17);
        List<SuspectTable.SuspectRows> written = new ArrayList<>();
        Path file = dir.resolve("suspects.arrow");
        try (SuspectTable.Writer writer = new SuspectTable.Writer(allocator, file, "ps-1", dim)) {
            for (int s = 0; s < sizes.length; s++) {
                int[] probes = random.ints(sizes[s], 0, 1000).toArray();
                float[] rows = new float[sizes[s] * dim];
                for (int i = 0; i < rows.length; i++) {
                    rows[i] = (float) random.nextGaussian();
                }
                SuspectTable.SuspectRows suspect = new SuspectTable.SuspectRows("suspect-" + s, probes, rows);
                writer.write(suspect.modelId(), probes, rows);
                written.add(suspect);
            }
        }

        try (SuspectTable.Reader reader = SuspectTable.open(allocator, file, 1000)) {
            assertEquals(dim, reader.dim());
            assertEquals(Optional.of("ps-1"), reader.probeSetId());
            for (SuspectTable.SuspectRows expected : written) {
                SuspectTable.SuspectRows actual = reader.next();
                assertEquals(expected.modelId(), actual.modelId());
                assertArrayEquals(expected.probeIndices(), actual.probeIndices());
                assertArrayEquals(expected.rows(), actual.rows());
            }
            assertNull(reader.next());
            assertNull(reader.next());
        }
    }

    @Test
    void damagedTablesFailWithAnInvalidArgumentAndLeakNothing() throws IOException {
        Path file = dir.resolve("s.arrow");
        try (SuspectTable.Writer writer = new SuspectTable.Writer(allocator, file, "ps", 3)) {
            writer.write("a", new int[] {0, 1}, new float[] {1, 2, 3, 4, 5, 6});
            writer.write("b", new int[] {2}, new float[] {7, 8, 9});
        }
        byte[] original = Files.readAllBytes(file);
        Path damaged = dir.resolve("damaged.arrow");
        for (int i = 0; i < original.length + 40; i += 3) {
            byte[] copy;
            if (i < original.length) {
                copy = original.clone();
                copy[i] ^= (byte) (1 << (i % 8));
            } else {
                copy = Arrays.copyOf(original, original.length - (i - original.length) * 7 - 1);
            }
            Files.write(damaged, copy);
            try (SuspectTable.Reader reader = SuspectTable.open(allocator, damaged, 10)) {
                while (reader.next() != null) {
                    // Drain: a flip in values or ids may read as other data, which a table cannot detect.
                }
            } catch (ImprintException e) {
                assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code(), "damage at " + i + ": " + e.getMessage());
            }
        }
    }

    @Test
    void readsAPlainTableWithNullableColumnsAndNoImprintMetadata() throws IOException {
        Path file = writeRaw(true, false, new String[] {"a", "a", "b"}, new Integer[] {2, 0, 1}, 2);
        try (SuspectTable.Reader reader = SuspectTable.open(allocator, file, 10)) {
            assertEquals(Optional.empty(), reader.probeSetId());
            SuspectTable.SuspectRows a = reader.next();
            assertEquals("a", a.modelId());
            assertArrayEquals(new int[] {2, 0}, a.probeIndices());
            assertArrayEquals(new float[] {0, 0.5f, 1, 1.5f}, a.rows());
            SuspectTable.SuspectRows b = reader.next();
            assertArrayEquals(new int[] {1}, b.probeIndices());
            assertArrayEquals(new float[] {2, 2.5f}, b.rows());
            assertNull(reader.next());
        }
    }

    @Test
    void readsWhatPyarrowInfersFromNumpyInt64ProbesFloat64ValuesAndLargeStrings() throws IOException {
        Path file = writeNumpyShaped(new String[] {"a", "a", "b"}, new long[] {2, 0, 1},
                new double[] {0.125, 0.875, 0.25, 0.75, 1e-3, 0.999}, 2);
        try (SuspectTable.Reader reader = SuspectTable.open(allocator, file, 10)) {
            SuspectTable.SuspectRows a = reader.next();
            assertEquals("a", a.modelId());
            assertArrayEquals(new int[] {2, 0}, a.probeIndices());
            assertArrayEquals(new float[] {0.125f, 0.875f, 0.25f, 0.75f}, a.rows());
            SuspectTable.SuspectRows b = reader.next();
            assertArrayEquals(new int[] {1}, b.probeIndices());
            assertArrayEquals(new float[] {(float) 1e-3, (float) 0.999}, b.rows());
            assertNull(reader.next());
        }
    }

    @Test
    void refusesAnInt64ProbeBeyondIntRangeAndAFloat64BeyondFloat32() throws IOException {
        Path hugeProbe = writeNumpyShaped(new String[] {"a"}, new long[] {1L << 33}, new double[] {0.5, 0.5}, 2);
        try (SuspectTable.Reader reader = SuspectTable.open(allocator, hugeProbe, 10)) {
            ImprintException e = assertThrows(ImprintException.class, reader::next);
            assertTrue(e.getMessage().contains("row 0: probe=8589934592 is not a probe index"), e.getMessage());
        }
        Path huge = writeNumpyShaped(new String[] {"a"}, new long[] {0}, new double[] {0.5, 1e300}, 2);
        try (SuspectTable.Reader reader = SuspectTable.open(allocator, huge, 10)) {
            ImprintException e = assertThrows(ImprintException.class, reader::next);
            assertTrue(e.getMessage().contains("row 0 column 1 of values is 1.0E300, beyond float32's range"),
                    e.getMessage());
        }
    }

    @Test
    void rejectsASuspectWhoseRowsAreNotContiguous() throws IOException {
        Path file = writeRaw(false, false, new String[] {"a", "b", "a"}, new Integer[] {0, 0, 1}, 2);
        try (SuspectTable.Reader reader = SuspectTable.open(allocator, file, 10)) {
            reader.next();
            reader.next();
            ImprintException e = assertThrows(ImprintException.class, reader::next);
            assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
            assertTrue(e.getMessage().startsWith(file + ": row 2: rows of suspect a are not contiguous"), e.getMessage());
        }
    }

    @Test
    void rejectsANullProbeNamingTheRow() throws IOException {
        Path file = writeRaw(true, false, new String[] {"a", "a", "a", "a"}, new Integer[] {0, 1, 2, null}, 3);
        try (SuspectTable.Reader reader = SuspectTable.open(allocator, file, 10)) {
            ImprintException e = assertThrows(ImprintException.class, reader::next);
            assertTrue(e.getMessage().contains("row 3: probe is null"), e.getMessage());
        }
    }

    @Test
    void rejectsASuspectWithMoreRowsThanAllowed() throws IOException {
        Path file = writeRaw(false, false, new String[] {"a", "a", "a"}, new Integer[] {0, 1, 2}, 2);
        try (SuspectTable.Reader reader = SuspectTable.open(allocator, file, 2)) {
            ImprintException e = assertThrows(ImprintException.class, reader::next);
            assertTrue(e.getMessage().contains("suspect a has more than 2 rows"), e.getMessage());
        }
    }

    @Test
    void rejectsTheStreamFormatWithAHint() throws IOException {
        Path file = writeRaw(false, true, new String[] {"a"}, new Integer[] {0}, 2);
        ImprintException e = assertThrows(ImprintException.class, () -> SuspectTable.open(allocator, file, 10));
        assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("pyarrow.ipc.new_file"), e.getMessage());
    }

    @Test
    void rejectsAReferenceFileForItsMissingModelIdColumn() throws IOException {
        Path file = dir.resolve("ref.arrow");
        ProbeSet set = Fingerprints.embeddingSet("ps", 2, 3);
        ReferenceFile.write(allocator, file, set, Fingerprints.reference(set, "m", Map.of(), 1));
        ImprintException e = assertThrows(ImprintException.class, () -> SuspectTable.open(allocator, file, 10));
        assertTrue(e.getMessage().startsWith(file + ": no column model_id"), e.getMessage());
    }

    @Test
    void reportsAMissingFileAsNotFound() {
        ImprintException e = assertThrows(ImprintException.class,
                () -> SuspectTable.open(allocator, dir.resolve("absent.arrow"), 10));
        assertEquals(ImprintException.Code.NOT_FOUND, e.code());
    }

    @Test
    void writerRefusesRowsOfTheWrongLength() throws IOException {
        try (SuspectTable.Writer writer = new SuspectTable.Writer(allocator, dir.resolve("w.arrow"), "ps", 3)) {
            ImprintException e = assertThrows(ImprintException.class,
                    () -> writer.write("a", new int[] {0, 1}, new float[5]));
            assertTrue(e.getMessage().contains("has 5 values for 2 probes; expected 6"), e.getMessage());
        }
    }

    /**
     * Writes rows (model_id, probe, values) the way another tool might: row i has values
     * {@code i*dim/2 ...} in steps of 0.5; a null probe becomes a null cell.
     */
    /**
     * A table as pyarrow writes one from numpy defaults: large_string ids, int64 probes and
     * fixed_size_list of float64 values.
     */
    private Path writeNumpyShaped(String[] ids, long[] probes, double[] values, int dim) throws IOException {
        Schema schema = new Schema(List.of(
                new Field(SuspectTable.MODEL_ID, new FieldType(true, new ArrowType.LargeUtf8(), null), null),
                new Field(FingerprintSchema.PROBE, new FieldType(true, new ArrowType.Int(64, true), null), null),
                new Field(FingerprintSchema.VALUES, new FieldType(true, new ArrowType.FixedSizeList(dim), null),
                        List.of(new Field("item", new FieldType(true,
                                new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE), null), null)))));
        Path file = dir.resolve("numpy.arrow");
        try (VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
             FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING);
             ArrowFileWriter writer = new ArrowFileWriter(root, null, out)) {
            LargeVarCharVector idVector = (LargeVarCharVector) root.getVector(SuspectTable.MODEL_ID);
            BigIntVector probeVector = (BigIntVector) root.getVector(FingerprintSchema.PROBE);
            FixedSizeListVector list = (FixedSizeListVector) root.getVector(FingerprintSchema.VALUES);
            idVector.allocateNew(ids.length);
            probeVector.allocateNew(ids.length);
            list.setInitialCapacity(ids.length);
            list.allocateNew();
            Float8Vector items = (Float8Vector) list.getDataVector();
            items.allocateNew(values.length);
            for (int i = 0; i < ids.length; i++) {
                idVector.setSafe(i, ids[i].getBytes(StandardCharsets.UTF_8));
                probeVector.set(i, probes[i]);
                list.setNotNull(i);
            }
            for (int i = 0; i < values.length; i++) {
                items.set(i, values[i]);
            }
            items.setValueCount(values.length);
            list.setValueCount(ids.length);
            root.setRowCount(ids.length);
            writer.start();
            writer.writeBatch();
            writer.end();
        }
        return file;
    }

    private Path writeRaw(boolean nullable, boolean streamFormat, String[] ids, Integer[] probes, int dim)
            throws IOException {
        FieldType item = new FieldType(nullable, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE), null);
        Schema schema = new Schema(List.of(
                new Field(SuspectTable.MODEL_ID, new FieldType(nullable, new ArrowType.Utf8(), null), null),
                new Field(FingerprintSchema.PROBE, new FieldType(nullable, new ArrowType.Int(32, true), null), null),
                new Field(FingerprintSchema.VALUES, new FieldType(nullable, new ArrowType.FixedSizeList(dim), null),
                        List.of(new Field("item", item, null)))));
        Path file = dir.resolve("raw.arrow");
        float[] values = new float[ids.length * dim];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.5f;
        }
        try (VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
             FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING);
             ArrowWriter writer = streamFormat ? new ArrowStreamWriter(root, null, out) : new ArrowFileWriter(root, null, out)) {
            VarCharVector idVector = (VarCharVector) root.getVector(SuspectTable.MODEL_ID);
            IntVector probeVector = (IntVector) root.getVector(FingerprintSchema.PROBE);
            idVector.allocateNew(ids.length);
            probeVector.allocateNew(ids.length);
            for (int i = 0; i < ids.length; i++) {
                idVector.setSafe(i, ids[i].getBytes(StandardCharsets.UTF_8));
                if (probes[i] == null) {
                    probeVector.setNull(i);
                } else {
                    probeVector.set(i, probes[i]);
                }
            }
            FingerprintCodec.fillValues((FixedSizeListVector) root.getVector(FingerprintSchema.VALUES), ids.length, dim,
                    values, 0);
            root.setRowCount(ids.length);
            writer.start();
            writer.writeBatch();
            writer.end();
        }
        return file;
    }
}
