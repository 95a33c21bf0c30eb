package dev.imprint.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.imprint.core.ImprintException;
import dev.imprint.io.ProbesJson;
import dev.imprint.io.SupportsJson;
import dev.imprint.testing.FuzzScratch;
import dev.imprint.topk.TopKAnswers;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The JSON input files users write or tools hand over (top-k answers, probes, supports.json) on
 * arbitrary bytes: each is read or refused with an ImprintException naming the file and line,
 * never anything else. Inputs under {@code JsonLinesFuzzTestInputs/} replay as ordinary tests. The
 * readers take a path: each input is written to one reused file in memory ({@link FuzzScratch}).
 */
class JsonLinesFuzzTest {
    private static final int MAX_EXECUTIONS = 1_000_000;

    private interface FileRead {
        void read(Path file);
    }

    private static void refuseOrRead(byte[] data, FileRead read) throws IOException {
        Path file = FuzzScratch.write("input.jsonl", data);
        try {
            read.read(file);
        } catch (ImprintException expected) {
            // a clear refusal
        }
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void topKAnswers(byte[] data) throws IOException {
        refuseOrRead(data, TopKAnswers::read);
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void probes(byte[] data) throws IOException {
        refuseOrRead(data, ProbesJson::readLines);
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void supports(byte[] data) throws IOException {
        refuseOrRead(data, SupportsJson::read);
    }
}
