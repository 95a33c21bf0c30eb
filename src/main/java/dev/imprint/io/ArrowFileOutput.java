package dev.imprint.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * An Arrow IPC file written one record batch at a time: fill {@link #root()}, call
 * {@link #writeBatch()}, repeat, then {@link #close()} writes the footer. Owns its child allocator,
 * root, channel and writer, and releases all of them on close or on a failed open.
 */
final class ArrowFileOutput implements AutoCloseable {
    private final BufferAllocator allocator;
    private final FileChannel channel;
    private final VectorSchemaRoot root;
    private final ArrowFileWriter writer;

    private ArrowFileOutput(BufferAllocator allocator, FileChannel channel, VectorSchemaRoot root,
                            ArrowFileWriter writer) {
        this.allocator = allocator;
        this.channel = channel;
        this.root = root;
        this.writer = writer;
    }

    /** Creates (or truncates) {@code path} and writes the file header and {@code schema}. */
    static ArrowFileOutput create(BufferAllocator parent, Path path, Schema schema) throws IOException {
        BufferAllocator allocator = parent.newChildAllocator("write " + path, 0, Long.MAX_VALUE);
        VectorSchemaRoot root = null;
        FileChannel channel = null;
        try {
            root = VectorSchemaRoot.create(schema, allocator);
            channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
            ArrowFileWriter writer = new ArrowFileWriter(root, null, channel);
            writer.start();
            return new ArrowFileOutput(allocator, channel, root, writer);
        } catch (IOException | RuntimeException e) {
            try (allocator) {
                if (root != null) {
                    root.close();
                }
                if (channel != null) {
                    channel.close();
                }
            }
            throw e;
        }
    }

    /** The vectors to fill before each {@link #writeBatch()}. */
    VectorSchemaRoot root() {
        return root;
    }

    /** Appends the root's current rows as one record batch. */
    void writeBatch() throws IOException {
        writer.writeBatch();
    }

    /** Writes the footer and releases the file and its memory. */
    @Override
    public void close() throws IOException {
        try (allocator; channel; root; writer) {
            writer.end();
        }
    }
}
