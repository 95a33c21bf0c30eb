package dev.imprint.engine;

import dev.imprint.core.Truncation;

/**
 * How a suspect's rows were taken, as far as its rows tell: top-k truncated (and to how many tokens
 * per probe), and at what sampling temperature relative to the references. Attribution makes its
 * null see the truncation and undoes a temperature none of the references has where a form is not
 * blind to it (see {@link FormKind}).
 *
 * @param kept        per probe, the tokens the row keeps ({@link Truncation}); null for full rows
 * @param temperature the suspect's temperature relative to the references' mean: 1 for a typical
 *                    one, above 1 for a flatter one
 * @param coolest     the lowest such temperature among the references themselves
 * @param hottest     the highest
 */
record SuspectConditions(int[] kept, double temperature, double coolest, double hottest) {
    /** The estimate is kept within this factor of 1: beyond it a row is not a tempered model. */
    static final double MAX_TEMPERATURE_FACTOR = 4;

    /** Rows read as {@code kept} (null: full), their temperature not measured: for a form blind to it. */
    static SuspectConditions truncatedOnly(int[] kept) {
        return new SuspectConditions(kept, 1, 1, 1);
    }

    /**
     * How much hotter (above 1) or cooler (below 1) the suspect is than the nearest reference:
     * 1 when some reference is as hot. A form that sees temperature compares the suspect with
     * references at their own temperatures, so only a temperature outside theirs is undone; within
     * it, undoing would move a student away from its teacher's.
     */
    double excess() {
        return temperature / Math.max(coolest, Math.min(hottest, temperature));
    }

    /**
     * Measures the conditions of a DISTRIBUTION suspect's N×D rows on {@code probes}.
     *
     * <p>Temperature. In the log form a model at temperature t is its own form divided by t, so the
     * slope of the suspect's form on the consensus μ (the mean of the references' forms), fitted
     * over all probes, is {@code b ≈ 1/t}. A top-k row is fitted on the tokens it keeps, each probe
     * centred on them; as those are the tokens where the model itself is highest, the fit is
     * biased, so every reference is fitted the same way on its own top tokens (same k per probe),
     * which carries the same bias: the suspect's temperature is {@code mean_r b_r / b}, and each
     * reference's {@code mean_r b_r / b_r}.
     *
     * @param logView the LOG_RATIO view, whose μ is the consensus
     */
    static SuspectConditions measure(AttributionView logView, float[] rows, int[] probes) {
        return measure(logView, rows, probes, Truncation.keptPerRow(rows, probes.length, logView.forms().set().dim()));
    }

    /** {@link #measure(AttributionView, float[], int[])} with the rows' {@link Truncation#keptPerRow} known. */
    static SuspectConditions measure(AttributionView logView, float[] rows, int[] probes, int[] kept) {
        AttributionForms forms = logView.forms();
        int dim = forms.set().dim();
        if (forms.size() == 0) {
            return new SuspectConditions(kept, 1, 1, 1);
        }
        int[] at = new int[probes.length];
        java.util.Arrays.setAll(at, j -> j * dim);
        double slope = slope(forms, forms.formOf(rows, probes.length), at, probes, kept);
        AttributionView.Slopes references = logView.referenceSlopes(probes, kept);
        double temperature = slope > 0 && references.mean() > 0
                ? clamp(references.mean() / slope) : 1;
        double coolest = references.highest() > 0 ? clamp(references.mean() / references.highest()) : 1;
        double hottest = references.lowest() > 0 ? clamp(references.mean() / references.lowest()) : 1;
        return new SuspectConditions(kept, temperature, Math.min(1, coolest), Math.max(1, hottest));
    }

    private static double clamp(double temperature) {
        return Math.max(1 / MAX_TEMPERATURE_FACTOR, Math.min(MAX_TEMPERATURE_FACTOR, temperature));
    }

    /**
     * The least-squares slope of a log form on μ over the top {@code kept[j]} tokens of each probe
     * (all of them when {@code kept} is null), each probe centred on its tokens.
     *
     * @param form the form's rows; probe j's starts at {@code at[j]}
     */
    static double slope(AttributionForms forms, float[] form, int[] at, int[] probes, int[] kept) {
        int dim = forms.set().dim();
        double across = 0;
        double alongMu = 0;
        for (int j = 0; j < probes.length; j++) {
            int[] tokens = top(form, at[j], dim, kept == null ? dim : kept[j]);
            if (tokens.length < 2) {
                continue;
            }
            int muAt = probes[j] * dim;
            double mx = 0;
            double mm = 0;
            for (int d : tokens) {
                mx += form[at[j] + d] / tokens.length;
                mm += forms.mu(muAt + d) / tokens.length;
            }
            for (int d : tokens) {
                double mu = forms.mu(muAt + d) - mm;
                across += (form[at[j] + d] - mx) * mu;
                alongMu += mu * mu;
            }
        }
        return alongMu > 0 ? across / alongMu : 0;
    }

    /** The indices of the k largest of {@code form[at .. at+dim)}, ties to the lower index. */
    private static int[] top(float[] form, int at, int dim, int k) {
        if (k >= dim) {
            return java.util.stream.IntStream.range(0, dim).toArray();
        }
        return java.util.stream.IntStream.range(0, dim).boxed()
                .sorted((a, b) -> {
                    int c = Float.compare(form[at + b], form[at + a]);
                    return c != 0 ? c : Integer.compare(a, b);
                })
                .limit(k).mapToInt(Integer::intValue).toArray();
    }
}
