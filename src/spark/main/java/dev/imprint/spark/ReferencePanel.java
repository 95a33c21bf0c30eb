package dev.imprint.spark;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.io.FileOps;
import dev.imprint.io.ReferenceFile;
import dev.imprint.store.ArrowFingerprintStore;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * A probe set's definition and references read from reference files on the driver, to broadcast to
 * the executors ({@code --references}). Serializable as plain fields and float arrays: each
 * reference's rows are P×D float32, row-major, as in its file.
 */
final class ReferencePanel implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String probeSetId;
    private final int numProbes;
    private final int dim;
    private final ProbeSetKind kind;
    private final double smoothingEpsilon;
    private final String description;
    private final List<Entry> entries;
    private final String version;

    /** One reference: its model id, labels, role and rows. */
    record Entry(String modelId, TreeMap<String, String> labels, ReferenceRole role, float[] rows)
            implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    private ReferencePanel(ProbeSet set, List<Entry> entries) {
        this.probeSetId = set.id();
        this.numProbes = set.numProbes();
        this.dim = set.dim();
        this.kind = set.kind();
        this.smoothingEpsilon = set.smoothingEpsilon();
        this.description = set.description();
        this.entries = List.copyOf(entries);
        this.version = digest();
    }

    /**
     * Reads reference files ({@code paths}, each a file or a directory standing for its
     * {@code *.arrow} files), all of one probe set, in the order the store would load them.
     *
     * @param probeSetId the set they must belong to; null for whichever they name
     * @throws ImprintException INVALID_ARGUMENT naming the file that does not parse or belongs to
     *     another probe set, or a model given twice; NOT_FOUND for a path that does not exist
     */
    static ReferencePanel read(List<String> paths, String probeSetId) {
        List<Path> files = new ArrayList<>();
        for (String p : paths) {
            Path path = Path.of(p);
            if (Files.isDirectory(path)) {
                try {
                    FileOps.SYSTEM.list(path).stream()
                            .filter(f -> f.getFileName().toString().endsWith(ArrowFingerprintStore.REFERENCE_SUFFIX))
                            .forEach(files::add);
                } catch (IOException e) {
                    throw new ImprintException(ImprintException.Code.UNAVAILABLE, "could not list " + path + ": " + e, e);
                }
            } else if (Files.exists(path)) {
                files.add(path);
            } else {
                throw ImprintException.notFound("reference file %s does not exist", path);
            }
        }
        if (files.isEmpty()) {
            throw ImprintException.invalidArgument("--references %s holds no reference file (*.arrow)", paths);
        }
        ProbeSet set = null;
        Path first = null;
        TreeMap<String, Entry> byFileName = new TreeMap<>();
        Map<String, Path> fileOf = new TreeMap<>();
        try (BufferAllocator allocator = new RootAllocator()) {
            for (Path file : files) {
                ReferenceFile.Contents contents = ReferenceFile.readInput(allocator, file);
                ProbeSet written = contents.probeSet();
                if (probeSetId != null && !written.id().equals(probeSetId)) {
                    throw ImprintException.invalidArgument("%s: a reference of probe set %s, not of --probe-set %s",
                            file, written.id(), probeSetId);
                }
                if (set == null) {
                    set = written;
                    first = file;
                } else if (!written.id().equals(set.id()) || written.numProbes() != set.numProbes()
                        || written.dim() != set.dim() || written.kind() != set.kind()
                        || Double.compare(written.smoothingEpsilon(), set.smoothingEpsilon()) != 0) {
                    throw ImprintException.invalidArgument("%s: written for probe set %s (num_probes=%d, dim=%d, kind=%s) "
                            + "but %s for %s (num_probes=%d, dim=%d, kind=%s)", file, written.id(),
                            written.numProbes(), written.dim(), written.kind(), first, set.id(), set.numProbes(),
                            set.dim(), set.kind());
                }
                Reference r = contents.reference();
                String model = r.meta().modelId();
                Path earlier = fileOf.put(model, file);
                if (earlier != null) {
                    throw ImprintException.invalidArgument("model %s is in both %s and %s", model, earlier, file);
                }
                // The store's order: by file name, <model_id>.arrow.
                byFileName.put(model + ArrowFingerprintStore.REFERENCE_SUFFIX, new Entry(model,
                        new TreeMap<>(r.meta().labels()), r.meta().role(), r.rows()));
            }
        }
        return new ReferencePanel(set, new ArrayList<>(byFileName.values()));
    }

    /** The probe set the references belong to (its definition: no texts or supports). */
    ProbeSet probeSet() {
        return new ProbeSet(probeSetId, numProbes, dim, kind, smoothingEpsilon, description);
    }

    int size() {
        return entries.size();
    }

    /** A digest of everything scoring reads: the set's definition and every reference's id, labels, role and rows. */
    String version() {
        return version;
    }

    /** Hands the probe set, then each reference, to {@code visitor}. */
    void load(dev.imprint.store.FingerprintStore.LoadVisitor visitor) {
        ProbeSet set = probeSet();
        visitor.probeSet(set);
        for (Entry e : entries) {
            visitor.reference(new Reference(new ReferenceMeta(probeSetId, e.modelId(), e.labels(), numProbes, dim, 0L,
                    e.role()), e.rows()));
        }
    }

    private String digest() {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        update(sha, probeSetId + "|" + numProbes + "|" + dim + "|" + kind + "|" + smoothingEpsilon);
        ByteBuffer floats = ByteBuffer.allocate(4 * 4096).order(ByteOrder.LITTLE_ENDIAN);
        for (Entry e : entries.stream().sorted(Comparator.comparing(Entry::modelId)).toList()) {
            update(sha, e.modelId() + "|" + e.labels() + "|" + e.role());
            for (float v : e.rows()) {
                if (!floats.hasRemaining()) {
                    sha.update(floats.array(), 0, floats.position());
                    floats.clear();
                }
                floats.putFloat(v);
            }
            sha.update(floats.array(), 0, floats.position());
            floats.clear();
        }
        return HexFormat.of().formatHex(sha.digest(), 0, 8);
    }

    private static void update(MessageDigest sha, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        sha.update(ByteBuffer.allocate(4).putInt(bytes.length).array());
        sha.update(bytes);
    }
}
