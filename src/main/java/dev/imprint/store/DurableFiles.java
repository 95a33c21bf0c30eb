package dev.imprint.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * File operations that survive a crash or power loss at any instant, after PostgreSQL's
 * {@code durable_rename} and Lucene's commit: a file is written under a temporary name, fsynced,
 * renamed over its final name in one atomic step, and the directory is fsynced so the rename
 * itself is on disk. A reader therefore sees the old file or the new one, never a mix.
 *
 * <p>Public for {@link #replace} only, which other packages (the evidence report) use for their own
 * output files; the rest serves the store.
 */
public final class DurableFiles {
    /** Suffix of files being written; whatever carries it after a crash is garbage. */
    static final String TMP_SUFFIX = ".tmp";
    /** Suffix given to files set aside as corrupt. */
    static final String CORRUPT_SUFFIX = ".corrupt";

    private DurableFiles() {}

    /** Writes the content of a file to an open channel. */
    @FunctionalInterface
    public interface ContentWriter {
        void write(FileChannel out) throws IOException;
    }

    /**
     * Durably creates or replaces {@code target} with what {@code writer} produces. On any failure
     * the temporary file is removed and {@code target} is left as it was.
     */
    public static void replace(Path target, ContentWriter writer) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = dir.resolve(target.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + TMP_SUFFIX);
        boolean renamed = false;
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writer.write(out);
                out.force(true);
            }
            // On POSIX an atomic move is rename(2), which replaces the target in one step.
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            renamed = true;
        } finally {
            if (!renamed) {
                Files.deleteIfExists(tmp);
            }
        }
        fsyncDirectory(dir);
    }

    /** Creates {@code dir} (and missing parents) so that its existence survives a crash. */
    static void createDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        createDirectories(dir.getParent());
        try {
            Files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir)) {
                throw e;
            }
        }
        fsyncDirectory(dir.getParent());
    }

    /** Durably deletes {@code file}; returns false if it did not exist. */
    static boolean delete(Path file) throws IOException {
        if (!Files.deleteIfExists(file)) {
            return false;
        }
        fsyncDirectory(file.getParent());
        return true;
    }

    /**
     * Durably deletes the tree at {@code dir}: one atomic rename to {@code graveyard} (so a crash
     * leaves either the whole tree or a name that says "finish deleting me"), then the removal.
     */
    static void deleteTree(Path dir, Path graveyard) throws IOException {
        deleteRecursively(graveyard);
        Files.move(dir, graveyard, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(dir.getParent());
        deleteRecursively(graveyard);
        fsyncDirectory(graveyard.getParent());
    }

    /** Deletes {@code path} and everything below it; a missing path is fine. */
    static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Durably renames {@code file} to a free {@code <name>.corrupt[.N]} beside it and returns the new path. */
    static Path setAside(Path file) throws IOException {
        Path target = file.resolveSibling(file.getFileName() + CORRUPT_SUFFIX);
        for (int n = 2; Files.exists(target); n++) {
            target = file.resolveSibling(file.getFileName() + CORRUPT_SUFFIX + "." + n);
        }
        Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(file.getParent());
        return target;
    }

    /** Deletes the {@code *.tmp} files directly in {@code dir} (durably) and returns how many there were. */
    static int removeTemporaries(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int removed = 0;
        for (Path p : list(dir)) {
            if (p.getFileName().toString().endsWith(TMP_SUFFIX) && Files.isRegularFile(p)) {
                Files.delete(p);
                removed++;
            }
        }
        if (removed > 0) {
            fsyncDirectory(dir);
        }
        return removed;
    }

    /** The entries of {@code dir}, sorted by name. */
    static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.sorted().toList();
        }
    }

    /** Makes the entries of {@code dir} (creations, renames, deletions) durable. */
    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
