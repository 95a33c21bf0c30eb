package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ImprintException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class StatusTranslatorTest {

    /** UNAVAILABLE goes out like the others but stays a transport status on the client (see below). */
    @ParameterizedTest
    @EnumSource(value = ImprintException.Code.class, mode = EnumSource.Mode.EXCLUDE, names = "UNAVAILABLE")
    void domainErrorsKeepTheirCodeAndMessageBothWays(ImprintException.Code code) {
        StatusRuntimeException wire = StatusTranslator.toStatus("M", new ImprintException(code, "dim=0; expected at least 1"));
        assertEquals(code.name(), wire.getStatus().getCode().name());
        assertEquals("dim=0; expected at least 1", wire.getStatus().getDescription());
        ImprintException back = assertInstanceOf(ImprintException.class, StatusTranslator.fromStatus(wire));
        assertEquals(code, back.code());
        assertEquals("dim=0; expected at least 1", back.getMessage());
    }

    @Test
    void unexpectedExceptionsBecomeInternalWithAnIncidentIdAndNoDetailsButAreLoggedInFull() {
        try (LogCapture capture = new LogCapture(StatusTranslator.class, Level.INFO)) {
            NullPointerException bug = new NullPointerException("secret /var/lib/imprint/x");
            Status status = StatusTranslator.toStatus("imprint.v1.Imprint/Score", "request_id='r' (message 1): ", bug)
                    .getStatus();
            assertEquals(Status.Code.INTERNAL, status.getCode());
            assertTrue(status.getDescription().matches(
                    "request_id='r' \\(message 1\\): internal error \\(incident [0-9a-f]{8}\\); the server log has the details"),
                    status.getDescription());
            assertFalse(status.getDescription().contains("secret") || status.getDescription().contains("NullPointer"));
            assertEquals(null, status.getCause(), "the exception must not ride along with the status");
            String incident = status.getDescription().replaceAll(".*incident ([0-9a-f]{8}).*", "$1");
            List<LogRecord> records = capture.records();
            assertEquals(1, records.size());
            assertEquals(Level.SEVERE, records.get(0).getLevel());
            assertSame(bug, records.get(0).getThrown());
            assertTrue(records.get(0).getMessage().contains(incident), records.get(0).getMessage());
        }
    }

    @Test
    void transportStatusesStayAsTheyAreOnTheClient() {
        StatusRuntimeException unavailable = Status.UNAVAILABLE.withDescription("connection refused").asRuntimeException();
        assertSame(unavailable, StatusTranslator.fromStatus(unavailable));
    }

    @Test
    void anIoErrorGoesOutAsUnavailableWithItsMessageAndStaysAStatusOnTheClient() {
        StatusRuntimeException wire = StatusTranslator.toStatus("M", new ImprintException(
                ImprintException.Code.UNAVAILABLE, "could not save reference m: I/O error"));
        assertEquals(Status.Code.UNAVAILABLE, wire.getStatus().getCode());
        assertEquals("could not save reference m: I/O error", wire.getStatus().getDescription());
        assertSame(wire, StatusTranslator.fromStatus(wire));
    }
}
