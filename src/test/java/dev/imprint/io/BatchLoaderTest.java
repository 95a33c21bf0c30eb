package dev.imprint.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.flatbuffers.FlatBufferBuilder;
import dev.imprint.core.ImprintException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.apache.arrow.flatbuf.Buffer;
import org.apache.arrow.flatbuf.FieldNode;
import org.apache.arrow.flatbuf.Message;
import org.apache.arrow.flatbuf.MessageHeader;
import org.apache.arrow.flatbuf.MetadataVersion;
import org.apache.arrow.flatbuf.RecordBatch;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.message.ArrowBlock;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;

/** Damaged record batches found by FileReadersFuzzTest; each is refused and leaks nothing (see ArrowFileTestBase). */
class BatchLoaderTest extends ArrowFileTestBase {
    /** One batch of {@code rows} rows whose column model_id holds two values, the second null. */
    private Path writeBatch(int rows) throws IOException {
        Path file = dir.resolve("batch.arrow");
        try (VarCharVector ids = new VarCharVector("model_id", allocator)) {
            ids.allocateNew();
            ids.setSafe(0, "a".getBytes(StandardCharsets.UTF_8));
            ids.setNull(1);
            ids.setValueCount(2);
            try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 ArrowFileWriter writer = new ArrowFileWriter(
                         new VectorSchemaRoot(List.of(ids.getField()), List.<FieldVector>of(ids), rows), null, out)) {
                writer.start();
                writer.writeBatch();
                writer.end();
            }
        }
        return file;
    }

    private void load(Path file, ArrowBlockChooser chooser) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
             ArrowFileReader reader = new ArrowFileReader(channel, allocator)) {
            ArrowBlock block = chooser.choose(reader.getRecordBlocks().get(0));
            BatchLoader.load(channel, channel.size(), block, reader.getVectorSchemaRoot(), allocator);
        }
    }

    private interface ArrowBlockChooser {
        ArrowBlock choose(ArrowBlock written);
    }

    @Test
    void loadsAWholeBatch() throws IOException {
        Path file = writeBatch(2);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
             ArrowFileReader reader = new ArrowFileReader(channel, allocator)) {
            BatchLoader.load(channel, channel.size(), reader.getRecordBlocks().get(0), reader.getVectorSchemaRoot(),
                    allocator);
            VarCharVector ids = (VarCharVector) reader.getVectorSchemaRoot().getVector("model_id");
            assertEquals(2, reader.getVectorSchemaRoot().getRowCount());
            assertEquals("a", new String(ids.get(0), StandardCharsets.UTF_8));
            assertTrue(ids.isNull(1));
        }
    }

    /** Arrow would grow the short column to the batch's row count, and on damaged buffers leak what it grew. */
    @Test
    void refusesABatchWithMoreRowsThanItsColumnsHold() throws IOException {
        Path file = writeBatch(40);
        ImprintException e = assertThrows(ImprintException.class, () -> load(file, written -> written));
        assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("a record batch of 40 rows has 2 values in column model_id"),
                e.getMessage());
    }

    /** Such lengths once passed the check by overflowing it: the metadata buffer was allocated at its declared size, then the read hit the end of the file. */
    @Test
    void refusesABlockWhoseOffsetAndLengthsAddUpPastLongMaxValue() throws IOException {
        Path file = writeBatch(2);
        ImprintException e = assertThrows(ImprintException.class, () -> load(file,
                written -> new ArrowBlock(Long.MAX_VALUE - 16, 64, written.getBodyLength())));
        assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("does not fit in the"), e.getMessage());
    }

    /**
     * Arrow slices a batch's buffers from its body without checking them, and when one has a
     * negative length, building the batch fails after taking references on the slices before it.
     */
    @Test
    void refusesABufferOutsideTheBodyOfItsBatch() throws IOException {
        long[][] damaged = {{0, 0, 0, 12, 16, -244}, {0, 0, 0, 12, 16, 100}, {0, 0, -8, 12, 16, 4}};
        for (long[] buffers : damaged) {
            Path file = dir.resolve("message.arrow");
            ArrowBlock block = writeMessage(file, 2, 64, buffers);
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
                 VectorSchemaRoot root = VectorSchemaRoot.create(
                         new Schema(List.of(Field.nullable("model_id", ArrowType.Utf8.INSTANCE))), allocator)) {
                ImprintException e = assertThrows(ImprintException.class,
                        () -> BatchLoader.load(channel, channel.size(), block, root, allocator));
                assertTrue(e.getMessage().contains("outside its 64-byte body"), e.getMessage());
            }
        }
    }

    /**
     * Arrow checks only the last offset of a string column against its data; {@code get} of a row
     * whose offsets were damaged allocated a byte array of the damaged length (over a GiB, found in
     * the result tables FileReadersFuzzTest wrote) before it failed.
     */
    @Test
    void refusesAStringColumnWhoseOffsetsDoNotRise() throws IOException {
        ByteBuffer body = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        body.putInt(0, 0).putInt(4, 1_000_000_000).putInt(8, 2);
        Path file = dir.resolve("message.arrow");
        ArrowBlock block = writeMessage(file, 2, body, 0, 0, 0, 12, 16, 8);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
             VectorSchemaRoot root = VectorSchemaRoot.create(
                     new Schema(List.of(Field.nullable("model_id", ArrowType.Utf8.INSTANCE))), allocator)) {
            ImprintException e = assertThrows(ImprintException.class,
                    () -> BatchLoader.load(channel, channel.size(), block, root, allocator));
            assertTrue(e.getMessage().contains("malformed column model_id")
                    && e.getMessage().contains("offset buffer are decreasing"), e.getMessage());
        }
    }

    /**
     * Writes one record batch message of {@code rows} rows for a single utf8 column, with the
     * buffers given as (offset, length) pairs, followed by a zeroed body, and returns its block.
     */
    private static ArrowBlock writeMessage(Path file, int rows, int bodyLength, long... buffers) throws IOException {
        return writeMessage(file, rows, ByteBuffer.allocate(bodyLength), buffers);
    }

    /** As {@link #writeMessage(Path, int, int, long...)}, with {@code body} (its whole capacity) as the body. */
    private static ArrowBlock writeMessage(Path file, int rows, ByteBuffer body, long... buffers) throws IOException {
        int bodyLength = body.capacity();
        FlatBufferBuilder builder = new FlatBufferBuilder();
        RecordBatch.startNodesVector(builder, 1);
        FieldNode.createFieldNode(builder, rows, 0);
        int nodes = builder.endVector();
        RecordBatch.startBuffersVector(builder, buffers.length / 2);
        for (int i = buffers.length - 2; i >= 0; i -= 2) {
            Buffer.createBuffer(builder, buffers[i], buffers[i + 1]);
        }
        int bufferVector = builder.endVector();
        int batch = RecordBatch.createRecordBatch(builder, rows, nodes, bufferVector, 0, 0);
        builder.finish(Message.createMessage(builder, MetadataVersion.V5, MessageHeader.RecordBatch, batch,
                bodyLength, 0));
        byte[] message = builder.sizedByteArray();
        int metadataLength = 8 + (message.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(metadataLength + bodyLength).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(-1).putInt(metadataLength - 8).put(message).position(metadataLength);
        out.put(body.clear());
        Files.write(file, out.array());
        return new ArrowBlock(0, metadataLength, bodyLength);
    }
}
