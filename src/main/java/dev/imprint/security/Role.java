package dev.imprint.security;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What a token may do. {@code admin} may do everything (probe sets, references, tokens);
 * {@code writer} puts and deletes references; {@code scorer} scores; every role may read
 * (get, list, server info). Which RPC needs which role is {@code server.MethodRoles}.
 */
public enum Role {
    ADMIN, WRITER, SCORER, READER;

    /** The lower-case name used on the command line, in tokens.json and in the audit log. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The role named {@code name} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the value and the roles there are
     */
    public static Role parse(String name) {
        for (Role r : values()) {
            if (r.wireName().equalsIgnoreCase(name)) {
                return r;
            }
        }
        throw new IllegalArgumentException("role '" + name + "' is unknown; expected one of " + names());
    }

    /** "admin, writer, scorer, reader". */
    public static String names() {
        return Arrays.stream(values()).map(Role::wireName).collect(Collectors.joining(", "));
    }
}
