package dev.imprint.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.function.Predicate;

/**
 * The real file system with one planted fault: after {@code skip} matching calls pass, every
 * further call of that kind on a matching path fails, until {@link #heal()}. A full disk fails
 * writes into files the store creates, as the kernel's ENOSPC does ({@value FileOps#NO_SPACE}).
 */
public final class FaultyFileOps implements FileOps {
    /** What fails. */
    public enum Fault {
        DISK_FULL_ON_WRITE("disk full on write"),
        FSYNC("fsync failure"),
        RENAME("rename failure"),
        DIRECTORY_FSYNC("directory-fsync failure"),
        READ("read error");

        private final String words;

        Fault(String words) {
            this.words = words;
        }

        @Override
        public String toString() {
            return words;
        }
    }

    private volatile Fault fault;
    private volatile Predicate<Path> where = p -> true;
    private int skip;
    private int failures;

    /** Makes every {@code fault} call on a path {@code where} accepts fail, after the first {@code skip}. */
    public synchronized FaultyFileOps plant(Fault fault, Predicate<Path> where, int skip) {
        this.where = where;
        this.skip = skip;
        this.fault = fault;
        return this;
    }

    /** As {@link #plant(Fault, Predicate, int)} on every path, failing at once. */
    public FaultyFileOps plant(Fault fault) {
        return plant(fault, p -> true, 0);
    }

    /** Removes the fault. */
    public synchronized void heal() {
        fault = null;
    }

    /** How many calls have failed since the fault was planted. */
    public synchronized int failures() {
        return failures;
    }

    /** True if this call must fail. */
    private synchronized boolean trips(Fault kind, Path path) {
        if (fault != kind || !where.test(path)) {
            return false;
        }
        if (skip > 0) {
            skip--;
            return false;
        }
        failures++;
        return true;
    }

    @Override
    public FileChannel createNew(Path file) throws IOException {
        return new WriteFaults(FileOps.super.createNew(file), file);
    }

    @Override
    public FileChannel openRead(Path file) throws IOException {
        if (trips(Fault.READ, file)) {
            throw new FileSystemException(file.toString(), null, "Input/output error");
        }
        return FileOps.super.openRead(file);
    }

    @Override
    public void force(Path file) throws IOException {
        if (trips(Fault.FSYNC, file)) {
            throw new FileSystemException(file.toString(), null, "Input/output error");
        }
        FileOps.super.force(file);
    }

    @Override
    public void forceDirectory(Path dir) throws IOException {
        if (trips(Fault.DIRECTORY_FSYNC, dir)) {
            throw new FileSystemException(dir.toString(), null, "Input/output error");
        }
        FileOps.super.forceDirectory(dir);
    }

    @Override
    public void move(Path from, Path to) throws IOException {
        if (trips(Fault.RENAME, from)) {
            throw new FileSystemException(from.toString(), to.toString(), "Input/output error");
        }
        FileOps.super.move(from, to);
    }

    /** A channel whose writes fail with ENOSPC while a full disk is planted. */
    private final class WriteFaults extends FileChannel {
        private final FileChannel delegate;
        private final Path file;

        WriteFaults(FileChannel delegate, Path file) {
            this.delegate = delegate;
            this.file = file;
        }

        private void check() throws IOException {
            if (trips(Fault.DISK_FULL_ON_WRITE, file)) {
                throw new IOException(NO_SPACE);
            }
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            check();
            return delegate.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            check();
            return delegate.write(srcs, offset, length);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            check();
            return delegate.write(src, position);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            check();
            return delegate.transferFrom(src, position, count);
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return delegate.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return delegate.read(dsts, offset, length);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return delegate.read(dst, position);
        }

        @Override
        public long position() throws IOException {
            return delegate.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            delegate.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return delegate.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            delegate.truncate(size);
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            delegate.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return delegate.transferTo(position, count, target);
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            return delegate.map(mode, position, size);
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return delegate.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return delegate.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            delegate.close();
        }
    }
}
