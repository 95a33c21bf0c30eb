package dev.imprint.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/** An immutable set of token records, and the one way to check a presented token against it. */
public final class Tokens {
    /** Every token starts with this, so a leaked one is easy to recognise (and to scan for). */
    public static final String PREFIX = "imp_";
    /** 256 bits of randomness per token. */
    static final int RANDOM_BYTES = 32;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final SecureRandom RANDOM = new SecureRandom();
    public static final Tokens NONE = new Tokens(List.of());

    private final List<TokenRecord> records;

    public Tokens(List<TokenRecord> records) {
        this.records = List.copyOf(records);
    }

    public List<TokenRecord> records() {
        return records;
    }

    public boolean isEmpty() {
        return records.isEmpty();
    }

    /**
     * The record whose hash is the presented token's, if any. Every record is compared, each in
     * constant time ({@link MessageDigest#isEqual}), so the time taken says nothing about which
     * hash came close.
     */
    public Optional<TokenRecord> authenticate(String token) {
        byte[] presented = sha256(token);
        TokenRecord found = null;
        for (TokenRecord r : records) {
            if (MessageDigest.isEqual(presented, r.sha256()) && found == null) {
                found = r;
            }
        }
        return Optional.ofNullable(found);
    }

    /** A fresh token: {@value #PREFIX} then 256 random bits as unpadded base64url (47 characters). */
    public static String generate() {
        byte[] bytes = new byte[RANDOM_BYTES];
        RANDOM.nextBytes(bytes);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** The SHA-256 of {@code token}'s UTF-8 bytes. */
    public static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    /** @throws IllegalArgumentException naming the value and the expectation */
    static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("token name '" + name + "' is not valid; expected 1 to 64 of "
                    + "A-Z a-z 0-9 . _ -");
        }
    }
}
