package dev.imprint.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dataDir;

    @Test
    void linesReadBackInOrderAcrossRotationsAndOnlyKeepOldFilesSurvive() throws Exception {
        int written = 200;
        try (AuditLog log = AuditLog.open(dataDir, 2000, 3)) {
            for (int i = 0; i < written; i++) {
                log.append(entry(i));
            }
        }
        List<Path> files = AuditLog.files(dataDir);
        assertEquals(4, files.size(), files.toString());
        List<JsonNode> lines = new ArrayList<>();
        for (Path f : files) {
            assertTrue(Files.size(f) <= 2000, f + " has " + Files.size(f) + " bytes");
            for (String line : Files.readAllLines(f)) {
                lines.add(JSON.readTree(line));
            }
        }
        assertFalse(Files.exists(dataDir.resolve(AuditLog.DIR).resolve(AuditLog.FILE + ".4")));
        // The newest lines survive, contiguous and in order, ending with the last one written.
        int first = written - lines.size();
        assertTrue(first > 0, "rotation dropped nothing");
        for (int i = 0; i < lines.size(); i++) {
            assertEquals("req-" + (first + i), lines.get(i).get("request_id").asText());
        }
        JsonNode last = lines.get(lines.size() - 1);
        assertEquals("scorer-1", last.get("token").asText());
        assertEquals("scorer", last.get("role").asText());
        assertEquals("OK", last.get("outcome").asText());
        assertEquals(3, last.get("references_scored").asInt());
        assertFalse(last.has("model_id"));
    }

    @Test
    void reopeningAppendsToTheExistingFile() throws Exception {
        try (AuditLog log = AuditLog.open(dataDir, 1 << 20, 1)) {
            log.append(entry(0));
        }
        try (AuditLog log = AuditLog.open(dataDir, 1 << 20, 1)) {
            log.append(entry(1));
        }
        assertEquals(2, Files.readAllLines(AuditLog.files(dataDir).get(0)).size());
    }

    private static AuditLog.Entry entry(int i) {
        return new AuditLog.Entry(Instant.parse("2026-01-31T12:00:00Z").plusSeconds(i), "scorer-1", Role.SCORER,
                null, "imprint.v1.Imprint/Score", "ps1", null, "req-" + i, "OK", 1.25, 3L);
    }
}
