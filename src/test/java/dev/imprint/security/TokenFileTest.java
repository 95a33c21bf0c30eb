package dev.imprint.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenFileTest {
    @TempDir
    Path dataDir;

    @Test
    void aCreatedTokenCarries256RandomBitsAndOnlyItsHashIsStored() throws Exception {
        TokenFile file = TokenFile.of(dataDir);
        String token = file.create("ci", Role.SCORER);
        assertTrue(token.startsWith(Tokens.PREFIX), token);
        assertEquals(32, Base64.getUrlDecoder().decode(token.substring(Tokens.PREFIX.length())).length);
        String stored = Files.readString(file.path(), StandardCharsets.UTF_8);
        assertFalse(stored.contains(token.substring(Tokens.PREFIX.length())), stored);
        TokenRecord record = file.read().records().get(0);
        assertEquals("ci", record.name());
        assertEquals(Role.SCORER, record.role());
        assertArrayEquals(Tokens.sha256(token), record.sha256());
        assertEquals("ci", file.read().authenticate(token).orElseThrow().name());
        assertTrue(file.read().authenticate(token + "x").isEmpty());
    }

    @Test
    void tokensAreNeverTheSameTwice() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            assertTrue(seen.add(Tokens.generate()));
        }
    }

    @Test
    void aDuplicateOrBadNameChangesNothing() throws Exception {
        TokenFile file = TokenFile.of(dataDir);
        file.create("alice", Role.ADMIN);
        byte[] before = Files.readAllBytes(file.path());
        IllegalArgumentException duplicate = assertThrows(IllegalArgumentException.class,
                () -> file.create("alice", Role.READER));
        assertTrue(duplicate.getMessage().contains("a token named 'alice' already exists"), duplicate.getMessage());
        for (String bad : List.of("", "has space", "x".repeat(65), "slash/name")) {
            assertThrows(IllegalArgumentException.class, () -> file.create(bad, Role.READER), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> file.revoke("bob"));
        assertArrayEquals(before, Files.readAllBytes(file.path()));
    }

    @Test
    void aRevokedTokenNoLongerAuthenticatesAndCurrentSeesTheChange() throws Exception {
        TokenFile file = TokenFile.of(dataDir);
        String alice = file.create("alice", Role.ADMIN);
        String bob = file.create("bob", Role.READER);
        TokenFile server = TokenFile.of(dataDir);
        assertTrue(server.current().authenticate(alice).isPresent());
        file.revoke("alice");
        assertTrue(server.current().authenticate(alice).isEmpty());
        assertEquals("bob", server.current().authenticate(bob).orElseThrow().name());
    }

    @Test
    void anUnreadableFileRefusesEveryToken() throws Exception {
        TokenFile file = TokenFile.of(dataDir);
        String alice = file.create("alice", Role.ADMIN);
        TokenFile server = TokenFile.of(dataDir);
        assertTrue(server.current().authenticate(alice).isPresent());
        Files.writeString(file.path(), "{not json");
        assertTrue(server.current().authenticate(alice).isEmpty());
        assertThrows(java.io.UncheckedIOException.class, file::read);
    }

    @Test
    void aTenantIsKeptWhenTheFileCarriesOne() throws Exception {
        TokenFile file = TokenFile.of(dataDir);
        file.create("alice", Role.ADMIN);
        String json = Files.readString(file.path()).replace("\"role\" : \"admin\"", "\"role\" : \"admin\", \"tenant\" : \"lab-a\"");
        Files.writeString(file.path(), json);
        assertEquals("lab-a", file.read().records().get(0).tenant());
        file.create("bob", Role.READER);
        assertEquals("lab-a", file.read().records().get(0).tenant());
    }
}
