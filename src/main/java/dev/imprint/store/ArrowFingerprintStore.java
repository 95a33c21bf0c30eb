package dev.imprint.store;

import dev.imprint.core.Ids;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.io.DurableFiles;
import dev.imprint.io.FileOps;
import dev.imprint.io.ProbeSetFile;
import dev.imprint.io.ReferenceFile;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * A {@link FingerprintStore} over a data directory of Arrow IPC files:
 * <pre>
 * &lt;data-dir&gt;/~lock                              held while a store has the directory open
 * &lt;data-dir&gt;/~auth/, ~audit/                    tokens and the audit log; left alone here
 * &lt;data-dir&gt;/&lt;probe_set_id&gt;/probe-set.arrow       the definition ({@link ProbeSetFile}, no rows)
 * &lt;data-dir&gt;/&lt;probe_set_id&gt;/refs/&lt;model_id&gt;.arrow one reference ({@link ReferenceFile})
 * </pre>
 * Every file is written through {@link DurableFiles#replace} and carries a CRC32C checksum that
 * {@link #load} verifies. Names with {@code ~} ({@code ~lock}, {@code <id>~deleting}) or ending in
 * {@code .tmp}/{@code .corrupt} cannot collide with ids, whose alphabet is {@code [A-Za-z0-9._:-]}
 * and whose reference files end in {@code .arrow}.
 */
public final class ArrowFingerprintStore implements FingerprintStore {
    private static final Logger LOG = Logger.getLogger(ArrowFingerprintStore.class.getName());

    public static final String PROBE_SET_FILE = "probe-set.arrow";
    public static final String REFS_DIR = "refs";
    public static final String REFERENCE_SUFFIX = ".arrow";
    /** A probe set directory renamed to {@code <id>~deleting} is being deleted; load finishes the job. */
    static final String DELETING_SUFFIX = "~deleting";
    static final String LOCK_FILE = "~lock";

    private final Path root;
    /** Every file system call goes through here; tests plant faults in it. */
    private final FileOps files;
    private final BufferAllocator allocator;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final ConcurrentHashMap<String, ProbeSet> probeSets = new ConcurrentHashMap<>();
    private boolean closed;

    private ArrowFingerprintStore(Path root, FileOps files, FileChannel lockChannel, FileLock lock) {
        this.root = root;
        this.files = files;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.allocator = new RootAllocator();
    }

    /**
     * Opens the store in {@code dataDir}, creating the directory durably if needed, and locks it
     * against other stores (in this or another process).
     *
     * @throws ImprintException FAILED_PRECONDITION if another store holds the directory;
     *     RESOURCE_EXHAUSTED (disk full) or UNAVAILABLE if it cannot be created or locked
     */
    public static ArrowFingerprintStore open(Path dataDir) {
        return open(dataDir, FileOps.SYSTEM);
    }

    /**
     * As {@link #open(Path)}, with every later file operation of the store (writes, fsyncs, renames,
     * deletes, reads and listings) going through {@code files}; the lock file is the real one.
     */
    public static ArrowFingerprintStore open(Path dataDir, FileOps files) {
        Path root = dataDir.toAbsolutePath().normalize();
        FileChannel channel = null;
        try {
            DurableFiles.createDirectories(files, root);
            channel = FileChannel.open(root.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw ImprintException.failedPrecondition("data directory %s is in use by another Imprint store", root);
            }
            return new ArrowFingerprintStore(root, files, channel, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            throw failure("open data directory", root, e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    @Override
    public LoadReport load(LoadVisitor visitor) {
        Loader loader = new Loader(visitor);
        try {
            for (Path entry : files.list(root)) {
                loader.visitTopLevel(entry);
            }
        } catch (IOException e) {
            throw failure("read data directory", root, e);
        }
        return new LoadReport(loader.sets, loader.references, loader.quarantined, loader.removed);
    }

    @Override
    public void saveProbeSet(ProbeSet set) {
        Path dir = probeSetDir(set.id());
        boolean fresh = !Files.exists(dir);
        try {
            DurableFiles.createDirectories(files, dir.resolve(REFS_DIR));
            DurableFiles.replace(files, dir.resolve(PROBE_SET_FILE), out -> ProbeSetFile.write(allocator, out, set));
        } catch (IOException e) {
            if (fresh) {
                // A directory without its probe-set file would be removed at load anyway; leave nothing now.
                try {
                    DurableFiles.deleteRecursively(files, dir);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw failure("save probe set " + set.id() + " to", dir, e);
        }
        probeSets.put(set.id(), set);
    }

    @Override
    public void deleteProbeSet(String probeSetId) {
        Path dir = probeSetDir(probeSetId);
        try {
            if (Files.exists(dir)) {
                DurableFiles.deleteTree(files, dir, root.resolve(probeSetId + DELETING_SUFFIX));
            }
        } catch (IOException e) {
            throw failure("delete probe set " + probeSetId + " at", dir, e);
        } finally {
            probeSets.remove(probeSetId);
        }
    }

    @Override
    public void saveReference(Reference reference) {
        ReferenceMeta meta = reference.meta();
        ProbeSet set = storedProbeSet(meta.probeSetId());
        Path file = referencePath(meta.probeSetId(), meta.modelId());
        try {
            DurableFiles.createDirectories(files, file.getParent());
            DurableFiles.replace(files, file, out -> ReferenceFile.write(allocator, out, set, reference));
        } catch (IOException e) {
            throw failure("save reference " + meta.modelId() + " to", file, e);
        }
    }

    @Override
    public void deleteReference(String probeSetId, String modelId) {
        Path file = referencePath(probeSetId, modelId);
        try {
            DurableFiles.delete(files, file);
        } catch (IOException e) {
            throw failure("delete reference " + modelId + " at", file, e);
        }
    }

    @Override
    public String location() {
        return root.toString();
    }

    /** Releases the directory lock and the Arrow memory; a leak of Arrow memory fails here. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            lock.release();
        } catch (IOException e) {
            LOG.warning("could not release the lock on " + root + ": " + e);
        } finally {
            closeQuietly(lockChannel);
            allocator.close();
        }
    }

    /**
     * Reads probe set {@code probeSetId} of the data directory {@code dataDir} and then each of its
     * references, in the order {@link #load} visits them, without locking, repairing or changing
     * anything there: for a process that only reads a directory that another may own, such as a
     * Spark executor reading a shared one. A file that does not verify is an error here rather
     * than set aside; leftover temporary files are skipped.
     *
     * @throws ImprintException NOT_FOUND if the directory or the probe set is absent; INVALID_ARGUMENT
     *     naming the file that does not verify; UNAVAILABLE on an I/O error
     */
    public static LoadReport readOnly(Path dataDir, String probeSetId, LoadVisitor visitor) {
        Ids.requireValid("probe_set_id", probeSetId);
        Path root = dataDir.toAbsolutePath().normalize();
        Path dir = inside(root, probeSetId);
        Path setFile = dir.resolve(PROBE_SET_FILE);
        if (!Files.isDirectory(root)) {
            throw ImprintException.notFound("data directory %s does not exist", root);
        }
        if (!Files.exists(setFile)) {
            throw ImprintException.notFound("probe set %s does not exist in data directory %s", probeSetId, root);
        }
        FileOps files = FileOps.SYSTEM;
        try (BufferAllocator allocator = new RootAllocator()) {
            ProbeSet set = ProbeSetFile.read(allocator, files, setFile, setFile.toString());
            if (!set.id().equals(probeSetId)) {
                throw ImprintException.invalidArgument("%s: defines probe set %s but lives in directory %s", setFile,
                        set.id(), probeSetId);
            }
            visitor.probeSet(set);
            int references = 0;
            Path refsDir = dir.resolve(REFS_DIR);
            if (Files.isDirectory(refsDir)) {
                for (Path file : files.list(refsDir)) {
                    if (file.getFileName().toString().endsWith(REFERENCE_SUFFIX)) {
                        visitor.reference(verifiedReference(allocator, files, set, file, file.toString()));
                        references++;
                    }
                }
            }
            return new LoadReport(1, references, List.of(), 0);
        } catch (IOException e) {
            throw failure("read probe set " + probeSetId + " from", dir, e);
        }
    }

    /**
     * The reference in {@code file}, verified: its checksum, that it holds the model its name says
     * and that it was written for {@code set}.
     *
     * @throws ImprintException INVALID_ARGUMENT naming the file ({@code name}) when it does not verify
     */
    private static Reference verifiedReference(BufferAllocator allocator, FileOps files, ProbeSet set, Path file,
                                               String name) {
        ReferenceFile.Contents contents = ReferenceFile.read(allocator, files, file, name);
        ProbeSet written = contents.probeSet();
        String modelId = contents.reference().meta().modelId();
        if (!file.getFileName().toString().equals(modelId + REFERENCE_SUFFIX)) {
            throw ImprintException.invalidArgument("%s: holds model %s, not the one its name says", name, modelId);
        }
        if (!written.id().equals(set.id()) || written.numProbes() != set.numProbes()
                || written.dim() != set.dim() || written.kind() != set.kind()
                || Double.compare(written.smoothingEpsilon(), set.smoothingEpsilon()) != 0) {
            throw ImprintException.invalidArgument(
                    "%s: written for probe set %s (num_probes=%d, dim=%d, kind=%s, smoothing_epsilon=%s) "
                            + "but the stored probe set is %s (num_probes=%d, dim=%d, kind=%s, smoothing_epsilon=%s)",
                    name, written.id(), written.numProbes(), written.dim(), written.kind(),
                    written.smoothingEpsilon(), set.id(), set.numProbes(), set.dim(), set.kind(),
                    set.smoothingEpsilon());
        }
        return contents.reference();
    }

    private ProbeSet storedProbeSet(String probeSetId) {
        ProbeSet cached = probeSets.get(probeSetId);
        if (cached != null) {
            return cached;
        }
        Path file = probeSetDir(probeSetId).resolve(PROBE_SET_FILE);
        ProbeSet set = ProbeSetFile.read(allocator, files, file, relative(file));
        probeSets.put(probeSetId, set);
        return set;
    }

    /** {@code <root>/<id>}, refusing anything that would resolve elsewhere. */
    private Path probeSetDir(String probeSetId) {
        Ids.requireValid("probe_set_id", probeSetId);
        return inside(root, probeSetId);
    }

    private Path referencePath(String probeSetId, String modelId) {
        Ids.requireValid("model_id", modelId);
        return inside(probeSetDir(probeSetId).resolve(REFS_DIR), modelId + REFERENCE_SUFFIX);
    }

    /** Resolves one name under {@code dir}; ids are validated already, this is the second line of defence. */
    private static Path inside(Path dir, String name) {
        Path p = dir.resolve(name).normalize();
        if (!dir.equals(p.getParent())) {
            throw ImprintException.invalidArgument("'%s' does not name an entry of %s", name, dir);
        }
        return p;
    }

    private String relative(Path p) {
        return root.relativize(p).toString();
    }

    private static boolean isValidId(String name) {
        try {
            Ids.requireValid("probe_set_id", name);
            return true;
        } catch (ImprintException e) {
            return false;
        }
    }

    /**
     * The error for an I/O failure: RESOURCE_EXHAUSTED when the disk is full, UNAVAILABLE for any
     * other I/O error (the operation may succeed later), each saying what could not be done.
     */
    private static ImprintException failure(String action, Path path, IOException e) {
        if (FileOps.isDiskFull(e)) {
            return new ImprintException(ImprintException.Code.RESOURCE_EXHAUSTED,
                    "could not " + action + " " + path + ": the disk is full (" + e + ")", e);
        }
        return new ImprintException(ImprintException.Code.UNAVAILABLE,
                "could not " + action + " " + path + ": I/O error (" + e + ")", e);
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                LOG.warning("could not close " + channel + ": " + e);
            }
        }
    }

    /** One pass of {@link #load}: visits probe sets in name order, each before its references. */
    private final class Loader {
        private final LoadVisitor visitor;
        private final List<String> quarantined = new ArrayList<>();
        private int sets;
        private int references;
        private int removed;

        Loader(LoadVisitor visitor) {
            this.visitor = visitor;
        }

        void visitTopLevel(Path entry) throws IOException {
            String name = entry.getFileName().toString();
            if (name.startsWith("~")) {
                // Not an id: the lock, or what other parts of Imprint keep here (~auth, ~audit).
                return;
            }
            if (name.endsWith(DELETING_SUFFIX) && Files.isDirectory(entry)) {
                DurableFiles.deleteRecursively(files, entry);
                DurableFiles.fsyncDirectory(files, root);
                removed++;
                return;
            }
            if (!Files.isDirectory(entry) || !isValidId(name)) {
                LOG.warning("ignoring " + entry + ": not a probe set directory");
                return;
            }
            visitProbeSet(entry, name);
        }

        private void visitProbeSet(Path dir, String id) throws IOException {
            Path refsDir = dir.resolve(REFS_DIR);
            removed += removeTemporaries(dir) + removeTemporaries(refsDir);
            List<Path> refFiles = new ArrayList<>();
            if (Files.isDirectory(refsDir)) {
                for (Path p : files.list(refsDir)) {
                    if (p.getFileName().toString().endsWith(REFERENCE_SUFFIX)) {
                        refFiles.add(p);
                    }
                }
            }
            Path setFile = dir.resolve(PROBE_SET_FILE);
            ProbeSet set = null;
            String orphanReason;
            if (!Files.exists(setFile)) {
                if (refFiles.isEmpty()) {
                    removeIfEmpty(dir);
                    return;
                }
                orphanReason = "its probe set file " + relative(setFile) + " is missing";
            } else {
                orphanReason = "its probe set file " + relative(setFile) + " is corrupt";
                try {
                    set = ProbeSetFile.read(allocator, files, setFile, relative(setFile));
                    if (!set.id().equals(id)) {
                        throw ImprintException.invalidArgument("%s: defines probe set %s but lives in directory %s",
                                relative(setFile), set.id(), id);
                    }
                } catch (ImprintException e) {
                    setAside(setFile, e.getMessage());
                    set = null;
                }
            }
            if (set == null) {
                for (Path ref : refFiles) {
                    setAside(ref, relative(ref) + ": " + orphanReason);
                }
                return;
            }
            visitor.probeSet(set);
            probeSets.put(id, set);
            sets++;
            for (Path ref : refFiles) {
                Reference reference = readReference(set, ref);
                if (reference != null) {
                    visitor.reference(reference);
                    references++;
                }
            }
        }

        /** Removes leftover {@code *.tmp} files in {@code dir}; failing that, says so and goes on, as they are never loaded. */
        private int removeTemporaries(Path dir) {
            try {
                return DurableFiles.removeTemporaries(files, dir);
            } catch (IOException e) {
                LOG.warning("could not remove the temporary files in " + dir + " (" + e + "); they are never loaded, "
                        + "and the next start tries again");
                return 0;
            }
        }

        /** The verified reference in {@code file}, or null after setting the file aside. */
        private Reference readReference(ProbeSet set, Path file) throws IOException {
            String name = relative(file);
            try {
                return verifiedReference(allocator, files, set, file, name);
            } catch (ImprintException e) {
                setAside(file, e.getMessage());
                return null;
            }
        }

        private void setAside(Path file, String reason) {
            String outcome;
            try {
                outcome = "moved to " + relative(DurableFiles.setAside(files, file));
            } catch (IOException e) {
                outcome = "could not move it aside: " + e;
            }
            String entry = reason + " (" + outcome + ")";
            LOG.warning("set aside " + entry);
            quarantined.add(entry);
        }

        /** Removes the remains of a probe set whose creation never completed, if nothing else lives there. */
        private void removeIfEmpty(Path dir) throws IOException {
            Path refsDir = dir.resolve(REFS_DIR);
            if (Files.isDirectory(refsDir) && files.list(refsDir).isEmpty()) {
                files.deleteIfExists(refsDir);
            }
            if (files.list(dir).isEmpty()) {
                files.deleteIfExists(dir);
                DurableFiles.fsyncDirectory(files, root);
                removed++;
            } else {
                LOG.warning("ignoring " + dir + ": it has no " + PROBE_SET_FILE);
            }
        }
    }
}
