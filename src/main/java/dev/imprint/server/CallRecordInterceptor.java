package dev.imprint.server;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
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
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Builds one {@link CallRecord} per call, refused calls included, and hands it to every
 * {@link CallSink}: who (from {@link AuthInterceptor}, through {@link CallAudit}), the method, the
 * probe set, model and request id the first request names (a PutReference's from its header), the
 * outcome, the duration and, for scoring, how many references were scored. Never a score, never a
 * token.
 *
 * <p>A call whose first request has no {@code request_id} gets one from the server, 16 hex digits,
 * so every record has one. The id goes back to the client in the response header
 * {@value #REQUEST_ID_HEADER} (in the trailers when the call ends before any header is sent),
 * unless the request's own id is not printable ASCII of at most {@value #MAX_ECHOED_ID} characters.
 */
final class CallRecordInterceptor implements ServerInterceptor {
    private static final Logger LOG = Logger.getLogger(CallRecordInterceptor.class.getName());
    static final String REQUEST_ID_HEADER = "imprint-request-id";
    static final Metadata.Key<String> REQUEST_ID = Metadata.Key.of(REQUEST_ID_HEADER, Metadata.ASCII_STRING_MARSHALLER);
    static final int MAX_ECHOED_ID = 256;

    private final List<CallSink> sinks = new CopyOnWriteArrayList<>();

    /** Hands the record of every call that ends from now on to {@code sink} too. */
    void add(CallSink sink) {
        sinks.add(sink);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        Recording recording = new Recording(call.getMethodDescriptor().getFullMethodName());
        ServerCall<Q, R> recorded = new SimpleForwardingServerCall<>(call) {
            private volatile boolean headersSent;

            @Override
            public void sendHeaders(Metadata responseHeaders) {
                recording.echoRequestId(responseHeaders);
                headersSent = true;
                super.sendHeaders(responseHeaders);
            }

            @Override
            public void sendMessage(R message) {
                if (message instanceof Message m) {
                    recording.noteResponse(m);
                }
                super.sendMessage(message);
            }

            @Override
            public void close(Status status, Metadata trailers) {
                if (!headersSent) {
                    recording.echoRequestId(trailers);
                }
                // Before the status goes out, so the client never sees a call its record lacks.
                recording.finish(status.getCode(), status.getDescription());
                super.close(status, trailers);
            }
        };
        Context context = Context.current().withValue(CallAudit.KEY, recording.who);
        ServerCall.Listener<Q> inner = Contexts.interceptCall(context, recorded, headers, next);
        return new SimpleForwardingServerCallListener<>(inner) {
            @Override
            public void onMessage(Q message) {
                if (message instanceof Message m) {
                    recording.noteRequest(m);
                }
                super.onMessage(message);
            }

            @Override
            public void onCancel() {
                recording.finish(Status.Code.CANCELLED, "ended early by the client or the transport");
                super.onCancel();
            }
        };
    }

    /** What one call has shown so far; its record is handed on once: at close, or at cancel if it never closed. */
    private final class Recording {
        final Instant time = Instant.now();
        final long start = System.nanoTime();
        final String method;
        final CallAudit who = new CallAudit();
        final AtomicBoolean finished = new AtomicBoolean();
        final AtomicLong scored = new AtomicLong(-1);
        private boolean noted;
        private String probeSetId;
        private String modelId;
        private String requestId;
        private boolean assigned;

        Recording(String method) {
            this.method = method;
        }

        synchronized void noteRequest(Message m) {
            if (noted) {
                return;
            }
            noted = true;
            probeSetId = string(m, "probe_set_id");
            modelId = string(m, "model_id");
            if (requestId == null) {
                requestId = string(m, "request_id");
            }
        }

        /** The call's request id: the first request's, else one assigned now and kept. */
        synchronized String requestId() {
            if (requestId == null) {
                requestId = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
                assigned = true;
            }
            return requestId;
        }

        void echoRequestId(Metadata metadata) {
            String id = requestId();
            if (id.length() <= MAX_ECHOED_ID && id.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
                metadata.put(REQUEST_ID, id);
            }
        }

        void noteResponse(Message m) {
            FieldDescriptor f = m.getDescriptorForType().findFieldByName("references_scored");
            if (f != null) {
                long n = ((Number) m.getField(f)).longValue();
                scored.accumulateAndGet(n, (sum, more) -> Math.max(sum, 0) + more);
            }
        }

        void finish(Status.Code outcome, String description) {
            if (!finished.compareAndSet(false, true)) {
                return;
            }
            long n = scored.get();
            String id = requestId();
            CallRecord record;
            synchronized (this) {
                record = new CallRecord(time, method, who.token, who.role, who.tenant, probeSetId, modelId, id, assigned, outcome,
                        description, System.nanoTime() - start, n < 0 ? null : n);
            }
            for (CallSink sink : sinks) {
                try {
                    sink.accept(record);
                } catch (RuntimeException e) {
                    // A sink that fails must not fail the call, nor keep the other sinks from their record.
                    LOG.log(Level.WARNING, "cannot record call " + method + " to " + sink + ": " + e, e);
                }
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
