package dev.imprint.server;

import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.security.Role;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which roles may call each RPC. Deny by default: a method of a guarded service that is not
 * listed here is refused to every token (MethodRolesTest fails the build for an unlisted
 * {@code imprint.v1.Imprint} RPC). Health and reflection ({@link #OPEN_SERVICES}) need no token.
 *
 * <pre>
 * admin    everything
 * writer   PutReference, DeleteReference, and what reader may
 * scorer   Score, ScoreStream, and what reader may
 * reader   GetProbeSet, ListProbeSets, GetReference, ListReferences, GetServerInfo
 * </pre>
 */
public final class MethodRoles {
    private static final Set<Role> ANY = EnumSet.allOf(Role.class);
    private static final Set<Role> ADMIN = EnumSet.of(Role.ADMIN);
    private static final Set<Role> WRITE = EnumSet.of(Role.ADMIN, Role.WRITER);
    private static final Set<Role> SCORE = EnumSet.of(Role.ADMIN, Role.SCORER);

    /** Services any caller may use: liveness checks and the API's own (public) schema. */
    public static final Set<String> OPEN_SERVICES = Set.of("grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection");

    private static final Map<String, Set<Role>> ALLOWED = Map.ofEntries(
            Map.entry(ImprintGrpc.getCreateProbeSetMethod().getFullMethodName(), ADMIN),
            Map.entry(ImprintGrpc.getDeleteProbeSetMethod().getFullMethodName(), ADMIN),
            Map.entry(ImprintGrpc.getGetProbeSetMethod().getFullMethodName(), ANY),
            Map.entry(ImprintGrpc.getListProbeSetsMethod().getFullMethodName(), ANY),
            Map.entry(ImprintGrpc.getPutReferenceMethod().getFullMethodName(), WRITE),
            Map.entry(ImprintGrpc.getDeleteReferenceMethod().getFullMethodName(), WRITE),
            Map.entry(ImprintGrpc.getGetReferenceMethod().getFullMethodName(), ANY),
            Map.entry(ImprintGrpc.getListReferencesMethod().getFullMethodName(), ANY),
            Map.entry(ImprintGrpc.getScoreMethod().getFullMethodName(), SCORE),
            Map.entry(ImprintGrpc.getScoreStreamMethod().getFullMethodName(), SCORE),
            Map.entry(ImprintGrpc.getGetServerInfoMethod().getFullMethodName(), ANY));

    private MethodRoles() {}

    /** The roles that may call {@code fullMethodName}; empty when it has no mapping (refused). */
    public static Set<Role> allowed(String fullMethodName) {
        return ALLOWED.getOrDefault(fullMethodName, Set.of());
    }

    /** Whether {@code fullMethodName} belongs to a service that needs no token. */
    public static boolean open(String fullMethodName) {
        String service = io.grpc.MethodDescriptor.extractFullServiceName(fullMethodName);
        return service != null && OPEN_SERVICES.contains(service);
    }

    /** "scorer or admin": the least privileged first. */
    static String describe(Set<Role> roles) {
        return roles.stream().sorted(Comparator.reverseOrder()).map(Role::wireName)
                .collect(Collectors.joining(" or "));
    }
}
