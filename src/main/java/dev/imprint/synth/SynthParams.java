package dev.imprint.synth;

/**
 * The knobs of the synthetic-fingerprint model. Component scales are standard deviations of the
 * logits (DISTRIBUTION) or relative weights of unit-scale directions (EMBEDDING).
 *
 * @param worldScale        weight of the component every model shares; it is multiplied per probe
 *                          by an easiness in [0.3, 1.7], so easy probes are ones models agree on
 * @param familyScale       weight of the component models of one family share
 * @param idiosyncrasyScale weight of each model's own component
 * @param minTemperature    lower bound of a base model's sampling temperature (DISTRIBUTION only)
 * @param maxTemperature    upper bound of it
 * @param studentNoise      noise added to a distilled student, see {@link ModelRecipe.Distilled}
 */
public record SynthParams(double worldScale, double familyScale, double idiosyncrasyScale,
                          double minTemperature, double maxTemperature, double studentNoise) {

    public SynthParams {
        if (!(worldScale >= 0 && familyScale >= 0 && idiosyncrasyScale > 0)) {
            throw new IllegalArgumentException(String.format(
                    "scales world=%s family=%s idiosyncrasy=%s; expected >= 0, >= 0 and > 0",
                    worldScale, familyScale, idiosyncrasyScale));
        }
        if (!(minTemperature > 0 && maxTemperature >= minTemperature)) {
            throw new IllegalArgumentException(String.format(
                    "temperature range [%s, %s]; expected 0 < min <= max", minTemperature, maxTemperature));
        }
        if (!(studentNoise >= 0)) {
            throw new IllegalArgumentException("studentNoise=" + studentNoise + "; expected >= 0");
        }
    }

    /** Settings under which independent models clearly agree and students still betray their teacher. */
    public static SynthParams defaults() {
        return new SynthParams(3.0, 1.5, 1.2, 0.8, 1.25, 0.3);
    }
}
