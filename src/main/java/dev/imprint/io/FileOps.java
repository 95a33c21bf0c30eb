package dev.imprint.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * The file system calls the store makes, one method per call, so that tests can plant faults
 * between the store and the disk (a full disk on the Nth write, a failing fsync or rename, an
 * unreadable file). {@link #SYSTEM} is the real file system; every default method is the plain
 * {@link Files}/{@link FileChannel} call. {@link DurableFiles} builds its guarantees on these.
 */
public interface FileOps {
    /** The real file system. */
    FileOps SYSTEM = new FileOps() {};

    /** What the kernel says for ENOSPC, as {@link IOException#getMessage()} carries it. */
    String NO_SPACE = "No space left on device";

    /** Creates {@code file}, which must not exist, and opens it for writing. */
    default FileChannel createNew(Path file) throws IOException {
        return FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    /** Opens {@code file} for reading. */
    default FileChannel openRead(Path file) throws IOException {
        return FileChannel.open(file, StandardOpenOption.READ);
    }

    /** Flushes the content of the written file {@code file} to the device (fsync). */
    default void force(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
    }

    /** Flushes the entries of {@code dir} (creations, renames, deletions) to the device. */
    default void forceDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** Renames {@code from} to {@code to} in one atomic step, replacing {@code to} (rename(2)). */
    default void move(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Gives the file {@code existing} a second name {@code link} (link(2)). */
    default void link(Path link, Path existing) throws IOException {
        Files.createLink(link, existing);
    }

    /** Deletes {@code path} (a file or an empty directory); false if it did not exist. */
    default boolean deleteIfExists(Path path) throws IOException {
        return Files.deleteIfExists(path);
    }

    /** Creates the directory {@code dir}, whose parent exists. */
    default void createDirectory(Path dir) throws IOException {
        Files.createDirectory(dir);
    }

    /** The entries of {@code dir}, sorted by name. */
    default List<Path> list(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.sorted().toList();
        }
    }

    /**
     * True if {@code e} (or a cause) says the device is full: the JDK reports ENOSPC as an
     * {@link IOException} or {@link FileSystemException} whose message contains {@value #NO_SPACE}.
     */
    static boolean isDiskFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException && t.getMessage() != null && t.getMessage().contains(NO_SPACE)) {
                return true;
            }
        }
        return false;
    }
}
