package dev.imprint.security;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When a server demands tokens: {@code --auth auto} (the default), {@code on}, {@code off}. */
class TokenAuthenticatorTest {
    @TempDir
    Path dataDir;

    @Test
    void autoEnforcesOnceATokenExistsAndStaysOnWhenTheLastIsRevoked() throws Exception {
        TokenFile file = TokenFile.of(dataDir);
        TokenAuthenticator auth = new TokenAuthenticator(TokenFile.of(dataDir), TokenAuthenticator.Mode.AUTO);
        assertFalse(auth.enforcing());
        assertTrue(auth.describe().startsWith("authentication is off until a token exists"), auth.describe());
        file.create("alice", Role.ADMIN);
        assertTrue(auth.enforcing());
        file.revoke("alice");
        assertTrue(auth.enforcing());
    }

    @Test
    void autoEnforcesFromTheStartWhenTheDirectoryHoldsAToken() throws Exception {
        TokenFile.of(dataDir).create("alice", Role.ADMIN);
        TokenAuthenticator auth = new TokenAuthenticator(TokenFile.of(dataDir), TokenAuthenticator.Mode.AUTO);
        assertTrue(auth.enforcing());
        assertTrue(auth.describe().startsWith("authentication is on: 1 token(s)"), auth.describe());
    }

    @Test
    void onEnforcesEvenWithoutTokensAndOffIsNoAuthenticator() {
        assertTrue(new TokenAuthenticator(TokenFile.of(dataDir), TokenAuthenticator.Mode.ON).enforcing());
        assertThrows(IllegalArgumentException.class,
                () -> new TokenAuthenticator(TokenFile.of(dataDir), TokenAuthenticator.Mode.OFF));
    }
}
