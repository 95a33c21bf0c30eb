package dev.imprint.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.imprint.testing.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a certificate or key file can be unusable, each named in one line before anything binds. */
class PemFilesTest {
    @TempDir
    Path tmp;

    private TestCertificates certs;

    @BeforeEach
    void generateCertificates() {
        certs = TestCertificates.writeTo(tmp);
    }

    @Test
    void acceptsTheGeneratedServerAndClientMaterial() {
        new ServerTls(certs.serverCert(), certs.serverKey(), certs.caCert()).credentials();
        new ClientTls(certs.caCert(), certs.clientCert(), certs.clientKey(), null).credentials();
    }

    @Test
    void namesAMissingFile() {
        Path missing = tmp.resolve("missing.pem");
        assertEquals("--tls-cert " + missing + " does not exist",
                serverFailure(new ServerTls(missing, certs.serverKey(), null)));
    }

    @Test
    void namesADirectory() {
        assertEquals("--tls-client-ca " + tmp + " is a directory, not a PEM file",
                serverFailure(new ServerTls(certs.serverCert(), certs.serverKey(), tmp)));
    }

    @Test
    void namesAFileThatIsNotPem() throws Exception {
        Path junk = Files.writeString(tmp.resolve("junk.pem"), "not a certificate\n");
        assertEquals("--tls-ca " + junk + " is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)",
                clientFailure(new ClientTls(junk, null, null, null)));
    }

    @Test
    void saysWhenCertificateAndKeyAreSwapped() {
        assertEquals("--tls-cert " + certs.serverKey() + " holds a private key, not a certificate",
                serverFailure(new ServerTls(certs.serverKey(), certs.serverCert(), null)));
    }

    @Test
    void asksForPkcs8WhenGivenAPkcs1Key() throws Exception {
        Path pkcs1 = Files.writeString(tmp.resolve("rsa.key"),
                "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n");
        assertEquals("--tls-key " + pkcs1 + " holds a PKCS#1 RSA key; expected an unencrypted PKCS#8 key, as "
                        + "'openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem' writes",
                serverFailure(new ServerTls(certs.serverCert(), pkcs1, null)));
    }

    @Test
    void refusesAKeyThatIsNotTheCertificates() {
        assertEquals("--tls-key " + certs.clientKey() + " is not the key of the certificate in --tls-cert "
                        + certs.serverCert() + " (CN=imprint-test-server)",
                serverFailure(new ServerTls(certs.serverCert(), certs.clientKey(), null)));
    }

    @Test
    void namesADamagedCertificate() throws Exception {
        Path damaged = Files.writeString(tmp.resolve("damaged.pem"),
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        String message = clientFailure(new ClientTls(damaged, null, null, null));
        assertEquals("--tls-ca " + damaged + " holds a certificate that does not parse",
                message.substring(0, message.indexOf(" (")));
    }

    private static String serverFailure(ServerTls tls) {
        return assertThrows(TlsFileException.class, tls::credentials).getMessage();
    }

    private static String clientFailure(ClientTls tls) {
        return assertThrows(TlsFileException.class, tls::credentials).getMessage();
    }
}
