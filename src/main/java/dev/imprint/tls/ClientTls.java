package dev.imprint.tls;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * How a client speaks TLS to a server.
 *
 * @param trustedCa        PEM CA certificates that sign the server's certificate; null trusts the
 *                         system's trust store ({@code --tls-ca})
 * @param certificateChain the client's PEM certificate chain for mutual TLS, or null ({@code --tls-cert})
 * @param privateKey       its PEM PKCS#8 key; null exactly when certificateChain is ({@code --tls-key})
 * @param serverName       the name checked against the server's certificate instead of the host
 *                         dialled, or null ({@code --tls-server-name})
 */
public record ClientTls(Path trustedCa, Path certificateChain, Path privateKey, String serverName) {
    public ClientTls {
        if ((certificateChain == null) != (privateKey == null)) {
            throw new IllegalArgumentException("certificateChain=" + certificateChain + ", privateKey=" + privateKey
                    + "; expected both or neither");
        }
        if (serverName != null && serverName.isBlank()) {
            serverName = null;
        }
    }

    /** TLS trusting the system's trust store, without a client certificate. */
    public static ClientTls systemTrust() {
        return new ClientTls(null, null, null, null);
    }

    /**
     * Reads and checks the files and returns grpc-java TLS channel credentials for them.
     *
     * @throws TlsFileException naming the file that is missing, unreadable, not PEM, or a key that
     *     is not the certificate's
     */
    public ChannelCredentials credentials() {
        TlsChannelCredentials.Builder builder = TlsChannelCredentials.newBuilder();
        try {
            if (trustedCa != null) {
                builder.trustManager(new ByteArrayInputStream(PemFiles.certificates("--tls-ca", trustedCa)));
            }
            if (certificateChain != null) {
                builder.keyManager(new ByteArrayInputStream(PemFiles.certificates("--tls-cert", certificateChain)),
                        new ByteArrayInputStream(PemFiles.privateKey("--tls-key", privateKey, "--tls-cert",
                                certificateChain)));
            }
        } catch (IOException e) {
            // The streams are in memory and already parsed; grpc-java only declares the exception.
            throw new UncheckedIOException(e);
        }
        return builder.build();
    }
}
