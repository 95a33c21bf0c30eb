package dev.imprint.tls;

import java.nio.file.Path;

/**
 * A certificate or key file that TLS cannot use: missing, unreadable, not PEM, the wrong kind of
 * key, or a key that does not belong to its certificate. The message is one line, e.g.
 * {@code --tls-key /etc/imprint/key.pem does not exist}.
 */
public final class TlsFileException extends RuntimeException {
    private final Path file;

    public TlsFileException(String option, Path file, String problem) {
        super(option + " " + file + " " + problem);
        this.file = file;
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }
}
