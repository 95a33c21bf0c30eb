package dev.imprint.spark;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.io.FileOps;
import dev.imprint.io.ProbeSetFile;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.store.FingerprintStore;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * Where the executors get one probe set's references, each executor once: a data directory they
 * all read (a shared file system), or a {@link ReferencePanel} the driver broadcast. Either way the
 * source carries a version, a digest of what scoring reads, which keys the executor's engine
 * ({@link ExecutorEngines}) and is checked again where the executor loads.
 */
final class ReferenceSource implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String probeSetId;
    private final String version;
    private final int references;
    /** The shared data directory, or null when {@link #panel} is set. */
    private final String dataDir;
    private final Broadcast<ReferencePanel> panel;
    /** The set's definition, read on the driver; not shipped. */
    private final transient ProbeSet probeSet;

    private ReferenceSource(ProbeSet probeSet, String version, int references, String dataDir,
                            Broadcast<ReferencePanel> panel) {
        this.probeSetId = probeSet.id();
        this.probeSet = probeSet;
        this.version = version;
        this.references = references;
        this.dataDir = dataDir;
        this.panel = panel;
    }

    /**
     * Probe set {@code probeSetId} of the data directory {@code dataDir}, which executors read
     * themselves. Only the definition and the file listing are read here.
     *
     * @throws ImprintException NOT_FOUND if the directory or the set is absent; INVALID_ARGUMENT if
     *     the set has no references or its file does not verify
     */
    static ReferenceSource sharedDirectory(String dataDir, String probeSetId) {
        Path root = Path.of(dataDir).toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw ImprintException.notFound("data directory %s does not exist", root);
        }
        dev.imprint.core.Ids.requireValid("probe_set_id", probeSetId);
        Path setFile = root.resolve(probeSetId).resolve(ArrowFingerprintStore.PROBE_SET_FILE);
        if (!Files.exists(setFile)) {
            throw ImprintException.notFound("probe set %s does not exist in data directory %s", probeSetId, root);
        }
        ProbeSet set;
        try (BufferAllocator allocator = new RootAllocator()) {
            set = ProbeSetFile.read(allocator, setFile, setFile.toString());
        }
        List<Path> files = referenceFiles(root, probeSetId);
        if (files.isEmpty()) {
            throw ImprintException.invalidArgument("probe set %s in data directory %s has no references to score against",
                    probeSetId, root);
        }
        return new ReferenceSource(set, listingVersion(root, probeSetId), files.size(), root.toString(), null);
    }

    /**
     * The references in {@code paths} (files, or directories of {@code *.arrow} files), read and
     * verified here and broadcast to the executors.
     *
     * @throws ImprintException as {@link ReferencePanel#read}
     */
    static ReferenceSource broadcast(JavaSparkContext context, List<String> paths, String probeSetId) {
        ReferencePanel read = ReferencePanel.read(paths, probeSetId);
        return new ReferenceSource(read.probeSet(), read.version(), read.size(), null, context.broadcast(read));
    }

    String probeSetId() {
        return probeSetId;
    }

    /** The probe set's definition; on the driver only. */
    ProbeSet probeSet() {
        return probeSet;
    }

    String version() {
        return version;
    }

    int references() {
        return references;
    }

    /** Where the references come from, for messages. */
    String describe() {
        return dataDir != null ? "data directory " + dataDir + " (probe set " + probeSetId + ")"
                : "broadcast references of probe set " + probeSetId;
    }

    /**
     * Hands the probe set and then its references to {@code visitor}, on an executor.
     *
     * @throws ImprintException FAILED_PRECONDITION when the data directory changed since the driver
     *     read it; as {@link ArrowFingerprintStore#readOnly} when a file does not verify
     */
    void load(FingerprintStore.LoadVisitor visitor) {
        if (panel != null) {
            panel.value().load(visitor);
            return;
        }
        Path root = Path.of(dataDir);
        requireUnchanged(root);
        ArrowFingerprintStore.readOnly(root, probeSetId, visitor);
        requireUnchanged(root);
    }

    private void requireUnchanged(Path root) {
        String now = listingVersion(root, probeSetId);
        if (!now.equals(version)) {
            throw ImprintException.failedPrecondition("data directory %s: probe set %s changed since the job started "
                    + "(version %s, now %s); a job scores against one version of its references, so run it again",
                    root, probeSetId, version, now);
        }
    }

    /**
     * A digest of the set's files as listed: name, size and modification time of its probe-set file
     * and of each reference file. A put or delete changes it (the store replaces files whole).
     */
    private static String listingVersion(Path root, String probeSetId) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        List<Path> files = new ArrayList<>();
        files.add(root.resolve(probeSetId).resolve(ArrowFingerprintStore.PROBE_SET_FILE));
        files.addAll(referenceFiles(root, probeSetId));
        for (Path f : files) {
            try {
                String entry = root.relativize(f) + "|" + Files.size(f) + "|" + Files.getLastModifiedTime(f).toMillis()
                        + "\n";
                sha.update(entry.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new ImprintException(ImprintException.Code.UNAVAILABLE, "could not read " + f + ": " + e, e);
            }
        }
        return HexFormat.of().formatHex(sha.digest(), 0, 8);
    }

    private static List<Path> referenceFiles(Path root, String probeSetId) {
        Path refs = root.resolve(probeSetId).resolve(ArrowFingerprintStore.REFS_DIR);
        if (!Files.isDirectory(refs)) {
            return List.of();
        }
        try {
            return FileOps.SYSTEM.list(refs).stream()
                    .filter(f -> f.getFileName().toString().endsWith(ArrowFingerprintStore.REFERENCE_SUFFIX)).toList();
        } catch (IOException e) {
            throw new ImprintException(ImprintException.Code.UNAVAILABLE, "could not list " + refs + ": " + e, e);
        }
    }
}
