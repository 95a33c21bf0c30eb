package dev.imprint.client;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.Executor;

/**
 * Sends {@code authorization: Bearer <token>} with every call, what an Imprint server that
 * enforces tokens asks for. {@link #toString()} never shows the token.
 */
public final class BearerToken extends CallCredentials {
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final String token;

    /** @param token a token from {@code imprint token create}; not blank */
    public BearerToken(String token) {
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("token is blank; expected one from 'imprint token create'");
        }
        this.token = token.strip();
    }

    @Override
    public void applyRequestMetadata(RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
        try {
            Metadata headers = new Metadata();
            headers.put(AUTHORIZATION, "Bearer " + token);
            applier.apply(headers);
        } catch (RuntimeException e) {
            applier.fail(Status.UNAUTHENTICATED.withDescription("cannot attach the token").withCause(e));
        }
    }

    @Override
    public String toString() {
        return "BearerToken[redacted]";
    }
}
