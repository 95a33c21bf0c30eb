package dev.imprint.cli;

import dev.imprint.client.ImprintClient.SuspectInput;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.io.ReferenceFile;
import dev.imprint.io.SuspectTable;
import dev.imprint.topk.ProbeAnswer;
import dev.imprint.topk.TopKAnswers;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import org.apache.arrow.memory.BufferAllocator;

/**
 * Suspects read from a file: a suspect table ({@link SuspectTable}, any number of suspects), a
 * reference file ({@link ReferenceFile}, scored as one suspect answering every probe), or a top-k
 * answers file ({@link TopKAnswers}, named *.jsonl; one suspect per model, sent as its answers for
 * the target to map onto the probe set's supports). Tables are streamed one suspect at a time.
 * Each suspect's {@code requestId} is its model id.
 */
final class SuspectSource implements AutoCloseable {
    private final BufferAllocator allocator;
    private final Path path;
    private final ReferenceFile.Contents reference;
    private final List<TopKAnswers.Model> topK;
    private final Optional<String> probeSetId;
    private final List<SuspectTable.Reader> open = new ArrayList<>();

    private SuspectSource(BufferAllocator allocator, Path path, ReferenceFile.Contents reference,
                          List<TopKAnswers.Model> topK, Optional<String> probeSetId) {
        this.allocator = allocator;
        this.path = path;
        this.reference = reference;
        this.topK = topK;
        this.probeSetId = probeSetId;
    }

    /**
     * Opens {@code path}: a top-k answers file if it is named *.jsonl, else a suspect table or a
     * reference file, told apart by which one parses.
     *
     * @throws ImprintException NOT_FOUND if the file does not exist
     * @throws CliException     if it is neither
     */
    static SuspectSource open(BufferAllocator allocator, Path path) {
        if (TopKAnswers.isAnswersFile(path)) {
            return new SuspectSource(allocator, path, null, TopKAnswers.read(path), Optional.empty());
        }
        ImprintException asTable;
        try (SuspectTable.Reader header = SuspectTable.open(allocator, path, 1)) {
            return new SuspectSource(allocator, path, null, null, header.probeSetId());
        } catch (ImprintException e) {
            if (e.code() != ImprintException.Code.INVALID_ARGUMENT) {
                throw e;
            }
            asTable = e;
        }
        try {
            ReferenceFile.Contents contents = ReferenceFile.readInput(allocator, path);
            return new SuspectSource(allocator, path, contents, null, Optional.of(contents.probeSet().id()));
        } catch (ImprintException e) {
            if (e.code() != ImprintException.Code.INVALID_ARGUMENT) {
                throw e;
            }
            // Both causes, the likelier first: a file without a model_id column was meant as a reference.
            String table = "as a suspect table: " + asTable.getMessage();
            String file = "as a reference file: " + e.getMessage();
            boolean referenceShaped = asTable.getMessage().contains("no column model_id");
            throw new CliException(path + " is neither a suspect table nor a reference file; "
                    + (referenceShaped ? file + "; " + table : table + "; " + file));
        }
    }

    /** The probe set the file names, if it names one. */
    Optional<String> probeSetId() {
        return probeSetId;
    }

    /**
     * The suspects, read lazily each time the iterable is iterated; only those in {@code only}
     * unless it is empty.
     */
    Iterable<SuspectInput> suspects(ProbeSet set, Set<String> only) {
        if (reference != null) {
            SuspectInput one = new SuspectInput(reference.reference().meta().modelId(), reference.reference().rows(),
                    new int[0]);
            return only.isEmpty() || only.contains(one.requestId()) ? List.of(one) : List.of();
        }
        if (topK != null) {
            return topK.stream().filter(m -> only.isEmpty() || only.contains(m.modelId()))
                    .map(m -> SuspectInput.topK(m.modelId(), ProbeAnswer.of(m.answers()))).toList();
        }
        return () -> new TableIterator(set, only);
    }

    /** Counts the suspects {@link #suspects} yields, by reading the file through once. */
    int count(ProbeSet set, Set<String> only) {
        int n = 0;
        for (SuspectInput ignored : suspects(set, only)) {
            n++;
        }
        return n;
    }

    @Override
    public void close() {
        for (SuspectTable.Reader r : open) {
            r.close();
        }
        open.clear();
    }

    /** Streams a table's suspects, closing its reader at the end (or at {@link #close()}). */
    private final class TableIterator implements Iterator<SuspectInput> {
        private final SuspectTable.Reader reader;
        private final Set<String> only;
        private SuspectInput next;

        TableIterator(ProbeSet set, Set<String> only) {
            this.reader = SuspectTable.open(allocator, path, set.numProbes());
            this.only = only;
            open.add(reader);
            if (reader.dim() != set.dim()) {
                finish();
                throw ImprintException.invalidArgument("%s has rows of %d values but probe set %s has dim=%d",
                        path, reader.dim(), set.id(), set.dim());
            }
            advance();
        }

        @Override
        public boolean hasNext() {
            return next != null;
        }

        @Override
        public SuspectInput next() {
            if (next == null) {
                throw new NoSuchElementException();
            }
            SuspectInput current = next;
            advance();
            return current;
        }

        private void advance() {
            next = null;
            SuspectTable.SuspectRows rows;
            while ((rows = reader.next()) != null) {
                if (only.isEmpty() || only.contains(rows.modelId())) {
                    next = new SuspectInput(rows.modelId(), rows.rows(), rows.probeIndices());
                    return;
                }
            }
            finish();
        }

        private void finish() {
            if (open.remove(reader)) {
                reader.close();
            }
        }
    }
}
