package dev.imprint.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * TLS material for tests, generated fresh (EC P-256, valid from an hour ago for a day) and written
 * as PEM files into a directory: a CA, a server certificate for 127.0.0.1, ::1 and localhost
 * (subject alternative names) and a client certificate both signed by it, and a second, untrusted
 * CA with a server and a client certificate of its own. Keys are unencrypted PKCS#8.
 *
 * @param caCert            the trusted CA's certificate
 * @param serverCert        the server certificate (signed by the CA), for 127.0.0.1, ::1 and localhost
 * @param serverKey         its key
 * @param clientCert        a client certificate signed by the CA
 * @param clientKey         its key
 * @param otherCaCert       the untrusted CA's certificate
 * @param otherServerCert   a server certificate for 127.0.0.1 and localhost signed by the untrusted CA
 * @param otherServerKey    its key
 * @param otherClientCert   a client certificate signed by the untrusted CA
 * @param otherClientKey    its key
 */
public record TestCertificates(Path caCert, Path serverCert, Path serverKey, Path clientCert, Path clientKey,
                               Path otherCaCert, Path otherServerCert, Path otherServerKey, Path otherClientCert,
                               Path otherClientKey) {
    private static final AtomicLong SERIALS = new AtomicLong(System.nanoTime());

    /** Generates everything and writes it into {@code dir}. */
    public static TestCertificates writeTo(Path dir) {
        try {
            Issued ca = selfSignedCa("Imprint Test CA");
            Issued server = issue(ca, "imprint-test-server", true);
            Issued client = issue(ca, "imprint-test-client", false);
            Issued otherCa = selfSignedCa("Untrusted Test CA");
            Issued otherServer = issue(otherCa, "untrusted-server", true);
            Issued otherClient = issue(otherCa, "untrusted-client", false);
            return new TestCertificates(
                    writeCert(dir.resolve("ca.pem"), ca.cert),
                    writeCert(dir.resolve("server.pem"), server.cert),
                    writeKey(dir.resolve("server.key"), server.keys.getPrivate()),
                    writeCert(dir.resolve("client.pem"), client.cert),
                    writeKey(dir.resolve("client.key"), client.keys.getPrivate()),
                    writeCert(dir.resolve("other-ca.pem"), otherCa.cert),
                    writeCert(dir.resolve("other-server.pem"), otherServer.cert),
                    writeKey(dir.resolve("other-server.key"), otherServer.keys.getPrivate()),
                    writeCert(dir.resolve("other-client.pem"), otherClient.cert),
                    writeKey(dir.resolve("other-client.key"), otherClient.keys.getPrivate()));
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot generate test certificates", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private record Issued(KeyPair keys, X509Certificate cert) {
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        return g.generateKeyPair();
    }

    private static Issued selfSignedCa(String name) throws GeneralSecurityException, OperatorCreationException,
            IOException {
        KeyPair keys = keyPair();
        X500Name subject = new X500Name("CN=" + name);
        X509v3CertificateBuilder b = builder(subject, subject, keys);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        return new Issued(keys, sign(b, keys.getPrivate()));
    }

    private static Issued issue(Issued ca, String name, boolean server) throws GeneralSecurityException,
            OperatorCreationException, IOException {
        KeyPair keys = keyPair();
        X509v3CertificateBuilder b = builder(new X500Name(ca.cert.getSubjectX500Principal().getName()),
                new X500Name("CN=" + name), keys);
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca.cert));
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        b.addExtension(Extension.extendedKeyUsage, false,
                new ExtendedKeyUsage(server ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth));
        if (server) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                new GeneralName(GeneralName.iPAddress, "::1"),
                new GeneralName(GeneralName.dNSName, "localhost")}));
        }
        return new Issued(keys, sign(b, ca.keys.getPrivate()));
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys)
            throws GeneralSecurityException, IOException {
        Instant now = Instant.now();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIALS.incrementAndGet()),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(1))), subject,
                keys.getPublic());
        b.addExtension(Extension.subjectKeyIdentifier, false,
                new JcaX509ExtensionUtils().createSubjectKeyIdentifier(keys.getPublic()));
        return b;
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey issuerKey)
            throws GeneralSecurityException, OperatorCreationException {
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
    }

    private static Path writeCert(Path file, X509Certificate cert) throws IOException, GeneralSecurityException {
        return write(file, "CERTIFICATE", cert.getEncoded());
    }

    private static Path writeKey(Path file, PrivateKey key) throws IOException {
        // Java encodes private keys as PKCS#8, which is what --tls-key expects.
        return write(file, "PRIVATE KEY", key.getEncoded());
    }

    private static Path write(Path file, String type, byte[] der) throws IOException {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        Files.writeString(file, "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n",
                StandardCharsets.US_ASCII);
        return file;
    }
}
