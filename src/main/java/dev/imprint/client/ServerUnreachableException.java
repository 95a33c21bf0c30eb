package dev.imprint.client;

/**
 * No Imprint server answered at a target: nothing listens there, the host is unknown, what
 * answers is not a gRPC server, or it stayed silent past the deadline. The message says which, in
 * one line that starts with "cannot reach HOST:PORT".
 */
public final class ServerUnreachableException extends RuntimeException {
    public ServerUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
