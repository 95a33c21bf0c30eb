package dev.imprint.cli;

import dev.imprint.security.Role;
import dev.imprint.security.TokenFile;
import dev.imprint.security.TokenRecord;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code imprint token create|list|revoke}: the bearer tokens a server over the data directory
 * accepts ({@link TokenFile}). Works beside a running server (it does not take the directory's
 * lock), which picks up every change on its next call.
 */
@Command(name = "token", mixinStandardHelpOptions = true,
        description = "Create, list or revoke the bearer tokens a server over --data-dir accepts. A running "
                + "server sees the change on its next call.",
        subcommands = {TokenCommand.Create.class, TokenCommand.ListTokens.class, TokenCommand.Revoke.class})
final class TokenCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing a subcommand: create, list or revoke");
    }

    /** The data directory option every subcommand takes. */
    static final class DataDir {
        @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "./imprint-data",
                description = "Data directory whose ~auth/tokens.json holds the tokens. Default: ${DEFAULT-VALUE}.")
        Path dataDir;

        TokenFile tokens(boolean create) {
            if (!create && !Files.isDirectory(dataDir)) {
                throw new CliException("data dir " + dataDir + " does not exist");
            }
            return TokenFile.of(dataDir);
        }
    }

    /** {@code imprint token create NAME --role ROLE}. */
    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create a token named NAME with ROLE, print it once on stdout (only its SHA-256 is kept), "
                    + "e.g. export IMPRINT_TOKEN=$(imprint token create ci --role scorer).",
                    "Roles: admin (everything), writer (put and delete references, read), scorer (score, read), "
                            + "reader (get, list, info)."})
    static final class Create implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @picocli.CommandLine.Mixin
        private DataDir dir;

        @Parameters(index = "0", paramLabel = "NAME", description = "Who holds it: 1 to 64 of A-Z a-z 0-9 . _ -")
        String name;

        @Option(names = "--role", paramLabel = "ROLE", required = true,
                description = "admin, writer, scorer or reader.")
        String role;

        @Option(names = "--tenant", paramLabel = "TENANT",
                description = "Confine the token to this tenant: it sees, writes and scores only the tenant's probe "
                        + "sets, kept in <data-dir>/~tenants/TENANT. Without it, the default tenant (the top of "
                        + "the data directory).")
        String tenant;

        @Override
        public Integer call() throws IOException {
            Role parsed;
            try {
                parsed = Role.parse(role);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--role=" + role + ": " + e.getMessage());
            }
            String token;
            try {
                token = dir.tokens(true).create(name, parsed, tenant);
            } catch (IllegalArgumentException e) {
                throw new CliException(e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println(token);
            out.flush();
            PrintWriter err = spec.commandLine().getErr();
            err.println("created token '" + name + "' (" + parsed.wireName()
                    + (tenant == null ? "" : ", tenant " + tenant) + ") in " + dir.dataDir
                    + "; it is shown only this once");
            err.flush();
            return ImprintCli.EXIT_OK;
        }
    }

    /** {@code imprint token list}. */
    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the tokens: name, role, tenant and when each was created (never the token or its "
                    + "hash); '-' is the default tenant.")
    static final class ListTokens implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @picocli.CommandLine.Mixin
        private DataDir dir;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            // Read before the header is printed, so a missing directory is the one line it says.
            java.util.List<TokenRecord> records = dir.tokens(false).read().records();
            out.printf("%-24s %-8s %-16s %s%n", "NAME", "ROLE", "TENANT", "CREATED");
            for (TokenRecord r : records) {
                out.printf("%-24s %-8s %-16s %s%n", r.name(), r.role().wireName(),
                        r.tenant() == null ? "-" : r.tenant(), r.created());
            }
            out.flush();
            return ImprintCli.EXIT_OK;
        }
    }

    /** {@code imprint token revoke NAME}. */
    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Revoke the token named NAME; a running server refuses it from its next call on.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @picocli.CommandLine.Mixin
        private DataDir dir;

        @Parameters(index = "0", paramLabel = "NAME", description = "The token's name.")
        String name;

        @Override
        public Integer call() throws IOException {
            try {
                dir.tokens(false).revoke(name);
            } catch (IllegalArgumentException e) {
                throw new CliException(e.getMessage());
            }
            spec.commandLine().getOut().println("revoked token '" + name + "'");
            spec.commandLine().getOut().flush();
            return ImprintCli.EXIT_OK;
        }
    }
}
