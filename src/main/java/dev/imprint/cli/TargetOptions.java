package dev.imprint.cli;

import dev.imprint.tls.ClientTls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Where a command finds fingerprints: a running server, or else a data directory in-process. */
final class TargetOptions {
    /** HOST:PORT, HOST a name, an IPv4 address or a bracketed IPv6 address. */
    static final String DEFAULT_TOKEN_VARIABLE = "IMPRINT_TOKEN";
    private static final Pattern ADDRESS = Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):(\\d{1,5})");

    @Spec(Spec.Target.MIXEE)
    private CommandSpec mixee;

    @Option(names = "--server", paramLabel = "HOST:PORT",
            description = "Talk to a running server instead of opening --data-dir in-process.")
    String server;

    @Option(names = "--call-timeout-ms", paramLabel = "MILLIS", defaultValue = "120000",
            description = "With --server, the deadline of each single call (a score, info, a lookup), past which it "
                    + "fails with DEADLINE_EXCEEDED and the server drops it if still queued; 0 waits as long as it "
                    + "takes. Uploads and bulk rescoring streams have none. Default: ${DEFAULT-VALUE}.")
    long callTimeoutMillis;

    @Option(names = "--connect-timeout-ms", paramLabel = "MILLIS", defaultValue = "10000",
            description = "With --server, how long to wait for the server to answer a first call before giving up "
                    + "with 'cannot reach HOST:PORT'. Default: ${DEFAULT-VALUE}.")
    long connectTimeoutMillis;

    @Option(names = "--token-env", paramLabel = "VAR", defaultValue = DEFAULT_TOKEN_VARIABLE,
            description = "With --server, the environment variable holding the bearer token to send (from 'imprint "
                    + "token create'); a variable, not a flag, so the token never shows in ps. Unset: no token. "
                    + "Default: ${DEFAULT-VALUE}.")
    String tokenVariable;

    @Option(names = "--tls", description = "With --server, speak TLS, trusting the system's CAs (or --tls-ca).")
    boolean tls;

    @Option(names = "--tls-ca", paramLabel = "FILE",
            description = "With --server, speak TLS and trust the CA certificates in this PEM file.")
    Path tlsCa;

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "With --server, present this PEM certificate chain to a server that requires client "
                    + "certificates (mutual TLS); needs --tls-key, implies TLS.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE",
            description = "The unencrypted PKCS#8 PEM key of --tls-cert.")
    Path tlsKey;

    @Option(names = "--tls-server-name", paramLabel = "NAME",
            description = "With TLS, check the server's certificate against NAME instead of the --server host; "
                    + "implies TLS.")
    String tlsServerName;

    @Mixin
    private BackendOptions backendOptions;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "./imprint-data",
            description = "Data directory used in-process when --server is not given.")
    Path dataDir;

    /**
     * Connects to the server if one was named, else opens the data directory.
     *
     * @param create whether a missing data directory is created (for commands that write) or an
     *               error (for commands that only read, so a mistyped path is not silently empty)
     */
    Target open(boolean create) {
        if (callTimeoutMillis < 0) {
            throw new ParameterException(mixee.commandLine(),
                    "--call-timeout-ms=" + callTimeoutMillis + "; expected 0 (none) or more");
        }
        if (connectTimeoutMillis <= 0) {
            throw new ParameterException(mixee.commandLine(),
                    "--connect-timeout-ms=" + connectTimeoutMillis + "; expected a positive number of milliseconds");
        }
        ClientTls clientTls = clientTls();
        if (server != null && !server.isBlank()) {
            return RemoteTarget.connect(checkedAddress(server.trim()),
                    callTimeoutMillis == 0 ? null : Duration.ofMillis(callTimeoutMillis),
                    Duration.ofMillis(connectTimeoutMillis), clientTls, token());
        }
        if (!create && !Files.isDirectory(dataDir)) {
            throw new CliException("data dir " + dataDir + " does not exist; put references there first, "
                    + "or name a server with --server");
        }
        return LocalTarget.open(backendOptions.openEngine(dataDir), dataDir);
    }

    /** The token in the --token-env variable; null when the default variable is unset. */
    private String token() {
        String token = EnvDefaults.variable(mixee.commandLine(), tokenVariable);
        if (token == null && !DEFAULT_TOKEN_VARIABLE.equals(tokenVariable)) {
            throw new CliException("--token-env " + tokenVariable + ": the variable is not set; set it to a token "
                    + "from 'imprint token create'");
        }
        return token == null ? null : token.strip();
    }

    /** The TLS the flags ask for, or null for plaintext: any TLS flag means TLS. */
    private ClientTls clientTls() {
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new ParameterException(mixee.commandLine(), tlsCert == null
                    ? "--tls-key=" + tlsKey + " needs --tls-cert, the certificate it belongs to"
                    : "--tls-cert=" + tlsCert + " needs --tls-key, its private key");
        }
        boolean blankName = tlsServerName == null || tlsServerName.isBlank();
        if (!tls && tlsCa == null && tlsCert == null && blankName) {
            return null;
        }
        return new ClientTls(tlsCa, tlsCert, tlsKey, blankName ? null : tlsServerName.trim());
    }

    private String checkedAddress(String address) {
        Matcher m = ADDRESS.matcher(address);
        int port = m.matches() ? Integer.parseInt(m.group(2)) : 0;
        if (port < 1 || port > 65535) {
            throw new ParameterException(mixee.commandLine(),
                    "--server=" + address + "; expected HOST:PORT with PORT in 1..65535, e.g. 127.0.0.1:50051");
        }
        return address;
    }
}
