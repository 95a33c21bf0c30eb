package dev.imprint.security;

import java.util.Optional;

/** Decides, per call, whether tokens are demanded and whose a presented token is. */
public interface Authenticator {
    /** Whether calls must carry a known token now. */
    boolean enforcing();

    /** The record of the token presented, if it is known and not revoked. */
    Optional<TokenRecord> authenticate(String token);
}
