package dev.imprint.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.logging.Logger;

/**
 * File operations that survive a crash or power loss at any instant, after PostgreSQL's
 * {@code durable_rename} and Lucene's commit: a file is written under a temporary name, fsynced,
 * renamed over its final name in one atomic step, and the directory is fsynced so the rename
 * itself is on disk. A reader therefore sees the old file or the new one, never a mix. Each
 * operation also comes in a form that goes through a {@link FileOps}, which tests use to plant faults.
 */
public final class DurableFiles {
    private static final Logger LOG = Logger.getLogger(DurableFiles.class.getName());
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
        replace(FileOps.SYSTEM, target, writer);
    }

    /** As {@link #replace(Path, ContentWriter)}, through {@code files}. */
    public static void replace(FileOps files, Path target, ContentWriter writer) throws IOException {
        Path tmp = temporaryFor(target);
        try {
            try (FileChannel out = files.createNew(tmp)) {
                writer.write(out);
            }
            commit(files, tmp, target);
        } catch (IOException | RuntimeException e) {
            try {
                files.deleteIfExists(tmp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
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
        commit(FileOps.SYSTEM, tmp, target);
    }

    /**
     * As {@link #commit(Path, Path)}, through {@code files}. If the directory cannot be fsynced
     * after the rename, the rename is undone (the old target comes back under its name, or a new
     * one goes away) before the failure is thrown, so a failed commit never leaves the new content
     * visible. The old target is kept for that under a second name (a hard link, {@code *.tmp}) until
     * the commit is durable; where the file system has no hard links a replace cannot be undone.
     */
    public static void commit(FileOps files, Path tmp, Path target) throws IOException {
        files.force(tmp);
        Path absolute = target.toAbsolutePath();
        Path old = keepOld(files, absolute);
        try {
            // On POSIX an atomic move is rename(2), which replaces the target in one step.
            files.move(tmp, absolute);
            try {
                fsyncDirectory(files, absolute.getParent());
            } catch (IOException e) {
                try {
                    if (old != null) {
                        files.move(old, absolute);
                    } else {
                        files.deleteIfExists(absolute);
                    }
                    fsyncDirectory(files, absolute.getParent());
                } catch (IOException undo) {
                    e.addSuppressed(undo);
                }
                throw e;
            }
        } finally {
            if (old != null) {
                discard(files, old);
            }
        }
    }

    /** A second name for the existing {@code target}, to bring it back by; null if none exists or can be made. */
    private static Path keepOld(FileOps files, Path target) {
        if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        Path old = temporaryFor(target);
        try {
            files.link(old, target);
            return old;
        } catch (IOException | UnsupportedOperationException e) {
            LOG.fine("cannot keep " + target + " under a second name (" + e + "); a failed replace cannot be undone");
            return null;
        }
    }

    /** Deletes a {@code *.tmp} file that is no longer needed; one left behind is removed at the next load. */
    private static void discard(FileOps files, Path tmp) {
        try {
            files.deleteIfExists(tmp);
        } catch (IOException e) {
            LOG.warning("could not delete " + tmp + " (" + e + "); it is removed when the data directory is next loaded");
        }
    }

    /** Creates {@code dir} (and missing parents) so that its existence survives a crash. */
    public static void createDirectories(Path dir) throws IOException {
        createDirectories(FileOps.SYSTEM, dir);
    }

    /** As {@link #createDirectories(Path)}, through {@code files}. */
    public static void createDirectories(FileOps files, Path dir) throws IOException {
        dir = dir.toAbsolutePath();
        if (Files.isDirectory(dir)) {
            return;
        }
        createDirectories(files, dir.getParent());
        try {
            files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir)) {
                throw e;
            }
        }
        fsyncDirectory(files, dir.getParent());
    }

    /** Durably deletes {@code file}; returns false if it did not exist. */
    public static boolean delete(Path file) throws IOException {
        return delete(FileOps.SYSTEM, file);
    }

    /**
     * As {@link #delete(Path)}, through {@code files}: the file is renamed to a {@code *.tmp} name,
     * the rename made durable, then the file removed. If the directory cannot be fsynced the file
     * gets its name back before the failure is thrown, so a failed delete leaves it in place.
     */
    public static boolean delete(FileOps files, Path file) throws IOException {
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        Path doomed = temporaryFor(file);
        files.move(file, doomed);
        try {
            fsyncDirectory(files, doomed.getParent());
        } catch (IOException e) {
            try {
                files.move(doomed, file);
            } catch (IOException undo) {
                e.addSuppressed(undo);
            }
            throw e;
        }
        discard(files, doomed);
        return true;
    }

    /**
     * Durably deletes the tree at {@code dir}: one atomic rename to {@code graveyard} (so a crash
     * leaves either the whole tree or a name that says "finish deleting me"), then the removal.
     */
    public static void deleteTree(Path dir, Path graveyard) throws IOException {
        deleteTree(FileOps.SYSTEM, dir, graveyard);
    }

    /**
     * As {@link #deleteTree(Path, Path)}, through {@code files}. A failure before the rename is
     * durable renames the tree back and is thrown; one while removing the graveyard is only logged,
     * as the delete has happened and loading the parent directory finishes it.
     */
    public static void deleteTree(FileOps files, Path dir, Path graveyard) throws IOException {
        deleteRecursively(files, graveyard);
        files.move(dir, graveyard);
        try {
            fsyncDirectory(files, dir.getParent());
        } catch (IOException e) {
            try {
                files.move(graveyard, dir);
            } catch (IOException undo) {
                e.addSuppressed(undo);
            }
            throw e;
        }
        try {
            deleteRecursively(files, graveyard);
            fsyncDirectory(files, graveyard.getParent());
        } catch (IOException e) {
            LOG.warning("could not finish deleting " + graveyard + " (" + e + "); it is removed when the data "
                    + "directory is next loaded");
        }
    }

    /** Deletes {@code path} and everything below it; a missing path is fine. */
    public static void deleteRecursively(Path path) throws IOException {
        deleteRecursively(FileOps.SYSTEM, path);
    }

    /** As {@link #deleteRecursively(Path)}, through {@code files}. */
    public static void deleteRecursively(FileOps files, Path path) throws IOException {
        if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            for (Path p : files.list(path)) {
                deleteRecursively(files, p);
            }
        }
        files.deleteIfExists(path);
    }

    /** Durably renames {@code file} to a free {@code <name>.corrupt[.N]} beside it and returns the new path. */
    public static Path setAside(Path file) throws IOException {
        return setAside(FileOps.SYSTEM, file);
    }

    /** As {@link #setAside(Path)}, through {@code files}. */
    public static Path setAside(FileOps files, Path file) throws IOException {
        Path target = file.resolveSibling(file.getFileName() + CORRUPT_SUFFIX);
        for (int n = 2; Files.exists(target); n++) {
            target = file.resolveSibling(file.getFileName() + CORRUPT_SUFFIX + "." + n);
        }
        files.move(file, target);
        fsyncDirectory(files, file.getParent());
        return target;
    }

    /** Deletes the {@code *.tmp} files directly in {@code dir} (durably) and returns how many there were. */
    public static int removeTemporaries(Path dir) throws IOException {
        return removeTemporaries(FileOps.SYSTEM, dir);
    }

    /** As {@link #removeTemporaries(Path)}, through {@code files}. */
    public static int removeTemporaries(FileOps files, Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int removed = 0;
        for (Path p : files.list(dir)) {
            if (p.getFileName().toString().endsWith(TMP_SUFFIX) && Files.isRegularFile(p)) {
                files.deleteIfExists(p);
                removed++;
            }
        }
        if (removed > 0) {
            fsyncDirectory(files, dir);
        }
        return removed;
    }

    /** The entries of {@code dir}, sorted by name. */
    public static List<Path> list(Path dir) throws IOException {
        return FileOps.SYSTEM.list(dir);
    }

    /**
     * Deletes {@code path} (a draft file or a draft tree) when the JVM shuts down, as on Ctrl-C or
     * SIGTERM, which skip finally blocks. Close the handle once the draft is committed or removed.
     */
    public static ShutdownDeletion deleteAtShutdown(Path path) {
        Thread hook = new Thread(() -> {
            try {
                deleteRecursively(path);
            } catch (IOException ignored) {
                // the JVM is going; nothing is left to tell
            }
        }, "delete " + path.getFileName());
        Runtime.getRuntime().addShutdownHook(hook);
        return () -> {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway, and the draft is gone or going
            }
        };
    }

    /** A pending {@link #deleteAtShutdown} deletion; closing it calls the deletion off. */
    public interface ShutdownDeletion extends AutoCloseable {
        @Override
        void close();
    }

    /** Makes the entries of {@code dir} (creations, renames, deletions) durable. */
    public static void fsyncDirectory(Path dir) throws IOException {
        fsyncDirectory(FileOps.SYSTEM, dir);
    }

    /** As {@link #fsyncDirectory(Path)}, through {@code files}. */
    public static void fsyncDirectory(FileOps files, Path dir) throws IOException {
        // The parent of a bare relative name ("out.arrow") is null: it is the working directory.
        files.forceDirectory(dir == null ? Path.of("").toAbsolutePath() : dir);
    }
}
