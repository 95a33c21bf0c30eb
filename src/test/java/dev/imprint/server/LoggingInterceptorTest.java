package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.GetProbeSetRequest;
import dev.imprint.api.v1.ListProbeSetsRequest;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoggingInterceptorTest {
    @TempDir
    Path dataDir;

    @Test
    void logsEveryCallWithMethodStatusAndDurationAtFineOrInfo() throws Exception {
        LogCapture capture = new LogCapture(LoggingInterceptor.class, Level.FINE);
        try (capture; ServerHarness h = ServerHarness.start(dataDir)) {
            h.stub().listProbeSets(ListProbeSetsRequest.getDefaultInstance());
            assertThrows(StatusRuntimeException.class,
                    () -> h.stub().getProbeSet(GetProbeSetRequest.newBuilder().setProbeSetId("ghost").build()));
        }
        List<LogRecord> records = capture.records();
        LogRecord ok = only(records, "imprint.v1.Imprint/ListProbeSets");
        assertEquals(Level.FINE, ok.getLevel());
        assertTrue(ok.getMessage().matches("imprint\\.v1\\.Imprint/ListProbeSets OK in \\d+\\.\\d{3} ms"), ok.getMessage());
        LogRecord failed = only(records, "imprint.v1.Imprint/GetProbeSet");
        assertEquals(Level.INFO, failed.getLevel());
        assertTrue(failed.getMessage().matches(
                "imprint\\.v1\\.Imprint/GetProbeSet NOT_FOUND: probe set ghost does not exist in \\d+\\.\\d{3} ms"),
                failed.getMessage());
    }

    private static LogRecord only(List<LogRecord> records, String method) {
        List<LogRecord> matching = records.stream().filter(r -> r.getMessage().startsWith(method + " ")).toList();
        assertEquals(1, matching.size(), "log lines for " + method + ": " + matching.stream().map(LogRecord::getMessage).toList());
        return matching.get(0);
    }
}
