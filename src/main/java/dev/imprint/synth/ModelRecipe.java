package dev.imprint.synth;

/**
 * How a synthetic model is made. A recipe is a few numbers; {@link FingerprintSynth#fingerprint}
 * turns it into rows, so a student can re-derive its teacher's outputs without keeping them.
 */
public sealed interface ModelRecipe permits ModelRecipe.Base, ModelRecipe.Distilled {

    String modelId();

    /**
     * A model trained on its own: the shared world component, its family's component and its own
     * idiosyncrasy, sampled at {@code temperature} (DISTRIBUTION sets only).
     */
    record Base(String modelId, String family, double temperature) implements ModelRecipe {
        public Base {
            if (!(temperature > 0)) {
                throw new IllegalArgumentException("temperature=" + temperature + "; expected > 0");
            }
        }
    }

    /**
     * A student distilled from {@code teacher}: {@code log p_s ∝ beta*log p_teacher + (1-beta)*log
     * p_own + noise}, {@code own} being what the student would have learned on its own. For
     * EMBEDDING sets the same mixture is taken of unit vectors, then renormalised.
     *
     * @param beta  in [0, 1]: how much of the teacher the student absorbed
     * @param noise standard deviation of the Gaussian noise added to the student's log-probabilities
     *              (or, scaled by 1/sqrt(dim), to its embedding)
     */
    record Distilled(String modelId, ModelRecipe teacher, Base own, double beta, double noise)
            implements ModelRecipe {
        public Distilled {
            if (!(beta >= 0 && beta <= 1)) {
                throw new IllegalArgumentException("beta=" + beta + "; expected a value in [0, 1]");
            }
            if (!(noise >= 0)) {
                throw new IllegalArgumentException("noise=" + noise + "; expected >= 0");
            }
        }
    }
}
