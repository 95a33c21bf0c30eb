package dev.imprint.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.core.ImprintException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaptureCheckpointTest {
    @TempDir
    Path dir;

    private static ObjectNode settings(String model) {
        ObjectNode s = OpenAiProtocol.JSON.createObjectNode();
        s.put("model", model);
        s.put("temperature", 1.0);
        return s;
    }

    private static ObjectNode answer(int probe) {
        ObjectNode a = OpenAiProtocol.JSON.createObjectNode();
        a.put("probe", probe);
        a.putArray("embedding").add(0.1f).add(-3.25f);
        return a;
    }

    @Test
    void resumesWithEveryRecordedAnswerAndFloatsIntact() throws Exception {
        Path file = dir.resolve("c");
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(file, settings("m"), 10)) {
            cp.record(answer(3));
            cp.record(answer(7));
        }
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(file, settings("m"), 10)) {
            assertEquals(Set.of(3, 7), cp.answered().keySet());
            assertEquals(0.1f, cp.answered().get(3).get("embedding").get(0).floatValue());
            cp.record(answer(1));
        }
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(file, settings("m"), 10)) {
            assertEquals(Set.of(1, 3, 7), cp.answered().keySet());
        }
    }

    @Test
    void aTornLastLineIsDroppedAndOverwritten() throws Exception {
        Path file = dir.resolve("c");
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(file, settings("m"), 10)) {
            cp.record(answer(2));
        }
        Files.writeString(file, "{\"probe\":5,\"embed", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(file, settings("m"), 10)) {
            assertEquals(Set.of(2), cp.answered().keySet());
            cp.record(answer(5));
        }
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(file, settings("m"), 10)) {
            assertEquals(Set.of(2, 5), cp.answered().keySet());
        }
        assertEquals(3, Files.readAllLines(file).size());
    }

    @Test
    void anotherCapturesCheckpointIsRefusedAndLeftAlone() throws Exception {
        Path file = dir.resolve("c");
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(file, settings("m"), 10)) {
            cp.record(answer(2));
        }
        byte[] before = Files.readAllBytes(file);
        ImprintException e = assertThrows(ImprintException.class,
                () -> CaptureCheckpoint.open(file, settings("other"), 10));
        assertTrue(e.getMessage().contains("was made by another capture (model: \"m\", now \"other\")"), e.getMessage());
        assertEquals(new String(before, StandardCharsets.UTF_8), Files.readString(file));
    }

    @Test
    void damageBeforeTheLastLineOrAForeignFileIsRefused() throws Exception {
        Path foreign = dir.resolve("f");
        Files.writeString(foreign, "{\"hello\":1}\n");
        assertTrue(assertThrows(ImprintException.class, () -> CaptureCheckpoint.open(foreign, settings("m"), 10))
                .getMessage().contains("is not a capture checkpoint"));
        Path file = dir.resolve("c");
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(file, settings("m"), 10)) {
            cp.record(answer(2));
        }
        Files.writeString(file, "garbage\n{\"probe\":3}\n", StandardOpenOption.APPEND);
        assertTrue(assertThrows(ImprintException.class, () -> CaptureCheckpoint.open(file, settings("m"), 10))
                .getMessage().contains("line 3 is not JSON"));
        Path hugeExponent = dir.resolve("e");
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(hugeExponent, settings("m"), 10)) {
            cp.record(answer(2));
        }
        // Found by EndpointAnswersFuzzTest: Jackson threw a bare NumberFormatException for this.
        Files.writeString(hugeExponent, "{\"probe\":3,\"embedding\":[1e9999999999]}\n", StandardOpenOption.APPEND);
        assertTrue(assertThrows(ImprintException.class, () -> CaptureCheckpoint.open(hugeExponent, settings("m"), 10))
                .getMessage().contains("line 3 is not JSON"));
        Path outOfRange = dir.resolve("r");
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(outOfRange, settings("m"), 10)) {
            cp.record(answer(9));
        }
        assertTrue(assertThrows(ImprintException.class, () -> CaptureCheckpoint.open(outOfRange, settings("m"), 5))
                .getMessage().contains("names no probe in 0..4"));
    }
}
