package dev.imprint.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.client.ImprintClient;
import dev.imprint.client.ScoreOptions;
import dev.imprint.client.ServerUnreachableException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreResult;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.server.ImprintServer;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.testing.TestCertificates;
import dev.imprint.testing.TestFingerprints;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java client against real Netty servers on loopback serving TLS, mutual TLS and plaintext:
 * what works, and that every mismatch fails the first call at once in one line.
 */
class TlsTransportTest {
    /** Far above what a refused handshake takes on loopback (milliseconds), far below the connect timeout. */
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(20);
    private static final long PROMPT_MILLIS = 10_000;

    @TempDir
    Path tmp;

    private TestCertificates certs;
    private final List<ImprintServer> servers = new ArrayList<>();

    @BeforeEach
    void generateCertificates() {
        certs = TestCertificates.writeTo(tmp);
    }

    @AfterEach
    void stopServers() throws InterruptedException {
        for (ImprintServer s : servers) {
            s.stop();
        }
    }

    @Test
    void scoresOverTlsWithTheServersCaTrusted() throws Exception {
        ImprintServer server = start(new ServerTls(certs.serverCert(), certs.serverKey(), null));
        try (ImprintClient client = connect(server, new ClientTls(certs.caCert(), null, null, null))) {
            assertScores(client);
        }
    }

    @Test
    void scoresOverMutualTlsWithAClientCertificateFromTheTrustedCa() throws Exception {
        ImprintServer server = start(new ServerTls(certs.serverCert(), certs.serverKey(), certs.caCert()));
        try (ImprintClient client = connect(server,
                new ClientTls(certs.caCert(), certs.clientCert(), certs.clientKey(), null))) {
            assertScores(client);
        }
    }

    @Test
    void checksTheCertificateAgainstTlsServerNameInsteadOfTheHostDialled() throws Exception {
        ImprintServer server = start(new ServerTls(certs.serverCert(), certs.serverKey(), null));
        try (ImprintClient client = connect(server, new ClientTls(certs.caCert(), null, null, "localhost"))) {
            assertEquals("cpu", client.getServerInfo().getBackend());
        }
        assertRefused(server, new ClientTls(certs.caCert(), null, null, "imprint.example"),
                "the server's certificate is not for the name dialled (No subject alternative DNS name matching "
                        + "imprint.example found); dial a name it lists, or check it against another with "
                        + "--tls-server-name NAME");
    }

    @Test
    void mutualTlsRefusesAClientWithoutACertificate() throws Exception {
        ImprintServer server = start(new ServerTls(certs.serverCert(), certs.serverKey(), certs.caCert()));
        assertRefused(server, new ClientTls(certs.caCert(), null, null, null),
                "the server requires a client certificate signed by a CA it trusts, and none was presented "
                        + "(give --tls-cert and --tls-key; a certificate from another CA is not offered)");
    }

    @Test
    void mutualTlsRefusesAClientCertificateFromAnUntrustedCa() throws Exception {
        ImprintServer server = start(new ServerTls(certs.serverCert(), certs.serverKey(), certs.caCert()));
        String message = refusal(server, new ClientTls(certs.caCert(), certs.otherClientCert(),
                certs.otherClientKey(), null));
        assertTrue(message.contains("client certificate"), message);
    }

    @Test
    void refusesAServerCertificateFromAnUntrustedCa() throws Exception {
        ImprintServer server = start(new ServerTls(certs.otherServerCert(), certs.otherServerKey(), null));
        assertRefused(server, new ClientTls(certs.caCert(), null, null, null),
                "the server's certificate is not signed by a CA this client trusts; give the CA that signed it "
                        + "with --tls-ca FILE");
    }

    @Test
    void aPlaintextClientOfATlsServerIsToldTheServerProbablyServesTls() throws Exception {
        ImprintServer server = start(new ServerTls(certs.serverCert(), certs.serverKey(), null));
        assertRefused(server, null, "the server closed the connection without answering; it probably serves TLS "
                + "(connect with --tls-ca FILE, or --tls for a publicly trusted certificate)");
    }

    @Test
    void aTlsClientOfAPlaintextServerIsToldTheServerDoesNotSpeakTls() throws Exception {
        ImprintServer server = start(null);
        assertRefused(server, new ClientTls(certs.caCert(), null, null, null),
                "the server does not speak TLS (it answered in plaintext); connect without --tls and --tls-ca, "
                        + "or start it with --tls-cert and --tls-key");
    }

    private ImprintServer start(ServerTls tls) throws Exception {
        ImprintServer server = new ImprintServer(
                ImprintServer.nettyBuilder("127.0.0.1", 0, tls == null ? null : tls.credentials()),
                ImprintEngine.open(ArrowFingerprintStore.open(tmp.resolve("data-" + servers.size())),
                        new SelectedBackend(new CpuBackend(1), "cpu")),
                ImprintServer.Options.defaults()).start();
        servers.add(server);
        return server;
    }

    private static String address(ImprintServer server) {
        return "127.0.0.1:" + server.port();
    }

    private static ImprintClient connect(ImprintServer server, ClientTls tls) {
        ImprintClient client = ImprintClient.connect(address(server), Duration.ofSeconds(30), tls, null);
        client.awaitServer(address(server), CONNECT_TIMEOUT);
        return client;
    }

    private static void assertScores(ImprintClient client) {
        TestFingerprints gen = new TestFingerprints(7L);
        client.createProbeSet(ProbeSet.fromRequest("s", 8, 16, ProbeSetKind.DISTRIBUTION, 0, ""));
        float[] teacher = gen.rows(ProbeSetKind.DISTRIBUTION, 8, 16);
        client.putReference("s", "teacher", Map.of(), teacher, false);
        client.putReference("s", "other", Map.of(), gen.rows(ProbeSetKind.DISTRIBUTION, 8, 16), false);
        ScoreResult result = client.score("s", teacher, new int[0], ScoreOptions.defaults());
        assertEquals("teacher", result.matches().get(0).modelId());
    }

    private static void assertRefused(ImprintServer server, ClientTls tls, String why) throws Exception {
        assertEquals("cannot reach " + address(server) + ": " + why, refusal(server, tls));
    }

    /** The one-line message of the first call's failure, which must come promptly. */
    private static String refusal(ImprintServer server, ClientTls tls) throws Exception {
        long start = System.nanoTime();
        try (ImprintClient client = ImprintClient.connect(address(server), Duration.ofSeconds(30), tls, null)) {
            ServerUnreachableException e = assertThrows(ServerUnreachableException.class,
                    () -> client.awaitServer(address(server), CONNECT_TIMEOUT));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis < PROMPT_MILLIS, "refused only after " + millis + " ms: " + e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), e.getMessage());
            return e.getMessage();
        }
    }
}
