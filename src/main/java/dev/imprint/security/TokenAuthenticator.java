package dev.imprint.security;

import java.util.Locale;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Checks tokens against a data directory's {@link TokenFile}, re-reading it when it changes, so a
 * created token works and a revoked one is refused from the next call on, without a restart.
 *
 * <p>When it enforces ({@link Mode}): {@code ON} always (with no tokens, every call is refused
 * until one is created); {@code AUTO} from the moment the file holds a token, at start or later,
 * and then until the server stops, even if every token is revoked (revoking the last token never
 * opens the server). {@code OFF} is not an authenticator at all: the server then installs none.
 */
public final class TokenAuthenticator implements Authenticator {
    private static final Logger LOG = Logger.getLogger(TokenAuthenticator.class.getName());

    /** {@code serve --auth}. */
    public enum Mode {
        AUTO, ON, OFF;

        public static Mode parse(String value) {
            for (Mode m : values()) {
                if (m.name().equalsIgnoreCase(value)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("--auth=" + value + "; expected auto, on or off");
        }

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final TokenFile tokens;
    private final Mode mode;
    private volatile boolean latched;

    /** @param mode ON or AUTO */
    public TokenAuthenticator(TokenFile tokens, Mode mode) {
        if (mode == Mode.OFF) {
            throw new IllegalArgumentException("mode OFF has no authenticator; install none instead");
        }
        this.tokens = tokens;
        this.mode = mode;
        this.latched = mode == Mode.ON || !tokens.current().isEmpty();
    }

    @Override
    public boolean enforcing() {
        if (latched) {
            return true;
        }
        if (!tokens.current().isEmpty()) {
            latched = true;
            LOG.info("authentication is now on: " + tokens.path() + " holds a token; calls need one from now on");
        }
        return latched;
    }

    @Override
    public Optional<TokenRecord> authenticate(String token) {
        return tokens.current().authenticate(token);
    }

    /** One line for the start-up log: whether calls need a token, and why. */
    public String describe() {
        int count = tokens.current().records().size();
        if (mode == Mode.ON) {
            return "authentication is on (--auth on): " + count + " token(s) in " + tokens.path()
                    + (count == 0 ? "; every call is refused until 'imprint token create' makes one" : "");
        }
        return latched ? "authentication is on: " + count + " token(s) in " + tokens.path()
                : "authentication is off until a token exists: no tokens in " + tokens.path()
                        + "; 'imprint token create' turns it on without a restart";
    }
}
