package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.security.Role;
import dev.imprint.security.TokenAuthenticator;
import dev.imprint.security.TokenFile;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.testing.TestCertificates;
import dev.imprint.tls.ServerTls;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Python client's own tests (src/main/python/tests) against a real server on a loopback port
 * that enforces tokens (they get an admin token in IMPRINT_TOKEN and a reader one in
 * IMPRINT_READER_TOKEN), and a second one requiring client certificates (mutual TLS) for its TLS
 * tests.
 * Skipped, saying why, where IMPRINT_TEST_PYTHON (what .ci/run sets to its venv), else python3,
 * lacks grpcio, grpcio-tools, numpy or pyarrow.
 */
class PythonClientTest {
    private static final String PYTHON = System.getenv().getOrDefault("IMPRINT_TEST_PYTHON", "python3");
    private static final Path PACKAGE_ROOT = Path.of("src/main/python").toAbsolutePath();

    @TempDir
    Path dataDir;

    @TempDir
    Path certDir;

    @Test
    void pythonClientTestsPassAgainstARealServer() throws Exception {
        assumeTrue(exit(List.of(PYTHON, "-c", "import grpc, grpc_tools, numpy, pyarrow")) == 0,
                PYTHON + " lacks grpcio, grpcio-tools, numpy or pyarrow (set IMPRINT_TEST_PYTHON, as .ci/run does), "
                        + "so the Python client's tests cannot run");
        String admin = TokenFile.of(dataDir).create("admin", Role.ADMIN);
        String reader = TokenFile.of(dataDir).create("reader", Role.READER);
        ImprintServer server = new ImprintServer(ImprintServer.nettyBuilder("127.0.0.1", 0),
                ImprintEngine.open(ArrowFingerprintStore.open(dataDir), new SelectedBackend(new CpuBackend(2), "cpu")),
                ImprintServer.Options.defaults(), new ImprintServer.Security(true,
                        new TokenAuthenticator(TokenFile.of(dataDir), TokenAuthenticator.Mode.ON), null)).start();
        // A second server requires client certificates, for tests/test_tls.py.
        TestCertificates certs = TestCertificates.writeTo(Files.createDirectory(certDir.resolve("certs")));
        ImprintServer tlsServer;
        try {
            tlsServer = new ImprintServer(ImprintServer.nettyBuilder("127.0.0.1", 0,
                    new ServerTls(certs.serverCert(), certs.serverKey(), certs.caCert()).credentials()),
                    ImprintEngine.open(ArrowFingerprintStore.open(certDir.resolve("tls-data")),
                            new SelectedBackend(new CpuBackend(1), "cpu")),
                    ImprintServer.Options.defaults()).start();
        } catch (IOException | RuntimeException e) {
            server.stop();
            throw e;
        }
        try {
            ProcessBuilder tests = new ProcessBuilder(PYTHON, "-m", "unittest", "discover", "-s", "tests", "-v")
                    .directory(PACKAGE_ROOT.toFile()).redirectErrorStream(true);
            tests.environment().put("IMPRINT_SERVER", "127.0.0.1:" + server.port());
            tests.environment().put("IMPRINT_TLS_SERVER", "127.0.0.1:" + tlsServer.port());
            tests.environment().put("IMPRINT_TLS_CERTS", certs.caCert().getParent().toString());
            tests.environment().put("PYTHONPATH", PACKAGE_ROOT.toString());
            tests.environment().put("IMPRINT_TOKEN", admin);
            tests.environment().put("IMPRINT_READER_TOKEN", reader);
            Process p = tests.start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the Python tests did not finish:\n" + output);
            System.out.println(output);
            assertEquals(0, p.exitValue(), output);
            assertTrue(output.contains("OK") && !output.contains("skipped"), output);
        } finally {
            tlsServer.stop();
            server.stop();
        }
    }

    private static int exit(List<String> command) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (IOException e) {
            return -1;
        }
    }
}
