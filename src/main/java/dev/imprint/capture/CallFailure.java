package dev.imprint.capture;

import java.time.Duration;

/** One HTTP call that did not give a usable answer, and what to do about it. */
final class CallFailure extends Exception {
    /** What the failure means for the capture. */
    enum Kind {
        /** Worth asking again after a pause: 429, 408, 5xx, a timeout, a dropped connection, a garbled body. */
        RETRYABLE,
        /** This probe cannot be captured (e.g. 400 for a prompt the model refuses); the others go on. */
        PROBE,
        /** No probe can be (a refused key, an unknown model or route, an endpoint without logprobs): stop. */
        FATAL
    }

    private final Kind kind;
    private final Duration retryAfter;

    /** @param retryAfter how long the endpoint asked to wait (Retry-After), or null */
    CallFailure(Kind kind, String message, Duration retryAfter) {
        super(message);
        this.kind = kind;
        this.retryAfter = retryAfter;
    }

    Kind kind() {
        return kind;
    }

    /** The endpoint's Retry-After, or null when it gave none. */
    Duration retryAfter() {
        return retryAfter;
    }
}
