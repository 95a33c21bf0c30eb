package dev.imprint.tls;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/** Says in words why a first call failed when TLS was, or should have been, involved. */
public final class TlsFailures {
    /** A TLS alert the peer sent, as BoringSSL and OpenSSL name it: TLSV1_ALERT_UNKNOWN_CA. */
    private static final Pattern ALERT = Pattern.compile("(?:SSLV3|TLSV1)_ALERT_([A-Z_]+)");

    private TlsFailures() {
    }

    /**
     * The reason for {@code failure} as a person would say it, when it is a TLS problem: a client
     * and server that disagree about TLS, an untrusted, expired or misnamed server certificate, a
     * client certificate the server missed or refused. Null when it is not one.
     *
     * @param clientTls whether the client spoke TLS
     */
    public static String describe(StatusRuntimeException failure, boolean clientTls) {
        if (failure.getStatus().getCode() != Status.Code.UNAVAILABLE) {
            return null;
        }
        if (!clientTls) {
            return closedWithoutAnswering(failure)
                    ? "the server closed the connection without answering; it probably serves TLS "
                            + "(connect with --tls-ca FILE, or --tls for a publicly trusted certificate)"
                    : null;
        }
        Throwable certificateProblem = null;
        Throwable sslProblem = null;
        for (Throwable t = failure.getCause(); t != null; t = t.getCause()) {
            String name = t.getClass().getSimpleName();
            if (name.equals("NotSslRecordException")) {
                return "the server does not speak TLS (it answered in plaintext); connect without --tls and --tls-ca, "
                        + "or start it with --tls-cert and --tls-key";
            }
            if (t instanceof CertificateException || t instanceof CertPathValidatorException
                    || name.contains("CertPathBuilderException") || name.equals("ValidatorException")) {
                certificateProblem = t;
            }
            if (t instanceof SSLException || name.equals("OpenSslException")) {
                sslProblem = t;
            }
        }
        if (certificateProblem != null) {
            return serverCertificate(certificateProblem);
        }
        if (sslProblem == null) {
            return null;
        }
        Matcher alert = ALERT.matcher(String.valueOf(sslProblem.getMessage()));
        if (alert.find()) {
            String name = alert.group(1);
            if (name.equals("CERTIFICATE_REQUIRED") || name.equals("HANDSHAKE_FAILURE")) {
                return "the server requires a client certificate signed by a CA it trusts, and none was presented "
                        + "(give --tls-cert and --tls-key; a certificate from another CA is not offered)";
            }
            if (name.equals("UNKNOWN_CA") || name.equals("BAD_CERTIFICATE") || name.equals("CERTIFICATE_UNKNOWN")
                    || name.equals("CERTIFICATE_EXPIRED") || name.equals("CERTIFICATE_REVOKED")
                    || name.equals("UNSUPPORTED_CERTIFICATE")) {
                return "the server refused the client certificate (" + name.toLowerCase(Locale.ROOT).replace('_', ' ')
                        + ")";
            }
            return "the TLS handshake failed: the server sent alert " + name.toLowerCase(Locale.ROOT).replace('_', ' ');
        }
        return "the TLS handshake failed (" + sslProblem.getMessage() + ")";
    }

    /** Why the client did not accept the server's certificate. */
    /**
     * Whether a plaintext connection was accepted and then dropped before the first frame, as a TLS
     * server drops a plaintext HTTP/2 preface: closed ("Network closed"), or reset when the client's
     * next frames were still unread as it closed (the kernel resets a socket closed with data
     * unread). A refused connection reads differently.
     */
    private static boolean closedWithoutAnswering(StatusRuntimeException failure) {
        String description = failure.getStatus().getDescription();
        if (failure.getCause() == null) {
            return description != null && description.startsWith("Network closed");
        }
        for (Throwable t = failure.getCause(); t != null; t = t.getCause()) {
            if (String.valueOf(t.getMessage()).contains("Connection reset by peer")) {
                return true;
            }
        }
        return false;
    }

    private static String serverCertificate(Throwable problem) {
        if (problem instanceof CertificateExpiredException || problem instanceof CertificateNotYetValidException) {
            return "the server's certificate is not valid now (" + problem.getMessage() + ")";
        }
        String message = String.valueOf(problem.getMessage());
        if (message.contains("subject alternative") || message.contains("No name matching")) {
            return "the server's certificate is not for the name dialled (" + message.replaceFirst("\\.$", "")
                    + "); dial a name it lists, or check it against another with --tls-server-name NAME";
        }
        return "the server's certificate is not signed by a CA this client trusts; give the CA that signed it "
                + "with --tls-ca FILE";
    }
}
