package dev.imprint.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
 */
public final class DurableFiles {
    /** Suffix of files being written; whatever carries it after a crash is garbage. */
    public static final String TMP_SUFFIX = ".tmp";
    /** Suffix given to files set aside as corrupt. */
    public static final String CORRUPT_SUFFIX = ".corrupt";

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
        Path tmp = temporaryFor(target);
        boolean renamed = false;
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writer.write(out);
            }
            commit(tmp, target);
            renamed = true;
        } finally {
            if (!renamed) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /**
     * A fresh temporary name beside {@code target}, for content that will {@link #commit} over it:
     * {@code <name>.<random hex>.tmp}, in the same directory so the rename is atomic.
     */
    public static Path temporaryFor(Path target) {
        Path absolute = target.toAbsolutePath();
        Path parent = absolute.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            // Said of the output, not of a temporary name the user never chose.
            throw new java.io.UncheckedIOException(new NoSuchFileException(parent.toString(), null,
                    "the directory to write " + target + " in"));
        }
        return absolute.resolveSibling(absolute.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + TMP_SUFFIX);
    }

    /**
     * Makes the complete file {@code tmp} durable and renames it over {@code target} in one atomic
     * step, then makes the rename durable. A reader sees the old target or the new one.
     */
    public static void commit(Path tmp, Path target) throws IOException {
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        Path absolute = target.toAbsolutePath();
        // On POSIX an atomic move is rename(2), which replaces the target in one step.
        Files.move(tmp, absolute, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(absolute.getParent());
    }

    /** Creates {@code dir} (and missing parents) so that its existence survives a crash. */
    public static void createDirectories(Path dir) throws IOException {
        dir = dir.toAbsolutePath();
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
    public static boolean delete(Path file) throws IOException {
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
    public static void deleteTree(Path dir, Path graveyard) throws IOException {
        deleteRecursively(graveyard);
        Files.move(dir, graveyard, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(dir.getParent());
        deleteRecursively(graveyard);
        fsyncDirectory(graveyard.getParent());
    }

    /** Deletes {@code path} and everything below it; a missing path is fine. */
    public static void deleteRecursively(Path path) throws IOException {
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
    public static Path setAside(Path file) throws IOException {
        Path target = file.resolveSibling(file.getFileName() + CORRUPT_SUFFIX);
        for (int n = 2; Files.exists(target); n++) {
            target = file.resolveSibling(file.getFileName() + CORRUPT_SUFFIX + "." + n);
        }
        Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(file.getParent());
        return target;
    }

    /** Deletes the {@code *.tmp} files directly in {@code dir} (durably) and returns how many there were. */
    public static int removeTemporaries(Path dir) throws IOException {
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
    public static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.sorted().toList();
        }
    }

    /** Makes the entries of {@code dir} (creations, renames, deletions) durable. */
    public static void fsyncDirectory(Path dir) throws IOException {
        // The parent of a bare relative name ("out.arrow") is null: it is the working directory.
        try (FileChannel channel = FileChannel.open(dir == null ? Path.of("").toAbsolutePath() : dir,
                StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
