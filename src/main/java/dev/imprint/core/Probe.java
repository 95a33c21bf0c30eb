package dev.imprint.core;

import java.util.List;

/**
 * What is sent to a model for one probe: a completion prompt, or the messages of a chat, exactly
 * one of the two.
 *
 * @param prompt   the prompt text for a completion endpoint; null for a chat probe
 * @param messages the chat for a chat endpoint, ending with what the model answers; empty for a
 *                 completion probe
 */
public record Probe(String prompt, List<ChatMessage> messages) {
    /** Longest prompt or message text, in characters. */
    public static final int MAX_TEXT = 1 << 16;

    public Probe {
        messages = messages == null ? List.of() : List.copyOf(messages);
        if ((prompt == null) == messages.isEmpty()) {
            throw ImprintException.invalidArgument(prompt == null
                    ? "a probe has neither a prompt nor messages" : "a probe has both a prompt and messages");
        }
        if (prompt != null && (prompt.isEmpty() || prompt.length() > MAX_TEXT)) {
            throw ImprintException.invalidArgument("a prompt of %d characters; expected 1..%d", prompt.length(),
                    MAX_TEXT);
        }
        for (ChatMessage m : messages) {
            if (m.content().length() > MAX_TEXT) {
                throw ImprintException.invalidArgument("a %s message of %d characters; expected at most %d",
                        m.role(), m.content().length(), MAX_TEXT);
            }
        }
    }

    public static Probe completion(String prompt) {
        return new Probe(prompt, List.of());
    }

    public static Probe chat(List<ChatMessage> messages) {
        return new Probe(null, messages);
    }
}
