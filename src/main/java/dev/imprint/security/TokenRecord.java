package dev.imprint.security;

import dev.imprint.core.TenantNames;
import java.time.Instant;

/**
 * One token as stored: never the token itself, only the SHA-256 of its UTF-8 bytes.
 *
 * @param name    who holds it; {@code [A-Za-z0-9._-]}, 1 to 64 characters, unique
 * @param role    what it may do
 * @param sha256  the token's SHA-256, 32 bytes
 * @param created when it was made
 * @param tenant  the tenant whose probe sets it alone sees ({@link TenantNames}); null for the
 *                default tenant, whose data lies at the top of the data directory
 */
public record TokenRecord(String name, Role role, byte[] sha256, Instant created, String tenant) {
    public TokenRecord {
        Tokens.checkName(name);
        if (tenant != null) {
            TenantNames.requireValid(tenant);
        }
        if (sha256.length != 32) {
            throw new IllegalArgumentException("token '" + name + "': sha256 has " + sha256.length
                    + " bytes; expected 32");
        }
        sha256 = sha256.clone();
    }

    @Override
    public byte[] sha256() {
        return sha256.clone();
    }
}
