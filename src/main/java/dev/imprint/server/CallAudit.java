package dev.imprint.server;

import dev.imprint.security.Role;
import io.grpc.Context;

/**
 * What the audit learns about one call from the interceptors inside it: who called. Set by
 * {@link AuthInterceptor} on the record {@link CallRecordInterceptor} put in the call's context.
 */
final class CallAudit {
    static final Context.Key<CallAudit> KEY = Context.key("imprint-call-audit");

    volatile String token;
    volatile Role role;
    /** The token's tenant; null for the default tenant. */
    volatile String tenant;
}
