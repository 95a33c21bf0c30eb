package dev.imprint.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.core.ImprintException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Set;
import java.util.function.Consumer;

/** Reading JSON Lines input files, with errors that name the file and line. */
public final class JsonLines {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonLines() {}

    /**
     * Hands each non-blank line of {@code file}, parsed, to {@code onLine}; an ImprintException it
     * throws gets "FILE line N: " in front.
     *
     * @return how many lines were handed over
     * @throws ImprintException NOT_FOUND if absent; INVALID_ARGUMENT for text that is not UTF-8 or a
     *                          line that is not JSON
     */
    public static int read(Path file, Consumer<JsonNode> onLine) {
        int count = 0;
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    onLine.accept(JSON.readTree(line));
                } catch (JsonProcessingException e) {
                    throw ImprintException.invalidArgument("%s line %d is not JSON: %s", file, number,
                            e.getOriginalMessage());
                } catch (ImprintException e) {
                    throw ImprintException.invalidArgument("%s line %d: %s", file, number, e.getMessage());
                }
                count++;
            }
        } catch (NoSuchFileException e) {
            throw ImprintException.notFound("file %s does not exist", file);
        } catch (CharacterCodingException e) {
            throw ImprintException.invalidArgument("%s is not UTF-8 text", file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return count;
    }

    /**
     * Checks that {@code node} is a JSON object with no field outside {@code fields}.
     *
     * @param hint what the error adds after "unknown field X", e.g. "; a probe has prompt or messages"
     */
    public static void requireObject(JsonNode node, Set<String> fields, String hint) {
        if (node == null || !node.isObject()) {
            throw ImprintException.invalidArgument("not a JSON object");
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!fields.contains(name)) {
                throw ImprintException.invalidArgument("unknown field %s%s", name, hint);
            }
        }
    }
}
