package dev.imprint.io;

import dev.imprint.core.ImprintException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import org.apache.arrow.flatbuf.Buffer;
import org.apache.arrow.flatbuf.Message;
import org.apache.arrow.flatbuf.MessageHeader;
import org.apache.arrow.flatbuf.RecordBatch;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BaseLargeVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.message.ArrowBlock;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.util.ValueVectorUtility;
import org.apache.arrow.vector.validate.ValidateUtil;

/**
 * Loads one record batch of an Arrow IPC file into a root, for files that may be damaged.
 *
 * <p>Arrow's own {@code ArrowFileReader.loadRecordBatch} reads the message into an off-heap buffer
 * and leaks it when the message does not parse, and trusts the lengths it reads. Here every length
 * is checked against the file size first, the message is parsed on the heap, the body buffer is
 * released on every failure, and the loaded columns are checked before the row count is set (see
 * {@link CheckedRoot}), so a damaged file costs an exception and nothing else.
 */
final class BatchLoader {
    private static final int CONTINUATION = -1;
    private static final int READ_CHUNK = 1 << 24;

    private BatchLoader() {}

    /**
     * Reads the record batch that {@code block} locates in {@code channel} (a file of
     * {@code fileSize} bytes) into {@code root}, allocating its body from {@code allocator}.
     *
     * @throws ImprintException INVALID_ARGUMENT if the block or its message is malformed
     */
    static void load(FileChannel channel, long fileSize, ArrowBlock block, VectorSchemaRoot root,
                     BufferAllocator allocator) throws IOException {
        long offset = block.getOffset();
        int metadataLength = block.getMetadataLength();
        long bodyLength = block.getBodyLength();
        // Compared without adding them up: damaged lengths can sum past Long.MAX_VALUE to a negative.
        if (offset < 0 || metadataLength < 8 || bodyLength < 0 || metadataLength > fileSize
                || bodyLength > fileSize - metadataLength || offset > fileSize - metadataLength - bodyLength) {
            throw ImprintException.invalidArgument("record batch block (offset %d, metadata %d bytes, body %d bytes) "
                    + "does not fit in the %d-byte file", offset, metadataLength, bodyLength, fileSize);
        }
        ByteBuffer metadata = ByteBuffer.allocate(metadataLength).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, metadata, offset);
        // Since Arrow 0.15 a message starts with 0xFFFFFFFF then its length; older files have the length only.
        int prefix = metadata.getInt(0) == CONTINUATION ? 8 : 4;
        int length = metadata.getInt(prefix - 4);
        if (length <= 0 || prefix + length > metadataLength) {
            throw ImprintException.invalidArgument("record batch at offset %d declares a %d-byte message in a %d-byte block",
                    offset, length, metadataLength);
        }
        Message message = Message.getRootAsMessage(metadata.position(prefix).limit(prefix + length).slice());
        if (message.headerType() != MessageHeader.RecordBatch || message.bodyLength() != bodyLength) {
            throw ImprintException.invalidArgument("block at offset %d holds message type %d with a %d-byte body; "
                    + "expected a record batch with %d bytes", offset, message.headerType(), message.bodyLength(), bodyLength);
        }
        RecordBatch header = (RecordBatch) message.header(new RecordBatch());
        if (header == null) {
            throw ImprintException.invalidArgument("record batch at offset %d has no header", offset);
        }
        // Arrow slices these from the body unchecked, and a batch it then fails to build keeps the slices' references.
        for (int i = 0; i < header.buffersLength(); i++) {
            Buffer buffer = header.buffers(i);
            if (buffer.offset() < 0 || buffer.length() < 0 || buffer.offset() > bodyLength - buffer.length()) {
                throw ImprintException.invalidArgument("record batch at offset %d has buffer %d (offset %d, %d bytes) "
                        + "outside its %d-byte body", offset, i, buffer.offset(), buffer.length(), bodyLength);
            }
        }
        ArrowBuf body = allocator.buffer(bodyLength);
        ArrowRecordBatch batch;
        try {
            for (long done = 0; done < bodyLength; ) {
                int chunk = (int) Math.min(READ_CHUNK, bodyLength - done);
                readFully(channel, body.nioBuffer(done, chunk), offset + metadataLength + done);
                done += chunk;
            }
            // On success this takes over the body's reference: the batch retains its slices and the body is released.
            batch = MessageSerializer.deserializeRecordBatch(header, body);
        } catch (IOException | RuntimeException e) {
            body.close();
            throw e;
        }
        try (batch) {
            new VectorLoader(new CheckedRoot(root)).load(batch);
        }
    }

    /**
     * The root the batch is loaded through: once the columns hold their buffers, and before the
     * row count is set on them, it checks that every column has exactly the batch's rows, buffers
     * large enough for them and, for strings and binaries, offsets that rise within the data. Arrow's
     * {@code setValueCount} otherwise grows a column that is short of the row count, and on damaged
     * buffers the copy into the grown ones fails after allocating them, which leaks them; and a
     * string whose offsets are damaged made {@code VarCharVector.get} allocate a heap array of the
     * damaged length (over a GiB) before it failed.
     */
    private static final class CheckedRoot extends VectorSchemaRoot {
        private final VectorSchemaRoot target;

        CheckedRoot(VectorSchemaRoot target) {
            super(target.getSchema(), target.getFieldVectors(), target.getRowCount());
            this.target = target;
        }

        @Override
        public void setRowCount(int rowCount) {
            for (FieldVector column : getFieldVectors()) {
                if (column.getValueCount() != rowCount) {
                    throw ImprintException.invalidArgument("a record batch of %d rows has %d values in column %s",
                            rowCount, column.getValueCount(), column.getName());
                }
                try {
                    if (column instanceof BaseVariableWidthVector || column instanceof BaseLargeVariableWidthVector) {
                        ValueVectorUtility.validateFull(column);
                    } else {
                        // validateFull of a fixed_size_list throws UnsupportedOperationException (Arrow 18).
                        ValueVectorUtility.validate(column);
                    }
                } catch (ValidateUtil.ValidateException | IndexOutOfBoundsException e) {
                    throw ImprintException.invalidArgument("a record batch has a malformed column %s: %s",
                            column.getName(), e.getMessage());
                }
            }
            target.setRowCount(rowCount);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer target, long position) throws IOException {
        long at = position;
        while (target.hasRemaining()) {
            int n = channel.read(target, at);
            if (n < 0) {
                throw new EOFException("file ends at byte " + at);
            }
            at += n;
        }
    }
}
