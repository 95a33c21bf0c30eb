package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.security.Role;
import dev.imprint.security.TokenFile;
import dev.imprint.testing.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code serve} with TLS and mutual TLS over a real loopback port, the loopback rule, and the --server commands' TLS flags. */
class ServeTlsCommandTest {
    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+):(\\d+)$");

    @TempDir
    Path tmp;

    private TestCertificates certs;
    private final List<LogRecord> logged = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            logged.add(record);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    private final Logger root = Logger.getLogger("");
    private final ExecutorService thread = Executors.newSingleThreadExecutor();
    private ServeCommand serve;
    private Future<CliRun> running;

    @BeforeEach
    void setUp() {
        certs = TestCertificates.writeTo(tmp);
        root.addHandler(capture);
    }

    @AfterEach
    void release() throws Exception {
        try {
            if (serve != null) {
                serve.stop();
                CliRun stopped = running.get(30, TimeUnit.SECONDS);
                assertEquals(0, stopped.exit(), stopped.toString());
            }
        } finally {
            root.removeHandler(capture);
            thread.shutdownNow();
        }
    }

    @Test
    void aTokenTravelsInsideTlsAndIsStillRequired() throws Exception {
        String token = TokenFile.of(tmp.resolve("served")).create("analyst", Role.READER);
        String address = serve("--tls-cert", certs.serverCert().toString(), "--tls-key", certs.serverKey().toString());
        CliRun withToken = CliRun.run(Map.of("IMPRINT_TOKEN", token), "info", "--server", address, "--tls-ca",
                certs.caCert().toString());
        assertEquals(0, withToken.exit(), withToken.toString());
        assertTrue(withToken.out().contains("backend"), withToken.out());
        CliRun without = CliRun.run(Map.of(), "info", "--server", address, "--tls-ca", certs.caCert().toString());
        assertEquals(1, without.exit(), without.toString());
        assertEquals(1, without.errLines().length, without.toString());
        assertTrue(without.err().contains("UNAUTHENTICATED"), without.err());
        CliRun writer = CliRun.run(Map.of("IMPRINT_TOKEN", token), "delete", "--probe-set", "x", "--server", address,
                "--tls-ca", certs.caCert().toString());
        assertEquals(1, writer.exit(), writer.toString());
        assertTrue(writer.err().contains("PERMISSION_DENIED"), writer.err());
    }

    @Test
    void infoReachesATlsServerTrustingItsCa() throws Exception {
        String address = serve("--tls-cert", certs.serverCert().toString(), "--tls-key", certs.serverKey().toString());
        CliRun info = CliRun.run("info", "--server", address, "--tls-ca", certs.caCert().toString());
        assertEquals(0, info.exit(), info.toString());
        assertTrue(info.out().contains("backend"), info.out());
        assertTrue(logged.stream().anyMatch(r -> r.getMessage().equals("serving TLS")), messages().toString());

        CliRun fromEnvironment = CliRun.run(Map.of("IMPRINT_SERVER", address, "IMPRINT_TLS_CA",
                certs.caCert().toString()), "info");
        assertEquals(0, fromEnvironment.exit(), fromEnvironment.toString());

        CliRun plaintext = CliRun.run("info", "--server", address);
        assertOneLineFailure(plaintext, "imprint info: cannot reach " + address + ": the server closed the "
                + "connection without answering; it probably serves TLS (connect with --tls-ca FILE, or --tls for a "
                + "publicly trusted certificate)");
    }

    @Test
    void mutualTlsServesClientsWithACertificateAndRefusesOthersInOneLine() throws Exception {
        String address = serve("--tls-cert", certs.serverCert().toString(), "--tls-key", certs.serverKey().toString(),
                "--tls-client-ca", certs.caCert().toString());
        CliRun withCertificate = CliRun.run("info", "--server", address, "--tls-ca", certs.caCert().toString(),
                "--tls-cert", certs.clientCert().toString(), "--tls-key", certs.clientKey().toString());
        assertEquals(0, withCertificate.exit(), withCertificate.toString());

        CliRun without = CliRun.run("list", "--server", address, "--tls-ca", certs.caCert().toString());
        assertOneLineFailure(without, "imprint list: cannot reach " + address + ": the server requires a client "
                + "certificate signed by a CA it trusts, and none was presented (give --tls-cert and --tls-key; a "
                + "certificate from another CA is not offered)");

        CliRun untrusted = CliRun.run("info", "--server", address, "--tls-ca", certs.caCert().toString(),
                "--tls-cert", certs.otherClientCert().toString(), "--tls-key", certs.otherClientKey().toString());
        assertEquals(1, untrusted.exit(), untrusted.toString());
        assertTrue(untrusted.err().startsWith("imprint info: cannot reach " + address + ": "), untrusted.err());
        assertTrue(untrusted.err().contains("client certificate"), untrusted.err());
    }

    @Test
    void aTlsClientOfAPlaintextServerFailsInOneLine() throws Exception {
        String address = serve();
        CliRun info = CliRun.run("info", "--server", address, "--tls-ca", certs.caCert().toString());
        assertOneLineFailure(info, "imprint info: cannot reach " + address + ": the server does not speak TLS (it "
                + "answered in plaintext); connect without --tls and --tls-ca, or start it with --tls-cert and --tls-key");
    }

    @Test
    void aClientKeyFileThatIsMissingIsNamedBeforeConnecting() {
        Path missing = tmp.resolve("nope.key");
        CliRun info = CliRun.run("info", "--server", "127.0.0.1:1", "--tls-cert", certs.clientCert().toString(),
                "--tls-key", missing.toString());
        assertOneLineFailure(info, "imprint info: --tls-key " + missing + " does not exist");
    }

    @Test
    void servingPlaintextOffLoopbackIsAUsageErrorNamingInsecure() {
        Path data = tmp.resolve("data");
        CliRun run = CliRun.run("serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", data.toString());
        assertEquals(ImprintCli.EXIT_USAGE, run.exit(), run.toString());
        assertEquals(1, run.errLines().length, run.err());
        assertTrue(run.err().contains("--host=0.0.0.0 is not loopback") && run.err().contains("--insecure"), run.err());
        assertFalse(Files.exists(data), "the data directory was created before the refusal");
    }

    @Test
    void insecureServesPlaintextOffLoopbackAndLogsOneWarning() throws Exception {
        serve("--host", "0.0.0.0", "--insecure");
        List<LogRecord> warnings = logged.stream().filter(r -> r.getLevel() == Level.WARNING
                && r.getMessage().contains("plaintext")).toList();
        assertEquals(1, warnings.size(), messages().toString());
        assertTrue(warnings.get(0).getMessage().startsWith("serving plaintext to the network on 0.0.0.0"),
                warnings.get(0).getMessage());
    }

    @Test
    void loopbackNamesServePlaintextWithoutInsecure() {
        assertTrue(ServeCommand.loopback("127.0.0.1"));
        assertTrue(ServeCommand.loopback("127.3.2.1"));
        assertTrue(ServeCommand.loopback("::1"));
        assertTrue(ServeCommand.loopback("localhost"));
        assertFalse(ServeCommand.loopback("0.0.0.0"));
        assertFalse(ServeCommand.loopback("::"));
        assertFalse(ServeCommand.loopback("192.0.2.7"));
    }

    @Test
    void unusableCertificateOrKeyFilesExitOneNamingTheFileBeforeBinding() throws Exception {
        Path data = tmp.resolve("data");
        Path missing = tmp.resolve("missing.pem");
        CliRun noCert = CliRun.run("serve", "--port", "0", "--data-dir", data.toString(), "--tls-cert",
                missing.toString(), "--tls-key", certs.serverKey().toString());
        assertOneLineFailure(noCert, "imprint serve: --tls-cert " + missing + " does not exist");

        Path notPem = Files.writeString(tmp.resolve("key.txt"), "hello\n");
        CliRun badKey = CliRun.run("serve", "--port", "0", "--data-dir", data.toString(), "--tls-cert",
                certs.serverCert().toString(), "--tls-key", notPem.toString());
        assertOneLineFailure(badKey, "imprint serve: --tls-key " + notPem + " is not a PEM private key (no "
                + "-----BEGIN PRIVATE KEY----- line); expected an unencrypted PKCS#8 key, as 'openssl pkcs8 -topk8 "
                + "-nocrypt -in KEY -out key.pem' writes");

        CliRun wrongKey = CliRun.run("serve", "--port", "0", "--data-dir", data.toString(), "--tls-cert",
                certs.serverCert().toString(), "--tls-key", certs.clientKey().toString());
        assertEquals(1, wrongKey.exit(), wrongKey.toString());
        assertTrue(wrongKey.err().contains("--tls-key " + certs.clientKey() + " is not the key of the certificate"),
                wrongKey.err());
        assertFalse(Files.exists(data), "the data directory was opened before the files were checked");
        assertTrue(logged.stream().noneMatch(r -> r.getMessage().startsWith("listening on")), messages().toString());
    }

    @Test
    void halfATlsConfigurationIsAUsageError() {
        CliRun certOnly = CliRun.run("serve", "--port", "0", "--tls-cert", certs.serverCert().toString());
        assertEquals(ImprintCli.EXIT_USAGE, certOnly.exit(), certOnly.toString());
        assertTrue(certOnly.err().contains("--tls-cert=" + certs.serverCert() + " needs --tls-key"), certOnly.err());
        CliRun clientCaOnly = CliRun.run("serve", "--port", "0", "--tls-client-ca", certs.caCert().toString());
        assertEquals(ImprintCli.EXIT_USAGE, clientCaOnly.exit(), clientCaOnly.toString());
        CliRun keyOnly = CliRun.run("info", "--server", "127.0.0.1:1", "--tls-key", certs.clientKey().toString());
        assertEquals(ImprintCli.EXIT_USAGE, keyOnly.exit(), keyOnly.toString());
        assertTrue(keyOnly.err().contains("needs --tls-cert"), keyOnly.err());
    }

    /** Starts {@code serve --port 0} with {@code flags} in a thread; its address once it listens. */
    private String serve(String... flags) throws Exception {
        CommandLine cli = ImprintCli.commandLine(Map.of());
        serve = cli.getSubcommands().get("serve").getCommand();
        String[] args = new String[5 + flags.length];
        args[0] = "serve";
        args[1] = "--port";
        args[2] = "0";
        args[3] = "--data-dir";
        args[4] = tmp.resolve("served").toString();
        System.arraycopy(flags, 0, args, 5, flags.length);
        running = thread.submit(() -> CliRun.run(cli, args));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (LogRecord r : logged) {
                Matcher m = LISTENING.matcher(r.getMessage());
                if (m.find()) {
                    return "127.0.0.1:" + m.group(2);
                }
            }
            if (running.isDone()) {
                throw new AssertionError("serve ended before listening: " + running.get());
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no 'listening on' line within 30 s; logged: " + messages());
    }

    private List<String> messages() {
        return logged.stream().map(r -> r.getLevel() + " " + r.getMessage()).toList();
    }

    private static void assertOneLineFailure(CliRun run, String expected) {
        assertEquals(ImprintCli.EXIT_FAILURE, run.exit(), run.toString());
        assertEquals(expected, run.err().strip(), run.toString());
    }
}
