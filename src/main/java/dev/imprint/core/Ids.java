package dev.imprint.core;

import java.util.regex.Pattern;

/**
 * Validation of probe-set and model ids. Ids become file names in the store, so the alphabet is
 * closed and the path components "." and ".." are refused outright.
 */
public final class Ids {
    public static final int MAX_LENGTH = 128;
    private static final Pattern ALLOWED = Pattern.compile("[A-Za-z0-9._:-]+");

    private Ids() {}

    /**
     * Returns {@code value} if it is a valid id, else throws INVALID_ARGUMENT naming {@code field}.
     */
    public static String requireValid(String field, String value) {
        if (value == null || value.isEmpty()) {
            throw ImprintException.invalidArgument("%s is empty; expected 1..%d characters of [A-Za-z0-9._:-]",
                    field, MAX_LENGTH);
        }
        if (value.length() > MAX_LENGTH) {
            throw ImprintException.invalidArgument("%s has %d characters; at most %d are allowed",
                    field, value.length(), MAX_LENGTH);
        }
        if (!ALLOWED.matcher(value).matches()) {
            throw ImprintException.invalidArgument("%s='%s' has characters outside [A-Za-z0-9._:-]",
                    field, printable(value));
        }
        if (value.equals(".") || value.equals("..")) {
            throw ImprintException.invalidArgument("%s='%s' is not allowed: it names a directory", field, value);
        }
        return value;
    }

    private static String printable(String value) {
        StringBuilder out = new StringBuilder();
        value.codePoints().limit(40).forEach(c -> {
            if (c >= 0x20 && c < 0x7f) {
                out.appendCodePoint(c);
            } else {
                out.append(String.format("\\u%04x", c));
            }
        });
        return value.length() > 40 ? out + "..." : out.toString();
    }
}
