package dev.imprint.server;

import dev.imprint.security.Role;
import io.grpc.Status;
import java.time.Instant;

/**
 * What the server knows about one finished call, built once by {@link CallRecordInterceptor} and
 * handed to every {@link CallSink}: the audit log, the call log, the metrics. It holds counts and
 * names, never a token or a score.
 *
 * @param time              when the call started
 * @param method            the full method name, e.g. {@code imprint.v1.Imprint/Score}
 * @param token             the name of the caller's token; null when no token was checked or it was unknown
 * @param role              that token's role; null likewise
 * @param tenant            that token's tenant; null for the default tenant
 * @param probeSetId        the probe set the first request names (a PutReference's from its header); else null
 * @param modelId           the model the first request names; else null
 * @param requestId         the request's own {@code request_id} or, when it has none, one the server assigned
 * @param requestIdAssigned whether the server assigned {@code requestId}
 * @param outcome           the status code the call ended with; CANCELLED when the client or transport ended it
 * @param description       the status description; null for none
 * @param durationNanos     from the call's start to its end
 * @param referencesScored  references scored over the call (Score, ScoreStream); else null
 */
public record CallRecord(Instant time, String method, String token, Role role, String tenant, String probeSetId,
                         String modelId, String requestId, boolean requestIdAssigned, Status.Code outcome, String description,
                         long durationNanos, Long referencesScored) {

    public double durationSeconds() {
        return durationNanos / 1e9;
    }

    public double durationMillis() {
        return durationNanos / 1e6;
    }
}
