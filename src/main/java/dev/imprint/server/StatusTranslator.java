package dev.imprint.server;

import dev.imprint.core.ImprintException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import java.util.EnumMap;
import java.util.Map;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one place where domain errors become gRPC statuses and back.
 *
 * <p>An {@link ImprintException} keeps its message and maps code for code. Anything else is a bug
 * or an environment failure: it is logged with its stack trace under a short incident id and
 * reaches the client as INTERNAL carrying only that id, never the exception's text or trace.
 */
public final class StatusTranslator {
    private static final Logger LOG = Logger.getLogger(StatusTranslator.class.getName());
    private static final Map<ImprintException.Code, Status.Code> CODES = new EnumMap<>(Map.of(
            ImprintException.Code.INVALID_ARGUMENT, Status.Code.INVALID_ARGUMENT,
            ImprintException.Code.NOT_FOUND, Status.Code.NOT_FOUND,
            ImprintException.Code.ALREADY_EXISTS, Status.Code.ALREADY_EXISTS,
            ImprintException.Code.FAILED_PRECONDITION, Status.Code.FAILED_PRECONDITION,
            ImprintException.Code.RESOURCE_EXHAUSTED, Status.Code.RESOURCE_EXHAUSTED,
            ImprintException.Code.DEADLINE_EXCEEDED, Status.Code.DEADLINE_EXCEEDED,
            ImprintException.Code.UNAVAILABLE, Status.Code.UNAVAILABLE,
            ImprintException.Code.INTERNAL, Status.Code.INTERNAL));

    private StatusTranslator() {}

    /** The status a failure of {@code method} reports to the client. */
    public static StatusRuntimeException toStatus(String method, Throwable failure) {
        return toStatus(method, "", failure);
    }

    /**
     * The status a failure of {@code method} reports to the client, its description prefixed with
     * {@code context} (such as which request of a stream failed).
     */
    public static StatusRuntimeException toStatus(String method, String context, Throwable failure) {
        if (failure instanceof ImprintException e) {
            if (e.code() == ImprintException.Code.INTERNAL) {
                LOG.log(Level.WARNING, method + " failed: " + e.getMessage(), e);
            }
            return Status.fromCodeValue(CODES.get(e.code()).value()).withDescription(context + e.getMessage())
                    .asRuntimeException();
        }
        if (failure instanceof StatusRuntimeException e) {
            return e;
        }
        if (failure instanceof StatusException e) {
            return e.getStatus().asRuntimeException(e.getTrailers());
        }
        String incident = UUID.randomUUID().toString().substring(0, 8);
        LOG.log(Level.SEVERE, method + " failed unexpectedly (incident " + incident + ")", failure);
        return Status.INTERNAL.withDescription(context + "internal error (incident " + incident
                + "); the server log has the details").asRuntimeException();
    }

    /**
     * The domain error a client call's status stands for: an {@link ImprintException} with the same
     * code and description where Imprint has that code, else {@code e} itself (UNAVAILABLE,
     * CANCELLED...), which is a transport matter rather than a domain one. UNAVAILABLE stays a
     * status even when the server sent it for an I/O error: clients tell an unreachable server by it.
     */
    public static RuntimeException fromStatus(StatusRuntimeException e) {
        Status status = e.getStatus();
        if (status.getCode() == Status.Code.UNAVAILABLE) {
            return e;
        }
        for (Map.Entry<ImprintException.Code, Status.Code> c : CODES.entrySet()) {
            if (c.getValue() == status.getCode()) {
                String description = status.getDescription() == null ? status.getCode().name()
                        : status.getDescription();
                return new ImprintException(c.getKey(), description, e);
            }
        }
        return e;
    }
}
