package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.security.Role;
import dev.imprint.security.TokenFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code imprint token create|list|revoke} over a data directory. */
class TokenCommandTest {
    @TempDir
    Path dataDir;

    @Test
    void createPrintsTheTokenOnceListShowsNamesAndRolesAndRevokeRemovesIt() throws Exception {
        CliRun created = CliRun.run("token", "create", "ci", "--role", "scorer", "--data-dir", dataDir.toString());
        assertEquals(0, created.exit(), created.toString());
        String token = created.out().strip();
        assertTrue(token.matches("imp_[A-Za-z0-9_-]{43}"), token);
        assertTrue(created.err().contains("created token 'ci' (scorer)"), created.err());
        assertEquals(Role.SCORER, TokenFile.of(dataDir).read().authenticate(token).orElseThrow().role());

        CliRun listed = CliRun.run("token", "list", "--data-dir", dataDir.toString());
        assertEquals(0, listed.exit(), listed.toString());
        assertTrue(listed.out().lines().anyMatch(l -> l.matches("ci +scorer +- +\\d{4}-.*Z")), listed.out());
        assertFalse(listed.out().contains(token.substring(4)), listed.out());

        CliRun revoked = CliRun.run("token", "revoke", "ci", "--data-dir", dataDir.toString());
        assertEquals(0, revoked.exit(), revoked.toString());
        assertTrue(TokenFile.of(dataDir).read().isEmpty());
    }

    @Test
    void badInputIsOneLineAndChangesNothing() throws Exception {
        assertEquals(0, CliRun.run("token", "create", "alice", "--role", "admin", "--data-dir",
                dataDir.toString()).exit());
        Path file = TokenFile.of(dataDir).path();
        byte[] before = Files.readAllBytes(file);

        CliRun role = CliRun.run("token", "create", "bob", "--role", "owner", "--data-dir", dataDir.toString());
        assertEquals(ImprintCli.EXIT_USAGE, role.exit(), role.toString());
        assertEquals(1, role.errLines().length, role.toString());
        assertTrue(role.err().contains("role 'owner' is unknown; expected one of admin, writer, scorer, reader"),
                role.toString());

        CliRun duplicate = CliRun.run("token", "create", "alice", "--role", "reader", "--data-dir",
                dataDir.toString());
        assertEquals(ImprintCli.EXIT_FAILURE, duplicate.exit(), duplicate.toString());
        assertEquals(1, duplicate.errLines().length, duplicate.toString());
        assertTrue(duplicate.err().contains("a token named 'alice' already exists"), duplicate.toString());

        CliRun name = CliRun.run("token", "create", "no spaces", "--role", "reader", "--data-dir",
                dataDir.toString());
        assertEquals(ImprintCli.EXIT_FAILURE, name.exit(), name.toString());
        assertTrue(name.err().contains("token name 'no spaces' is not valid"), name.toString());

        CliRun tenant = CliRun.run("token", "create", "dave", "--role", "reader", "--tenant", "..", "--data-dir",
                dataDir.toString());
        assertEquals(ImprintCli.EXIT_FAILURE, tenant.exit(), tenant.toString());
        assertEquals(1, tenant.errLines().length, tenant.toString());
        assertTrue(tenant.err().contains("tenant '..' is not valid"), tenant.toString());

        CliRun unknown = CliRun.run("token", "revoke", "carol", "--data-dir", dataDir.toString());
        assertEquals(ImprintCli.EXIT_FAILURE, unknown.exit(), unknown.toString());
        assertTrue(unknown.err().contains("no token named 'carol'"), unknown.toString());

        assertEquals("", String.join("", role.out(), duplicate.out(), name.out(), tenant.out()));
        assertArrayEquals(before, Files.readAllBytes(file));
    }

    @Test
    void theDataDirectoryComesFromItsVariableLikeEveryOption() {
        CliRun created = CliRun.run(java.util.Map.of("IMPRINT_DATA_DIR", dataDir.toString()), "token", "create", "ci",
                "--role", "reader");
        assertEquals(0, created.exit(), created.toString());
        assertFalse(TokenFile.of(dataDir).read().isEmpty());
    }
}
