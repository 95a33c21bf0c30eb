package dev.imprint.core;

import java.util.Set;

/**
 * One message of a chat probe, as OpenAI-compatible chat endpoints take it.
 *
 * @param role    system, user or assistant
 * @param content the message text
 */
public record ChatMessage(String role, String content) {
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");

    public ChatMessage {
        if (role == null || !ROLES.contains(role)) {
            throw ImprintException.invalidArgument("message role=%s; expected system, user or assistant", role);
        }
        if (content == null) {
            throw ImprintException.invalidArgument("a %s message has no content", role);
        }
    }
}
