package dev.imprint.endpoint;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a synthetic model's completion one token at a time: each next token comes from the
 * model's distribution after the prompt plus what it has written so far, greedily at temperature
 * 0 and otherwise sampled by a generator seeded from (model, prompt, seed). A {@code "."} ends the
 * answer early, as an end-of-sentence token would.
 */
final class Generator {
    private static final String STOP = ".";

    private final SyntheticModels models;

    Generator(SyntheticModels models) {
        this.models = models;
    }

    /** One written token and the distribution it was chosen from (most probable first). */
    record Step(String token, double logprob, Map<String, Double> distribution) {}

    /**
     * A finished answer: its steps, the text they spell (tokens decoded), and why it ended,
     * {@code "stop"} or {@code "length"} as OpenAI names them.
     */
    record Completion(List<Step> steps, String text, String finishReason) {}

    /**
     * Up to {@code maxTokens} tokens of chat model {@code model} after {@code prompt}. Logprobs
     * are of the model's own distribution, not the temperature-scaled one it sampled from.
     */
    Completion complete(SyntheticModels.Model model, String prompt, int maxTokens, double temperature, long seed) {
        Noise.Stream random = new Noise.Stream(Noise.combine(Noise.combine(Noise.hash(model.id()), Noise.hash(prompt)), seed));
        List<Step> steps = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        while (steps.size() < maxTokens) {
            Map<String, Double> distribution = models.nextTokenDistribution(model.id(), prompt + text);
            String token = temperature == 0 ? distribution.keySet().iterator().next()
                    : sample(distribution, temperature, random.nextDouble());
            steps.add(new Step(token, Math.log(distribution.get(token)), distribution));
            text.append(model.tokenizer().decode(token));
            if (token.equals(STOP)) {
                return new Completion(steps, text.toString(), "stop");
            }
        }
        return new Completion(steps, text.toString(), "length");
    }

    /** The token at cumulative mass {@code u} of {@code distribution} raised to 1/temperature and renormalized. */
    private static String sample(Map<String, Double> distribution, double temperature, double u) {
        double total = 0;
        for (double p : distribution.values()) {
            total += Math.pow(p, 1 / temperature);
        }
        double target = u * total;
        double cumulative = 0;
        String last = null;
        for (Map.Entry<String, Double> e : distribution.entrySet()) {
            cumulative += Math.pow(e.getValue(), 1 / temperature);
            last = e.getKey();
            if (cumulative >= target) {
                return last;
            }
        }
        // Rounding can leave the target a hair above the last cumulative sum.
        return last;
    }
}
