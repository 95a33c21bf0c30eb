package dev.imprint.capture;

/**
 * An answer the endpoint gave in full that cannot be used: no logprobs, too few top logprobs, no
 * embedding. Asking again would get the same, so it is never retried.
 */
final class BadAnswer extends Exception {
    BadAnswer(String message) {
        super(message);
    }
}
