package dev.imprint.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Reference;
import dev.imprint.io.ProbeSetFile;
import dev.imprint.io.ReferenceFile;
import dev.imprint.io.ResultTable;
import dev.imprint.io.SuspectTable;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.store.FingerprintStore;
import dev.imprint.store.LoadReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * Every Arrow file reader on arbitrary bytes: each must read the file or refuse it with an
 * ImprintException (a one-line error naming the file), never throw anything else, hang or leak
 * Arrow memory; and the store's load must set a damaged reference aside and start. The committed
 * inputs under {@code FileReadersFuzzTestInputs/} replay as ordinary tests; {@code JAZZER_FUZZ=1}
 * fuzzes (README "Fuzzing").
 */
class FileReadersFuzzTest {
    private static final int MAX_EXECUTIONS = 1_000_000;

    private static Path write(byte[] data) throws IOException {
        Path file = Files.createTempFile("fuzz", ".arrow");
        Files.write(file, data);
        return file;
    }

    /** Runs {@code read} on the bytes, accepting an ImprintException as the refusal it should be. */
    private static void refuseOrRead(byte[] data, FileRead read) throws IOException {
        Path file = write(data);
        try (BufferAllocator allocator = new RootAllocator()) {
            try {
                read.read(allocator, file);
            } catch (ImprintException expected) {
                // a clear refusal
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private interface FileRead {
        void read(BufferAllocator allocator, Path file) throws IOException;
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void referenceFile(byte[] data) throws IOException {
        refuseOrRead(data, (allocator, file) -> ReferenceFile.readInput(allocator, file));
        refuseOrRead(data, (allocator, file) -> ReferenceFile.read(allocator, file));
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void suspectTable(byte[] data) throws IOException {
        refuseOrRead(data, (allocator, file) -> {
            try (SuspectTable.Reader reader = SuspectTable.open(allocator, file, 4096)) {
                while (reader.next() != null) {
                    // every suspect is read whole
                }
            }
        });
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void resultTable(byte[] data) throws IOException {
        refuseOrRead(data, ResultTable::readAll);
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void probeSetFile(byte[] data) throws IOException {
        refuseOrRead(data, (allocator, file) -> ProbeSetFile.read(allocator, file, file.toString()));
    }

    /** A store whose one reference file holds the bytes: load starts, keeping it only if it is whole. */
    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void storeLoad(byte[] data) throws IOException {
        Path dir = Files.createTempDirectory("fuzz-store");
        try {
            // The set of the committed seed (imprint synth --probe-set s --probes 2 --dim 3 --kind EMBEDDING).
            ProbeSet set = ProbeSet.fromRequest("s", 2, 3, ProbeSetKind.EMBEDDING, 0,
                    "synthetic EMBEDDING probe set, seed 42");
            try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dir)) {
                store.saveProbeSet(set);
            }
            Files.write(dir.resolve("s").resolve(ArrowFingerprintStore.REFS_DIR).resolve("atlas-1.arrow"), data);
            try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dir)) {
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
            }
        } finally {
            dev.imprint.io.DurableFiles.deleteRecursively(dir);
        }
    }
}
