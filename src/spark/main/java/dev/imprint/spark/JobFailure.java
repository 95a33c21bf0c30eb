package dev.imprint.spark;

import dev.imprint.core.ImprintException;

/**
 * Turns what a Spark job throws into the one line a user needs. A task's ImprintException (bad
 * input naming its file and row, a data directory that changed, no usable GPU) reaches the driver
 * wrapped in Spark's "Job aborted due to stage failure ... failed 4 times" exception; this finds it
 * in the cause chain, or failing that in the message Spark built from it.
 */
final class JobFailure {
    private static final String MARKER = ImprintException.class.getName() + ": ";

    private JobFailure() {}

    /** The message of the ImprintException behind {@code e}, else its own first line. */
    static String oneLine(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ImprintException) {
                return firstLine(t.getMessage());
            }
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage());
            int at = message.indexOf(MARKER);
            if (at >= 0) {
                return firstLine(message.substring(at + MARKER.length()));
            }
        }
        return firstLine(e.getClass().getSimpleName() + ": " + e.getMessage());
    }

    /**
     * What the job throws for {@code e}: the ImprintException of a task, with its code and one-line
     * message; any other failure (a task that failed for another reason on every attempt, a lost
     * cluster) as an ImprintException UNAVAILABLE saying the job failed and why, its cause kept.
     */
    static ImprintException translate(Exception e) {
        if (e instanceof ImprintException imprint) {
            return imprint;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ImprintException imprint) {
                return new ImprintException(imprint.code(), firstLine(imprint.getMessage()), e);
            }
        }
        if (isImprintFailure(e)) {
            return new ImprintException(ImprintException.Code.INVALID_ARGUMENT, oneLine(e), e);
        }
        return new ImprintException(ImprintException.Code.UNAVAILABLE, "the Spark job failed: " + oneLine(e), e);
    }

    /** Whether {@code e} comes from bad input or settings (an ImprintException), not from Spark or a bug. */
    static boolean isImprintFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ImprintException || String.valueOf(t.getMessage()).contains(MARKER)) {
                return true;
            }
        }
        return false;
    }

    static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int end = message.indexOf('\n');
        return (end < 0 ? message : message.substring(0, end)).trim();
    }
}
