package dev.imprint.core;

import java.util.Locale;

/**
 * A domain error: what went wrong, in words that name the field, the value and the expectation,
 * plus a {@link Code} that adapters (gRPC, CLI) translate into their own error vocabulary.
 */
public class ImprintException extends RuntimeException {

    /** The kind of failure; mirrors the gRPC status codes Imprint uses. */
    public enum Code {
        INVALID_ARGUMENT,
        NOT_FOUND,
        ALREADY_EXISTS,
        FAILED_PRECONDITION,
        RESOURCE_EXHAUSTED,
        /** The request's deadline passed before it was scored. */
        DEADLINE_EXCEEDED,
        /** A dependency failed for now (an I/O error); the same call may succeed later. */
        UNAVAILABLE,
        INTERNAL
    }

    private final Code code;

    public ImprintException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public ImprintException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Code code() {
        return code;
    }

    public static ImprintException invalidArgument(String format, Object... args) {
        return new ImprintException(Code.INVALID_ARGUMENT, String.format(Locale.ROOT, format, args));
    }

    public static ImprintException notFound(String format, Object... args) {
        return new ImprintException(Code.NOT_FOUND, String.format(Locale.ROOT, format, args));
    }

    public static ImprintException alreadyExists(String format, Object... args) {
        return new ImprintException(Code.ALREADY_EXISTS, String.format(Locale.ROOT, format, args));
    }

    public static ImprintException failedPrecondition(String format, Object... args) {
        return new ImprintException(Code.FAILED_PRECONDITION, String.format(Locale.ROOT, format, args));
    }

    public static ImprintException deadlineExceeded(String format, Object... args) {
        return new ImprintException(Code.DEADLINE_EXCEEDED, String.format(Locale.ROOT, format, args));
    }

    public static ImprintException resourceExhausted(String format, Object... args) {
        return new ImprintException(Code.RESOURCE_EXHAUSTED, String.format(Locale.ROOT, format, args));
    }
}
