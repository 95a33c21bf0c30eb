package dev.imprint.server;

import dev.imprint.security.AuditLog;

/**
 * Writes the {@link AuditLog} line of every call of a guarded service, refused calls included;
 * health and reflection ({@link MethodRoles#OPEN_SERVICES}) are not audited. The request id is
 * the request's own: one the server assigned is left out, as the request named none.
 */
final class AuditSink implements CallSink {
    private final AuditLog log;

    AuditSink(AuditLog log) {
        this.log = log;
    }

    @Override
    public void accept(CallRecord call) {
        if (MethodRoles.open(call.method())) {
            return;
        }
        log.append(new AuditLog.Entry(call.time(), call.token(), call.role(), call.tenant(), call.method(), call.probeSetId(),
                call.modelId(), call.requestIdAssigned() ? null : call.requestId(), call.outcome().name(),
                call.durationMillis(), call.referencesScored()));
    }
}
