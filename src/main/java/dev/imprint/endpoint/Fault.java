package dev.imprint.endpoint;

/**
 * A failure the synthetic endpoint plays instead of (or on top of) a correct answer, so a client
 * can be tested against what real endpoints do. Queue them with {@link Faults}.
 */
public sealed interface Fault {
    /** Answers {@code code} (e.g. 400, 500, 503) with an OpenAI-style error body. */
    static Fault status(int code) {
        if (code < 400 || code > 599) {
            throw new IllegalArgumentException("code=" + code + "; expected an error status 400..599");
        }
        return new Status(code);
    }

    /** Answers 429 with an OpenAI-style error body, and a Retry-After header when the seconds are not null. */
    static Fault rateLimited(Integer retryAfterSeconds) {
        if (retryAfterSeconds != null && retryAfterSeconds < 0) {
            throw new IllegalArgumentException("retryAfterSeconds=" + retryAfterSeconds + "; expected 0 or more, or null");
        }
        return new RateLimited(retryAfterSeconds);
    }

    /** Answers correctly, but only after sleeping {@code millis}. */
    static Fault slow(long millis) {
        if (millis < 0) {
            throw new IllegalArgumentException("millis=" + millis + "; expected 0 or more");
        }
        return new Slow(millis);
    }

    /** Closes the connection without any response; the client sees an IOException. */
    static Fault drop() {
        return new Drop();
    }

    /** Answers 200 with the first half of the correct body: not parseable JSON. */
    static Fault malformed() {
        return new Malformed();
    }

    /** Answers 200 with the correct completion, but with {@code "logprobs": null}. */
    static Fault noLogprobs() {
        return new NoLogprobs();
    }

    /** Answers 200 with logprobs, but every position's top_logprobs empty, as an endpoint that ignores the parameter does. */
    static Fault ignoreTopLogprobs() {
        return new IgnoreTopLogprobs();
    }

    record Status(int code) implements Fault {}

    record RateLimited(Integer retryAfterSeconds) implements Fault {}

    record Slow(long millis) implements Fault {}

    record Drop() implements Fault {}

    record Malformed() implements Fault {}

    record NoLogprobs() implements Fault {}

    record IgnoreTopLogprobs() implements Fault {}
}
