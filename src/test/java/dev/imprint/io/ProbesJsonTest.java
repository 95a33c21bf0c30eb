package dev.imprint.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ChatMessage;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Probe;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProbesJsonTest {
    @TempDir
    Path dir;

    private static final List<Probe> PROBES = List.of(Probe.completion("The capital of France is"),
            Probe.chat(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Say \"ü\"\nnow"))),
            Probe.completion("def f(x):\n    return"));

    @Test
    void linesAndArraysRoundTripEveryCharacter() throws IOException {
        Path file = dir.resolve("probes.jsonl");
        ProbesJson.writeLines(file, PROBES);
        assertEquals(PROBES, ProbesJson.readLines(file));
        assertEquals(3, Files.readAllLines(file, StandardCharsets.UTF_8).size(), "one probe per line");
        assertEquals(PROBES, ProbesJson.fromArray(ProbesJson.toArray(PROBES)));
    }

    @Test
    void blankLinesAreSkippedAndEveryBadLineIsNamed() throws IOException {
        assertEquals(List.of(Probe.completion("a")), ProbesJson.readLines(write("\n{\"prompt\": \"a\"}\n\n")));
        assertBad("{\"prompt\": \"a\"}\n{\"prompt\": ", "line 2 is not JSON");
        assertBad("{\"prompt\": \"a\", \"temperature\": 1}", "line 1: unknown field temperature");
        assertBad("{\"prompt\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": \"b\"}]}",
                "line 1: a probe has both a prompt and messages");
        assertBad("{}", "line 1: a probe has neither a prompt nor messages");
        assertBad("{\"messages\": [{\"role\": \"robot\", \"content\": \"b\"}]}", "line 1: message role=robot");
        assertBad("{\"prompt\": 7}", "line 1: prompt is not a string");
        assertBad("[1, 2]", "line 1: not a JSON object");
        assertBad("\n\n", "holds no probes");
        ImprintException missing = assertThrows(ImprintException.class,
                () -> ProbesJson.readLines(dir.resolve("nope.jsonl")));
        assertEquals(ImprintException.Code.NOT_FOUND, missing.code());
    }

    @Test
    void theShippedGeneralProbeSetHas256DistinctProbes() throws IOException {
        List<Probe> shipped = ProbesJson.readLines(Path.of("src/main/resources/dev/imprint/probes/general-256.jsonl"));
        assertEquals(256, shipped.size());
        assertEquals(256, shipped.stream().distinct().count(), "no probe twice");
        assertTrue(shipped.stream().anyMatch(p -> p.prompt() != null) && shipped.stream().anyMatch(p -> p.prompt() == null),
                "completion and chat probes both");
        Path again = dir.resolve("again.jsonl");
        ProbesJson.writeLines(again, shipped);
        assertEquals(Files.readString(Path.of("src/main/resources/dev/imprint/probes/general-256.jsonl")),
                Files.readString(again), "an export of the shipped set is the shipped file, byte for byte");
    }

    private Path write(String text) throws IOException {
        return Files.writeString(dir.resolve("in.jsonl"), text, StandardCharsets.UTF_8);
    }

    private void assertBad(String text, String expected) throws IOException {
        Path file = write(text);
        ImprintException e = assertThrows(ImprintException.class, () -> ProbesJson.readLines(file));
        assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }
}
