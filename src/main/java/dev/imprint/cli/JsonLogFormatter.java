package dev.imprint.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.server.CallLog;
import java.io.UncheckedIOException;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * One JSON object per record, the whole line ({@code serve --log-format json}): {@code time}
 * (UTC), {@code level}, {@code logger}, then a call's fields ({@link CallLog.Line}) or else
 * {@code message} and, if any, {@code error} (the exception in one line).
 */
final class JsonLogFormatter extends Formatter {
    static final JsonLogFormatter INSTANCE = new JsonLogFormatter();
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String format(LogRecord r) {
        ObjectNode line = JSON.createObjectNode();
        line.put("time", r.getInstant().toString());
        line.put("level", r.getLevel().getName());
        line.put("logger", r.getLoggerName());
        if (r instanceof CallLog.Line call) {
            call.fields().forEach((name, value) -> {
                if (value instanceof Double d) {
                    line.put(name, d);
                } else if (value instanceof Long n) {
                    line.put(name, n);
                } else {
                    line.put(name, value.toString());
                }
            });
        } else {
            line.put("message", formatMessage(r));
            if (r.getThrown() != null) {
                line.put("error", r.getThrown().toString());
            }
        }
        try {
            return JSON.writeValueAsString(line) + System.lineSeparator();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
