package dev.imprint.testing;

import dev.imprint.io.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a fuzz target whose code under test takes a path puts each input: a directory in memory
 * ({@code /dev/shm}) where the machine has one, else in the temporary directory, deleted at JVM
 * exit. A target rewrites one file per thread and name for each input rather than creating and
 * deleting one, so that a million inputs cost no disk traffic.
 */
public final class FuzzScratch {
    private static final Path DIRECTORY = create();

    private FuzzScratch() {}

    private static Path create() {
        try {
            Path shm = Path.of("/dev/shm");
            Path dir = Files.isDirectory(shm) && Files.isWritable(shm)
                    ? Files.createTempDirectory(shm, "imprint-fuzz")
                    : Files.createTempDirectory("imprint-fuzz");
            DurableFiles.deleteAtShutdown(dir);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The scratch directory, for a target that needs more than one file. */
    public static Path directory() {
        return DIRECTORY;
    }

    /** The calling thread's file {@code name}, now holding exactly {@code data}. */
    public static Path write(String name, byte[] data) throws IOException {
        Path file = DIRECTORY.resolve(Thread.currentThread().getId() + "-" + name);
        Files.write(file, data);
        return file;
    }
}
