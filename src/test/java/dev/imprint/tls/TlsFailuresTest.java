package dev.imprint.tls;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

class TlsFailuresTest {
    private static final String PROBABLY_TLS = "it probably serves TLS";

    @Test
    void aPlaintextConnectionClosedOrResetBeforeTheFirstFrameProbablyMetATlsServer() {
        // How a TLS server drops a plaintext preface: a close, or a reset when more of it was still unread.
        String closed = TlsFailures.describe(Status.UNAVAILABLE.withDescription("Network closed for unknown reason")
                .asRuntimeException(), false);
        String reset = TlsFailures.describe(Status.UNAVAILABLE.withDescription("io exception")
                .withCause(new IOException("recvAddress(..) failed with error(-104): Connection reset by peer"))
                .asRuntimeException(), false);
        assertTrue(closed != null && closed.contains(PROBABLY_TLS), closed);
        assertTrue(reset != null && reset.contains(PROBABLY_TLS), reset);
    }

    @Test
    void aRefusedConnectionOrAnotherCodeIsNotATlsProblem() {
        StatusRuntimeException refused = Status.UNAVAILABLE.withDescription("io exception")
                .withCause(new ConnectException("Connection refused")).asRuntimeException();
        assertNull(TlsFailures.describe(refused, false));
        assertNull(TlsFailures.describe(new StatusRuntimeException(Status.DEADLINE_EXCEEDED), false));
    }
}
