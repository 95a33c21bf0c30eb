package dev.imprint.server;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.grpc.Status;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * Logs one line per call on this class's logger: INFO, or WARNING for INTERNAL and UNKNOWN (bugs).
 * The message is {@code call} and the call's fields as {@code key=value}, e.g.
 * {@code call method=imprint.v1.Imprint/Score probe_set=s status=OK duration_ms=1.234 request_id=ab12 token=alice role=scorer scored=8};
 * a value with a space, quote or other character outside {@code [A-Za-z0-9_.:/@+-]} is a JSON
 * string. Each record is a {@link Line} carrying the same fields, for a formatter that writes JSON.
 *
 * <p>Fields, those that do not apply left out: {@code method}, {@code probe_set}, {@code model},
 * {@code status} (the gRPC code), {@code duration_ms}, {@code request_id} (the request's own, or
 * the one the server assigned), {@code token} (its name, never the token), {@code role},
 * {@code scored} (references scored), {@code error} (the status description of a failed call).
 * Never a score value.
 */
public final class CallLog implements CallSink {
    private static final Logger LOG = Logger.getLogger(CallLog.class.getName());
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_.:/@+-]+");

    /** Which calls are logged ({@code serve --log-calls}). */
    public enum Mode {
        ALL, FAILURES, OFF
    }

    private final Mode mode;

    public CallLog(Mode mode) {
        this.mode = mode;
    }

    @Override
    public void accept(CallRecord call) {
        if (mode == Mode.OFF || (mode == Mode.FAILURES && call.outcome() == Status.Code.OK)) {
            return;
        }
        Level level = call.outcome() == Status.Code.INTERNAL || call.outcome() == Status.Code.UNKNOWN
                ? Level.WARNING : Level.INFO;
        if (LOG.isLoggable(level)) {
            Line line = new Line(level, fields(call));
            line.setLoggerName(LOG.getName());
            LOG.log(line);
        }
    }

    /** The fields of {@code call}'s line, in order; values are strings, but {@code duration_ms} (Double) and {@code scored} (Long). */
    static Map<String, Object> fields(CallRecord call) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("method", call.method());
        putIfSet(f, "probe_set", call.probeSetId());
        putIfSet(f, "model", call.modelId());
        f.put("status", call.outcome().name());
        f.put("duration_ms", Math.round(call.durationMillis() * 1000) / 1000.0);
        f.put("request_id", call.requestId());
        putIfSet(f, "token", call.token());
        putIfSet(f, "role", call.role() == null ? null : call.role().wireName());
        putIfSet(f, "tenant", call.tenant());
        putIfSet(f, "scored", call.referencesScored());
        if (call.outcome() != Status.Code.OK) {
            putIfSet(f, "error", call.description());
        }
        return f;
    }

    private static void putIfSet(Map<String, Object> fields, String name, Object value) {
        if (value != null && !"".equals(value)) {
            fields.put(name, value);
        }
    }

    /** {@code call key=value ...}, each value plain or a JSON string. */
    static String text(Map<String, Object> fields) {
        StringBuilder s = new StringBuilder("call");
        fields.forEach((name, value) -> {
            s.append(' ').append(name).append('=');
            if (value instanceof Double d) {
                s.append(String.format(Locale.ROOT, "%.3f", d));
            } else if (value instanceof Number) {
                s.append(value);
            } else if (PLAIN.matcher(value.toString()).matches()) {
                s.append(value);
            } else {
                s.append('"').append(JsonStringEncoder.getInstance().quoteAsString(value.toString())).append('"');
            }
        });
        return s.toString();
    }

    /** The log record of one call: the text line as its message, and its fields by name. */
    public static final class Line extends LogRecord {
        private final transient Map<String, Object> fields;

        Line(Level level, Map<String, Object> fields) {
            super(level, text(fields));
            this.fields = Collections.unmodifiableMap(fields);
        }

        /** The call's fields, in order: strings, but {@code duration_ms} (Double) and {@code scored} (Long). */
        public Map<String, Object> fields() {
            return fields;
        }
    }
}
