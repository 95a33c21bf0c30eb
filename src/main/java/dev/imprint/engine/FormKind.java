package dev.imprint.engine;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import java.util.List;

/**
 * How a fingerprint row becomes the vector attribution compares (its form), per probe.
 *
 * <p>A DISTRIBUTION suspect is compared in one of two forms, because they see different evidence
 * ({@link #forSuspect} picks):
 * <ul>
 *   <li>{@link #LOG_RATIO}: the centred log of the row, floored at {@link #LOG_FLOOR},
 *       {@code ln x' − mean(ln x')} (its centred log-ratio). Every token counts alike, so a
 *       model's distribution and any power of it differ only in scale, and a log-mixture student
 *       is a linear mix of forms. Strong on full rows; on a top-k row the flat fill of the tokens
 *       the answer left out drowns the head.
 *   <li>{@link #HELLINGER}: the square root of the row. A change δ in ln x moves it by
 *       {@code √x·δ/2}, so this is the log form weighted by the square root of each token's
 *       probability: the probability-weighted form, where the flat fill of a top-k row weighs
 *       next to nothing. Forward-KL distillation transfers the same way, weighting each token by
 *       its mass.
 * </ul>
 * An EMBEDDING set has one form, {@link #UNIT}: the unit row.
 */
public enum FormKind {
    LOG_RATIO("ridge_coefficient", true),
    HELLINGER("ridge_coefficient_weighted", false),
    UNIT("ridge_coefficient", true);

    private final String statistic;
    private final boolean blindToTemperature;

    FormKind(String statistic, boolean blindToTemperature) {
        this.statistic = statistic;
        this.blindToTemperature = blindToTemperature;
    }

    /**
     * Whether a suspect's coefficients in this form do not depend on its sampling temperature:
     * true for the log form, where a temperature only scales the residual and the coefficients are
     * per unit of it ({@link dev.imprint.attribution.PanelRegression}); the square root is not, so
     * suspects are brought back to the references' temperature first ({@link SuspectConditions}).
     */
    boolean blindToTemperature() {
        return blindToTemperature;
    }

    /** The name under which verdicts report the per-probe statistic tested on this form. */
    public String statistic() {
        return statistic;
    }

    /**
     * The form a suspect is attributed in: the log form for a full DISTRIBUTION row, the
     * probability-weighted one for a top-k truncated row, whose log form would be mostly the
     * flat fill of the tokens the answer left out. One form per suspect, chosen from its rows
     * alone, so no p-value pays for looking twice.
     */
    static FormKind forSuspect(ProbeSetKind kind, int[] kept) {
        if (kind != ProbeSetKind.DISTRIBUTION) {
            return UNIT;
        }
        return kept != null ? HELLINGER : LOG_RATIO;
    }

    /** The forms a set of this kind is attributed in. */
    public static List<FormKind> of(ProbeSetKind kind) {
        return kind == ProbeSetKind.DISTRIBUTION ? List.of(LOG_RATIO, HELLINGER) : List.of(UNIT);
    }

    /**
     * The floor of the log form: a probability is smoothed as (x + FLOOR) / (1 + D·FLOOR) before its
     * log is taken, only so that an exact zero has a finite log. It is not the set's KL smoothing:
     * any floor above the tails models really have clips them flat, and how much is clipped then
     * depends on the model's temperature, which on the synthetic scenario called flattened
     * siblings distilled 4% of the time at a floor of 1e-6 and never at this one.
     */
    static final double LOG_FLOOR = 1e-12;

    /** The form of a P×D or N×D row block of {@code set}, float, row-major. */
    float[] formOf(ProbeSet set, float[] values, int rowCount) {
        int dim = set.dim();
        float[] form = new float[rowCount * dim];
        double eps = LOG_FLOOR;
        double scale = 1 + dim * eps;
        for (int p = 0; p < rowCount; p++) {
            int base = p * dim;
            switch (this) {
                case LOG_RATIO -> {
                    double[] logs = new double[dim];
                    double mean = 0;
                    for (int k = 0; k < dim; k++) {
                        logs[k] = Math.log((values[base + k] + eps) / scale);
                        mean += logs[k];
                    }
                    mean /= dim;
                    for (int k = 0; k < dim; k++) {
                        form[base + k] = (float) (logs[k] - mean);
                    }
                }
                case HELLINGER -> {
                    for (int k = 0; k < dim; k++) {
                        form[base + k] = (float) Math.sqrt(Math.max(0, values[base + k]));
                    }
                }
                case UNIT -> {
                    double sumSq = 0;
                    for (int k = 0; k < dim; k++) {
                        sumSq += (double) values[base + k] * values[base + k];
                    }
                    double inv = 1 / Math.sqrt(sumSq);
                    for (int k = 0; k < dim; k++) {
                        form[base + k] = (float) (values[base + k] * inv);
                    }
                }
            }
        }
        return form;
    }

    /**
     * The probabilities a DISTRIBUTION form row {@code form[from .. from+D)} came from, written to
     * {@code out[to .. to+D)}: the square of the root, or the softmax of the centred log with its
     * floor taken off.
     *
     * @throws IllegalStateException for {@link #UNIT}, which holds no probabilities
     */
    void probabilitiesOf(ProbeSet set, float[] form, int from, float[] out, int to) {
        int dim = set.dim();
        double[] smoothed = new double[dim];
        switch (this) {
            case LOG_RATIO -> {
                double max = Double.NEGATIVE_INFINITY;
                for (int d = 0; d < dim; d++) {
                    max = Math.max(max, form[from + d]);
                }
                double sum = 0;
                for (int d = 0; d < dim; d++) {
                    smoothed[d] = Math.exp(form[from + d] - max);
                    sum += smoothed[d];
                }
                for (int d = 0; d < dim; d++) {
                    smoothed[d] /= sum;
                }
            }
            case HELLINGER -> {
                for (int d = 0; d < dim; d++) {
                    out[to + d] = form[from + d] * form[from + d];
                }
                return;
            }
            case UNIT -> throw new IllegalStateException("an embedding form holds no probabilities");
        }
        for (int d = 0; d < dim; d++) {
            out[to + d] = (float) Math.max(0, smoothed[d] * (1 + dim * LOG_FLOOR) - LOG_FLOOR);
        }
    }
}
