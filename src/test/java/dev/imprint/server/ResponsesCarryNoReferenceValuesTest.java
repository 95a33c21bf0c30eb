package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.api.v1.Matrix;
import dev.imprint.api.v1.RowChunk;
import dev.imprint.api.v1.TopKRows;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoMethodDescriptorSupplier;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * No reference values ever leave the server: no response of any RPC can carry the message types
 * that hold fingerprint rows, nor raw bytes or float vectors. Scores (doubles) are what goes out.
 * A new RPC or field that would export rows fails here and needs its own permission first.
 */
class ResponsesCarryNoReferenceValuesTest {
    private static final Set<String> ROW_TYPES = Set.of(Matrix.getDescriptor().getFullName(),
            RowChunk.getDescriptor().getFullName(), TopKRows.getDescriptor().getFullName());

    @Test
    void noResponseReachesAFieldThatCouldHoldReferenceRows() {
        List<String> leaks = new ArrayList<>();
        int responses = 0;
        for (MethodDescriptor<?, ?> m : ImprintGrpc.getServiceDescriptor().getMethods()) {
            Descriptor response = ((ProtoMethodDescriptorSupplier) m.getSchemaDescriptor()).getMethodDescriptor()
                    .getOutputType();
            walk(m.getBareMethodName() + " -> " + response.getName(), response, new HashSet<>(), leaks);
            responses++;
        }
        assertEquals(ImprintGrpc.getServiceDescriptor().getMethods().size(), responses);
        assertTrue(leaks.isEmpty(), "responses that could carry reference values: " + leaks);
    }

    @Test
    void theWalkFindsRowsWhereTheyAreAllowedIn() {
        List<String> found = new ArrayList<>();
        walk("PutReferenceRequest", dev.imprint.api.v1.PutReferenceRequest.getDescriptor(), new HashSet<>(), found);
        assertTrue(found.stream().anyMatch(f -> f.contains("RowChunk")), found.toString());
    }

    private static void walk(String path, Descriptor type, Set<String> seen, List<String> leaks) {
        if (ROW_TYPES.contains(type.getFullName())) {
            leaks.add(path);
            return;
        }
        if (!seen.add(type.getFullName())) {
            return;
        }
        for (FieldDescriptor f : type.getFields()) {
            String at = path + "." + f.getName();
            switch (f.getType()) {
                case MESSAGE, GROUP -> walk(at + " (" + f.getMessageType().getName() + ")", f.getMessageType(), seen,
                        leaks);
                case BYTES -> leaks.add(at + " (bytes)");
                case FLOAT -> leaks.add(at + " (float)");
                default -> {
                }
            }
        }
    }
}
