package dev.imprint.core;

import java.util.Arrays;
import java.util.Locale;

/** What a reference is for in attribution. */
public enum ReferenceRole {
    /** A model a lab protects: a candidate teacher, and a control for the other candidates. */
    PROTECTED,
    /**
     * A model known to be independent of the suspects (an open model, a lab's own unrelated one):
     * a control and part of the null, never named as a teacher.
     */
    BACKGROUND;

    /** The lowercase name used in files and on the command line. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code protected} or {@code background}, in any case.
     *
     * @throws ImprintException INVALID_ARGUMENT naming {@code field} for anything else
     */
    public static ReferenceRole parse(String field, String value) {
        for (ReferenceRole role : values()) {
            if (role.name().equalsIgnoreCase(value)) {
                return role;
            }
        }
        throw ImprintException.invalidArgument("%s=%s is not a role; expected one of %s", field, value,
                Arrays.stream(values()).map(ReferenceRole::wireName).toList());
    }
}
