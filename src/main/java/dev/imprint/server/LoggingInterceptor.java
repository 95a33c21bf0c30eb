package dev.imprint.server;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Logs one line per call: method, final status and duration. Successful calls log at FINE so a
 * busy server stays quiet; failures at INFO (WARNING for INTERNAL and UNKNOWN, which are bugs).
 */
final class LoggingInterceptor implements ServerInterceptor {
    private static final Logger LOG = Logger.getLogger(LoggingInterceptor.class.getName());

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        long start = System.nanoTime();
        String method = call.getMethodDescriptor().getFullMethodName();
        AtomicBoolean logged = new AtomicBoolean();
        ServerCall<Q, R> logging = new SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                if (logged.compareAndSet(false, true)) {
                    log(method, status, start);
                }
                super.close(status, trailers);
            }
        };
        return new SimpleForwardingServerCallListener<>(next.startCall(logging, headers)) {
            @Override
            public void onCancel() {
                if (logged.compareAndSet(false, true)) {
                    log(method, Status.CANCELLED.withDescription("ended early by the client or the transport"), start);
                }
                super.onCancel();
            }
        };
    }

    private static void log(String method, Status status, long startNanos) {
        Level level = switch (status.getCode()) {
            case OK -> Level.FINE;
            case INTERNAL, UNKNOWN -> Level.WARNING;
            default -> Level.INFO;
        };
        if (LOG.isLoggable(level)) {
            long micros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - startNanos);
            String description = status.getDescription() == null ? "" : ": " + status.getDescription();
            LOG.log(level, String.format("%s %s%s in %.3f ms", method, status.getCode(), description, micros / 1000.0));
        }
    }
}
