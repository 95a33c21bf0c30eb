package dev.imprint.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Reference;
import dev.imprint.io.DurableFiles;
import dev.imprint.io.ProbeSetFile;
import dev.imprint.io.ReferenceFile;
import dev.imprint.io.ResultTable;
import dev.imprint.io.SuspectTable;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.store.FingerprintStore;
import dev.imprint.store.LoadReport;
import dev.imprint.testing.FuzzScratch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * Every Arrow file reader on arbitrary bytes: each must read the file or refuse it with an
 * ImprintException (a one-line error naming the file), never throw anything else, hang or leak
 * Arrow memory; and the store's load must set a damaged reference aside, say so in its log, and
 * start. The committed inputs under {@code FileReadersFuzzTestInputs/} replay as ordinary tests;
 * {@code JAZZER_FUZZ=1} fuzzes (README "Fuzzing").
 *
 * <p>So that a run of a million inputs takes minutes, not hours: the readers take a path, so each
 * input is written to one reused file in memory where the machine has tmpfs ({@link FuzzScratch});
 * the reads share one allocator, which must hold nothing after each read; and the store's probe set
 * is saved once, each input then replacing its one reference file.
 */
class FileReadersFuzzTest {
    private static final int MAX_EXECUTIONS = 1_000_000;

    /** Shared by every read; replaced after a leak, so that later inputs are judged on their own. */
    private static BufferAllocator sharedAllocator = new RootAllocator();

    /** The store of {@link #storeLoad}: probe set {@code s} saved once; each input is its reference atlas-1. */
    private static final Path STORE = FuzzScratch.directory().resolve("store");
    private static final Path REFS = STORE.resolve("s").resolve(ArrowFingerprintStore.REFS_DIR);
    private static final String REFERENCE = Path.of("s", ArrowFingerprintStore.REFS_DIR, "atlas-1.arrow").toString();
    private static final Logger STORE_LOG = Logger.getLogger(ArrowFingerprintStore.class.getName());

    private static Path write(byte[] data) throws IOException {
        return FuzzScratch.write("input.arrow", data);
    }

    /** Runs {@code read} on the file, accepting an ImprintException as the refusal it should be. */
    private static void refuseOrRead(Path file, FileRead read) throws IOException {
        try {
            read.read(sharedAllocator, file);
        } catch (ImprintException expected) {
            // a clear refusal
        } catch (Throwable finding) {
            if (holdsAnything()) {
                sharedAllocator = new RootAllocator();
            }
            throw finding;
        }
        if (holdsAnything()) {
            String state = sharedAllocator.toVerboseString();
            sharedAllocator = new RootAllocator();
            throw new AssertionError("the read left Arrow memory allocated:\n" + state);
        }
    }

    /** What closing a root allocator checks: that every child allocator is closed and no byte is held. */
    private static boolean holdsAnything() {
        return sharedAllocator.getAllocatedMemory() != 0 || !sharedAllocator.getChildAllocators().isEmpty();
    }

    private interface FileRead {
        void read(BufferAllocator allocator, Path file) throws IOException;
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void referenceFile(byte[] data) throws IOException {
        Path file = write(data);
        refuseOrRead(file, (allocator, f) -> ReferenceFile.readInput(allocator, f));
        refuseOrRead(file, (allocator, f) -> ReferenceFile.read(allocator, f));
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void suspectTable(byte[] data) throws IOException {
        refuseOrRead(write(data), (allocator, file) -> {
            try (SuspectTable.Reader reader = SuspectTable.open(allocator, file, 4096)) {
                while (reader.next() != null) {
                    // every suspect is read whole
                }
            }
        });
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void resultTable(byte[] data) throws IOException {
        refuseOrRead(write(data), ResultTable::readAll);
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void probeSetFile(byte[] data) throws IOException {
        refuseOrRead(write(data), (allocator, file) -> ProbeSetFile.read(allocator, file, file.toString()));
    }

    /**
     * A store whose one reference file holds the bytes: load starts, keeping it only if it is
     * whole, and a file it sets aside is named in a warning. The store is opened, loaded and closed
     * (which fails on leaked Arrow memory) for each input, as at a start.
     */
    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void storeLoad(byte[] data) throws IOException {
        prepareStore();
        Files.write(STORE.resolve(REFERENCE), data);
        List<String> warnings = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                    warnings.add(record.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        // A warning a run: kept out of the console, where a million would bury Jazzer's output.
        boolean toParent = STORE_LOG.getUseParentHandlers();
        STORE_LOG.setUseParentHandlers(false);
        STORE_LOG.addHandler(capture);
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(STORE)) {
            LoadReport report = store.load(new FingerprintStore.LoadVisitor() {
                @Override
                public void probeSet(ProbeSet loaded) {
                }

                @Override
                public void reference(Reference reference) {
                    if (!reference.meta().modelId().equals("atlas-1")) {
                        throw new AssertionError("loaded a reference the file does not name: " + reference.meta());
                    }
                }
            });
            if (report.references() + report.quarantined().size() != 1) {
                throw new AssertionError("the file was neither loaded nor set aside: " + report);
            }
            if (!report.quarantined().isEmpty()
                    && warnings.stream().noneMatch(w -> w.contains(REFERENCE))) {
                throw new AssertionError("set aside without a warning naming the file: " + report + " " + warnings);
            }
        } finally {
            STORE_LOG.removeHandler(capture);
            STORE_LOG.setUseParentHandlers(toParent);
        }
    }

    /** Saves the probe set on first use (or if a load set it aside); empties {@code refs/} of the last input. */
    private static void prepareStore() throws IOException {
        if (!Files.exists(STORE.resolve("s").resolve(ArrowFingerprintStore.PROBE_SET_FILE))) {
            DurableFiles.deleteRecursively(STORE);
            // The set of the committed seed (imprint synth --probe-set s --probes 2 --dim 3 --kind EMBEDDING).
            ProbeSet set = ProbeSet.fromRequest("s", 2, 3, ProbeSetKind.EMBEDDING, 0,
                    "synthetic EMBEDDING probe set, seed 42");
            try (ArrowFingerprintStore store = ArrowFingerprintStore.open(STORE)) {
                store.saveProbeSet(set);
            }
        }
        for (Path leftover : DurableFiles.list(REFS)) {
            Files.delete(leftover);
        }
    }
}
