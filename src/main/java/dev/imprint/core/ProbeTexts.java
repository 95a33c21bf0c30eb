package dev.imprint.core;

import java.util.List;

/**
 * What a probe set's fingerprints are captured from: its probes, in probe order, and how they
 * were sent, so anyone can capture a new reference or suspect on the same probes.
 *
 * @param probes      one per probe of the set, in order
 * @param temperature the sampling temperature the capture used: 0 or 1
 * @param maxTokens   the most tokens the capture asked for (1 for a next-token distribution)
 * @param vocabulary  how distributions from different tokenizers share a support; null when the
 *                    set does not say
 */
public record ProbeTexts(List<Probe> probes, double temperature, int maxTokens, VocabularyMode vocabulary) {
    /** Most tokens a capture may ask for per probe. */
    public static final int MAX_TOKENS = 4096;

    public ProbeTexts {
        probes = List.copyOf(probes);
        if (probes.isEmpty()) {
            throw ImprintException.invalidArgument("no probes");
        }
        if (temperature != 0 && temperature != 1) {
            throw ImprintException.invalidArgument("capture temperature=%s; expected 0 or 1", temperature);
        }
        if (maxTokens < 1 || maxTokens > MAX_TOKENS) {
            throw ImprintException.invalidArgument("capture max_tokens=%d; expected 1..%d", maxTokens, MAX_TOKENS);
        }
    }
}
