package dev.imprint.cli;

/**
 * A failure a command reports to the user in one line (no stack trace), exiting with
 * {@link ImprintCli#EXIT_FAILURE}: a missing input, a file of the wrong kind, a demo check that
 * did not hold.
 */
public final class CliException extends RuntimeException {
    public CliException(String message) {
        super(message);
    }
}
