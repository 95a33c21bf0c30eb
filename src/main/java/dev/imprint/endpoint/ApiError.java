package dev.imprint.endpoint;

/** A request the endpoint refuses, thrown while reading it and answered as an OpenAI error body. */
final class ApiError extends RuntimeException {
    private final transient Reply reply;

    ApiError(int status, String message, String param, String code) {
        super(message);
        this.reply = Reply.error(status, message, "invalid_request_error", param, code);
    }

    /** A 400 that names the field at fault. */
    static ApiError badRequest(String param, String message) {
        return new ApiError(400, message, param, null);
    }

    Reply reply() {
        return reply;
    }
}
