package dev.imprint.server;

import dev.imprint.security.Authenticator;
import dev.imprint.security.Role;
import dev.imprint.security.TokenRecord;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Demands {@code authorization: Bearer <token>} on every call but those of
 * {@link MethodRoles#OPEN_SERVICES}, and the role {@link MethodRoles} maps the method to. A call
 * without a token, or with an unknown or revoked one, ends UNAUTHENTICATED; a known token whose
 * role may not call the method ends PERMISSION_DENIED naming the roles that may, and one over its
 * call rate ({@link TokenRates}) RESOURCE_EXHAUSTED. An admitted call runs with the token's tenant
 * in its context ({@link CallerTenant}). The token is never echoed. While the authenticator does
 * not enforce, every call passes, in the default tenant.
 */
final class AuthInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final String BEARER = "Bearer ";

    private final Authenticator authenticator;
    private final TokenRates rates;

    /** @param rates each token's call rate; null for no limit */
    AuthInterceptor(Authenticator authenticator, TokenRates rates) {
        this.authenticator = authenticator;
        this.rates = rates;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        if (MethodRoles.open(method) || !authenticator.enforcing()) {
            return next.startCall(call, headers);
        }
        String header = headers.get(AUTHORIZATION);
        if (header == null || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())
                || header.substring(BEARER.length()).isBlank()) {
            return refuse(call, Status.UNAUTHENTICATED.withDescription(
                    "a bearer token is required (metadata 'authorization: Bearer <token>')"));
        }
        Optional<TokenRecord> found = authenticator.authenticate(header.substring(BEARER.length()).strip());
        if (found.isEmpty()) {
            return refuse(call, Status.UNAUTHENTICATED.withDescription("unknown or revoked token"));
        }
        TokenRecord token = found.get();
        CallAudit audit = CallAudit.KEY.get();
        if (audit != null) {
            audit.token = token.name();
            audit.role = token.role();
            audit.tenant = token.tenant();
        }
        Set<Role> allowed = MethodRoles.allowed(method);
        if (!allowed.contains(token.role())) {
            return refuse(call, Status.PERMISSION_DENIED.withDescription(allowed.isEmpty()
                    ? method + " has no role mapping, so it is refused to every token"
                    : method + " needs role " + MethodRoles.describe(allowed) + "; token '" + token.name()
                            + "' has role " + token.role().wireName()));
        }
        long wait = rates == null ? 0 : rates.admit(token.name());
        if (wait > 0) {
            return refuse(call, Status.RESOURCE_EXHAUSTED.withDescription(String.format(
                    "token '%s' is over its rate of %s calls per second (serve --token-rate); retry in %d ms",
                    token.name(), rate(rates.perSecond()), Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait)))));
        }
        return Contexts.interceptCall(Context.current().withValue(CallerTenant.KEY, token.tenant()), call, headers,
                next);
    }

    private static String rate(double perSecond) {
        return perSecond == Math.rint(perSecond) ? String.valueOf((long) perSecond) : String.valueOf(perSecond);
    }

    private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
        call.close(status, new Metadata());
        return new ServerCall.Listener<>() {};
    }
}
