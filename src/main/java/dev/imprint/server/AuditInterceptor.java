package dev.imprint.server;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import dev.imprint.security.AuditLog;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes one {@link AuditLog} line per call of a guarded service, refused calls included: who
 * (from {@link AuthInterceptor}, through {@link CallAudit}), the method, the probe set, model and
 * request id the first request names (a PutReference's from its header), the outcome, the
 * duration and, for scoring, how many references were scored. Never a score, never a token.
 */
final class AuditInterceptor implements ServerInterceptor {
    private final AuditLog log;

    AuditInterceptor(AuditLog log) {
        this.log = log;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        if (MethodRoles.open(method)) {
            return next.startCall(call, headers);
        }
        Line line = new Line(method);
        ServerCall<Q, R> auditing = new SimpleForwardingServerCall<>(call) {
            @Override
            public void sendMessage(R message) {
                if (message instanceof Message m) {
                    line.noteResponse(m);
                }
                super.sendMessage(message);
            }

            @Override
            public void close(Status status, Metadata trailers) {
                line.finish(status.getCode());
                super.close(status, trailers);
            }
        };
        Context context = Context.current().withValue(CallAudit.KEY, line.who);
        ServerCall.Listener<Q> inner = Contexts.interceptCall(context, auditing, headers, next);
        return new SimpleForwardingServerCallListener<>(inner) {
            @Override
            public void onMessage(Q message) {
                if (message instanceof Message m) {
                    line.noteRequest(m);
                }
                super.onMessage(message);
            }

            @Override
            public void onCancel() {
                line.finish(Status.Code.CANCELLED);
                super.onCancel();
            }
        };
    }

    /** The line of one call, written once: at close, or at cancel if the call never closed. */
    private final class Line {
        final Instant time = Instant.now();
        final long start = System.nanoTime();
        final String method;
        final CallAudit who = new CallAudit();
        final AtomicBoolean written = new AtomicBoolean();
        final AtomicLong scored = new AtomicLong(-1);
        volatile String probeSetId;
        volatile String modelId;
        volatile String requestId;

        Line(String method) {
            this.method = method;
        }

        void noteRequest(Message m) {
            probeSetId = probeSetId != null ? probeSetId : string(m, "probe_set_id");
            modelId = modelId != null ? modelId : string(m, "model_id");
            requestId = requestId != null ? requestId : string(m, "request_id");
        }

        void noteResponse(Message m) {
            FieldDescriptor f = m.getDescriptorForType().findFieldByName("references_scored");
            if (f != null) {
                long n = ((Number) m.getField(f)).longValue();
                scored.accumulateAndGet(n, (sum, more) -> Math.max(sum, 0) + more);
            }
        }

        void finish(Status.Code outcome) {
            if (written.compareAndSet(false, true)) {
                long n = scored.get();
                log.append(new AuditLog.Entry(time, who.token, who.role, method, probeSetId, modelId, requestId,
                        outcome.name(), (System.nanoTime() - start) / 1e6, n < 0 ? null : n));
            }
        }
    }

    /** The non-empty string field {@code name} of {@code m}, or of its {@code header}; else null. */
    private static String string(Message m, String name) {
        FieldDescriptor f = m.getDescriptorForType().findFieldByName(name);
        if (f != null && f.getJavaType() == FieldDescriptor.JavaType.STRING && !f.isRepeated()) {
            String value = (String) m.getField(f);
            return value.isEmpty() ? null : value;
        }
        FieldDescriptor header = m.getDescriptorForType().findFieldByName("header");
        if (header != null && header.getJavaType() == FieldDescriptor.JavaType.MESSAGE && m.hasField(header)) {
            return string((Message) m.getField(header), name);
        }
        return null;
    }
}
