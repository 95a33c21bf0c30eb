package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.GetProbeSetRequest;
import dev.imprint.api.v1.ListProbeSetsRequest;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoggingInterceptorTest {
    @TempDir
    Path dataDir;

    @Test
    void logsEveryCallWithMethodStatusAndDurationAtFineOrInfo() throws Exception {
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        capture.setLevel(Level.ALL);
        Logger logger = Logger.getLogger(LoggingInterceptor.class.getName());
        Level previous = logger.getLevel();
        logger.setLevel(Level.FINE);
        logger.addHandler(capture);
        try (ServerHarness h = ServerHarness.start(dataDir)) {
            h.stub().listProbeSets(ListProbeSetsRequest.getDefaultInstance());
            assertThrows(StatusRuntimeException.class,
                    () -> h.stub().getProbeSet(GetProbeSetRequest.newBuilder().setProbeSetId("ghost").build()));
        } finally {
            logger.removeHandler(capture);
            logger.setLevel(previous);
        }
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
