package dev.imprint.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the PEM files TLS is configured with, and checks them before anything binds or connects:
 * certificate chains ({@code -----BEGIN CERTIFICATE-----} blocks) and unencrypted PKCS#8 private
 * keys ({@code -----BEGIN PRIVATE KEY-----}, RSA, EC or Ed25519). Every failure is a
 * {@link TlsFileException} whose one-line message names the option and the file.
 */
public final class PemFiles {
    private static final Pattern PRIVATE_KEY = Pattern.compile(
            "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");
    private static final String CERTIFICATE = "-----BEGIN CERTIFICATE-----";

    private PemFiles() {
    }

    /** A certificate file's bytes, once they parse as at least one X.509 certificate. */
    public static byte[] certificates(String option, Path file) {
        byte[] pem = read(option, file);
        String text = new String(pem, StandardCharsets.US_ASCII);
        if (!text.contains(CERTIFICATE)) {
            throw new TlsFileException(option, file, text.contains("PRIVATE KEY-----")
                    ? "holds a private key, not a certificate"
                    : "is not a PEM certificate (no " + CERTIFICATE + " line)");
        }
        parseCertificates(option, file, pem);
        return pem;
    }

    /**
     * A private key file's bytes, once the key parses; when {@code certificateFile} is given, also
     * checked to be the key of the first certificate in it.
     */
    public static byte[] privateKey(String option, Path file, String certificateOption, Path certificateFile) {
        byte[] pem = read(option, file);
        PrivateKey key = parseKey(option, file, new String(pem, StandardCharsets.US_ASCII));
        if (certificateFile != null) {
            X509Certificate leaf = parseCertificates(certificateOption, certificateFile,
                    certificates(certificateOption, certificateFile)).get(0);
            if (!matches(key, leaf.getPublicKey())) {
                throw new TlsFileException(option, file, "is not the key of the certificate in " + certificateOption
                        + " " + certificateFile + " (" + leaf.getSubjectX500Principal().getName() + ")");
            }
        }
        return pem;
    }

    private static byte[] read(String option, Path file) {
        try {
            if (Files.isDirectory(file)) {
                throw new TlsFileException(option, file, "is a directory, not a PEM file");
            }
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TlsFileException(option, file, "does not exist");
        } catch (AccessDeniedException e) {
            throw new TlsFileException(option, file, "cannot be read (permission denied)");
        } catch (IOException e) {
            throw new TlsFileException(option, file, "cannot be read (" + e.getMessage() + ")");
        }
    }

    private static List<X509Certificate> parseCertificates(String option, Path file, byte[] pem) {
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem))) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new TlsFileException(option, file, "holds no certificate");
            }
            return out;
        } catch (GeneralSecurityException e) {
            throw new TlsFileException(option, file, "holds a certificate that does not parse (" + e.getMessage() + ")");
        }
    }

    private static PrivateKey parseKey(String option, Path file, String text) {
        Matcher m = PRIVATE_KEY.matcher(text);
        if (!m.find()) {
            String why = text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") ? "holds an encrypted key"
                    : text.contains("-----BEGIN RSA PRIVATE KEY-----") ? "holds a PKCS#1 RSA key"
                    : text.contains("-----BEGIN EC PRIVATE KEY-----") ? "holds a SEC1 EC key"
                    : text.contains(CERTIFICATE) ? "holds a certificate, not a private key"
                    : "is not a PEM private key (no -----BEGIN PRIVATE KEY----- line)";
            throw new TlsFileException(option, file, why + "; expected an unencrypted PKCS#8 key, as "
                    + "'openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem' writes");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(m.group(1).replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw new TlsFileException(option, file, "holds a private key that is not valid base64");
        }
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException notThisOne) {
                // Try the next algorithm; PKCS#8 names it, but KeyFactory wants it up front.
            }
        }
        throw new TlsFileException(option, file, "holds a private key that is not RSA, EC or Ed25519, or is damaged");
    }

    /** Whether {@code key} signs what {@code publicKey} verifies; true when the algorithm is not one we check. */
    private static boolean matches(PrivateKey key, PublicKey publicKey) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> null;
        };
        if (algorithm == null) {
            return true;
        }
        try {
            byte[] probe = "imprint key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException differentKinds) {
            return false;
        }
    }
}
