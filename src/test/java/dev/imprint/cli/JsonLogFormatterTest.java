package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.security.Role;
import dev.imprint.server.CallLog;
import dev.imprint.server.CallRecord;
import dev.imprint.server.LogCapture;
import io.grpc.Status;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class JsonLogFormatterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aCallLineIsOneJsonObjectWithTheCallsFieldsAndNothingAroundIt() throws IOException {
        LogRecord record;
        try (LogCapture capture = new LogCapture(CallLog.class, Level.INFO)) {
            new CallLog(CallLog.Mode.ALL).accept(new CallRecord(Instant.now(), "imprint.v1.Imprint/Score", "alice",
                    Role.SCORER, null, "ps1", null, "ab12", false, Status.Code.OK, null, 1_234_567, 8L));
            record = capture.records().get(0);
        }

        String line = JsonLogFormatter.INSTANCE.format(record);

        assertTrue(line.startsWith("{") && line.endsWith("}" + System.lineSeparator()), line);
        assertEquals(1, line.lines().count(), line);
        JsonNode json = JSON.readTree(line);
        assertEquals(List.of("time", "level", "logger", "method", "probe_set", "status", "duration_ms", "request_id",
                "token", "role", "scored"), fieldNames(json));
        assertEquals(record.getInstant().toString(), json.get("time").asText());
        assertEquals("INFO", json.get("level").asText());
        assertEquals(CallLog.class.getName(), json.get("logger").asText());
        assertEquals("imprint.v1.Imprint/Score", json.get("method").asText());
        assertEquals("OK", json.get("status").asText());
        assertTrue(json.get("duration_ms").isNumber());
        assertEquals(1.235, json.get("duration_ms").asDouble());
        assertEquals("ab12", json.get("request_id").asText());
        assertEquals("alice", json.get("token").asText());
        assertEquals(8, json.get("scored").asLong());
    }

    @Test
    void anyOtherRecordIsOneJsonObjectWithItsMessageAndErrorEvenAcrossNewlines() throws IOException {
        LogRecord record = new LogRecord(Level.WARNING, "cannot close\nthe audit log");
        record.setLoggerName("dev.imprint.server.ImprintServer");
        record.setThrown(new IOException("disk gone"));

        String line = JsonLogFormatter.INSTANCE.format(record);

        assertEquals(1, line.lines().count(), line);
        JsonNode json = JSON.readTree(line);
        assertEquals(List.of("time", "level", "logger", "message", "error"), fieldNames(json));
        assertEquals("WARNING", json.get("level").asText());
        assertEquals("cannot close\nthe audit log", json.get("message").asText());
        assertEquals("java.io.IOException: disk gone", json.get("error").asText());
        assertFalse(json.has("method"));
    }

    private static List<String> fieldNames(JsonNode json) {
        List<String> names = new java.util.ArrayList<>();
        json.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
