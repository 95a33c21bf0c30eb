package dev.imprint.cli;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The failure of one item of a command that goes through several (put's files, delete's
 * references) and stops at the first that fails: its one-line message says how far the run got.
 */
final class Partway {
    private Partway() {}

    /**
     * Item {@code index} of {@code total} failed with {@code e}; the ones before it were done.
     *
     * @param prefix put before the message (the item, when the message does not name it), or ""
     * @param done   what happened to the items before it, e.g. "files put"
     * @return what to throw: {@code e} as it is when there was one item or it is a bug, else a one-line
     *     CliException ending "(N of M DONE before it; the K after it not tried)"
     */
    static RuntimeException failure(Exception e, String prefix, int index, int total, String done) {
        String message = ImprintCli.describe(e);
        if (total == 1 || message == null) {
            return e instanceof RuntimeException r ? r : new UncheckedIOException((IOException) e);
        }
        return new CliException(String.format("%s%s (%d of %d %s before it; the %d after it not tried)", prefix,
                message, index, total, done, total - index - 1));
    }
}
