package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.security.Role;
import io.grpc.MethodDescriptor;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every RPC of imprint.v1.Imprint has a role mapping: adding one without it fails the build. */
class MethodRolesTest {
    @Test
    void everyImprintRpcIsMappedToRolesAndAdminMayCallIt() {
        for (MethodDescriptor<?, ?> m : ImprintGrpc.getServiceDescriptor().getMethods()) {
            Set<Role> allowed = MethodRoles.allowed(m.getFullMethodName());
            assertFalse(allowed.isEmpty(), m.getFullMethodName() + " has no role mapping in MethodRoles; add one");
            assertTrue(allowed.contains(Role.ADMIN), m.getFullMethodName() + " must be open to admin");
            assertFalse(MethodRoles.open(m.getFullMethodName()), m.getFullMethodName());
        }
    }

    @Test
    void anUnmappedMethodIsAllowedToNoRole() {
        assertEquals(Set.of(), MethodRoles.allowed("imprint.v1.Imprint/SomethingNew"));
    }

    @Test
    void readerMayOnlyReadAndOnlyAdminManagesProbeSets() {
        for (MethodDescriptor<?, ?> m : ImprintGrpc.getServiceDescriptor().getMethods()) {
            String name = m.getBareMethodName();
            boolean reads = name.startsWith("Get") || name.startsWith("List");
            assertEquals(reads, MethodRoles.allowed(m.getFullMethodName()).contains(Role.READER), name);
            if (name.equals("CreateProbeSet") || name.equals("DeleteProbeSet")) {
                assertEquals(EnumSet.of(Role.ADMIN), MethodRoles.allowed(m.getFullMethodName()), name);
            }
        }
    }

    @Test
    void healthAndReflectionAreOpen() {
        assertTrue(MethodRoles.open("grpc.health.v1.Health/Check"));
        assertTrue(MethodRoles.open("grpc.reflection.v1.ServerReflection/ServerReflectionInfo"));
        assertFalse(MethodRoles.open("imprint.v1.Imprint/GetServerInfo"));
    }
}
