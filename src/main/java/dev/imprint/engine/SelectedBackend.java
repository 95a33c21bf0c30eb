package dev.imprint.engine;

/**
 * The backend chosen at start-up and, in words, why.
 *
 * @param reason one line for logs and GetServerInfo, e.g. "cpu: requested with --backend cpu"
 */
public record SelectedBackend(ScoringBackend backend, String reason) {
}
