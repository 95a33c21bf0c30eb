package dev.imprint.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * A view of a channel whose {@link #close} does nothing. Arrow's writers close the channel they
 * were given, but the store still has to fsync the file after the writer is done with it.
 */
final class UnclosedChannel implements WritableByteChannel {
    private final WritableByteChannel delegate;

    UnclosedChannel(WritableByteChannel delegate) {
        this.delegate = delegate;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return delegate.write(src);
    }

    @Override
    public boolean isOpen() {
        return delegate.isOpen();
    }

    @Override
    public void close() {
        // The owner of the delegate closes it.
    }
}
