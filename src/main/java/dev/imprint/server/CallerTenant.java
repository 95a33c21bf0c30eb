package dev.imprint.server;

import io.grpc.Context;

/**
 * The tenant of the calling token, in the call's context: set by {@link AuthInterceptor} once the
 * token is known, read by {@link ImprintService} to pick the tenant's engine. Absent (null) means
 * the default tenant: a token without a tenant, or a server that does not check tokens.
 */
final class CallerTenant {
    static final Context.Key<String> KEY = Context.key("imprint-caller-tenant");

    private CallerTenant() {}
}
