package dev.imprint.tls;

import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How a server serves TLS: its certificate chain and PKCS#8 key (PEM), and, for mutual TLS, the CA
 * whose certificates clients must present.
 *
 * @param certificateChain PEM certificates, the server's own first ({@code serve --tls-cert})
 * @param privateKey       the PEM PKCS#8 key of the first certificate ({@code --tls-key})
 * @param clientCa         PEM CA certificates that sign client certificates; null accepts clients
 *                         without one ({@code --tls-client-ca})
 */
public record ServerTls(Path certificateChain, Path privateKey, Path clientCa) {
    public ServerTls {
        Objects.requireNonNull(certificateChain, "certificateChain");
        Objects.requireNonNull(privateKey, "privateKey");
    }

    /** Whether clients must present a certificate signed by {@link #clientCa()}. */
    public boolean mutual() {
        return clientCa != null;
    }

    /**
     * Reads and checks the files and returns grpc-java TLS credentials for them.
     *
     * @throws TlsFileException naming the file that is missing, unreadable, not PEM, or a key that
     *     is not the certificate's
     */
    public ServerCredentials credentials() {
        byte[] chain = PemFiles.certificates("--tls-cert", certificateChain);
        byte[] key = PemFiles.privateKey("--tls-key", privateKey, "--tls-cert", certificateChain);
        TlsServerCredentials.Builder builder = TlsServerCredentials.newBuilder();
        try {
            builder.keyManager(new ByteArrayInputStream(chain), new ByteArrayInputStream(key));
            if (clientCa != null) {
                builder.trustManager(new ByteArrayInputStream(PemFiles.certificates("--tls-client-ca", clientCa)))
                        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
            }
        } catch (IOException e) {
            // The streams are in memory and already parsed; grpc-java only declares the exception.
            throw new UncheckedIOException(e);
        }
        return builder.build();
    }

    /** How the server serves, for its log: "TLS" or "mutual TLS (client certificates from FILE)". */
    public String describe() {
        return mutual() ? "mutual TLS (client certificates signed by " + clientCa + " required)" : "TLS";
    }
}
