package dev.imprint.core;

import java.util.Map;

/**
 * How close a suspect is to one reference.
 *
 * @param rank     1-based position under the query's ordering
 * @param values   the value of every computed metric
 * @param perProbe each metric per probe, in the suspect's probe order; empty unless asked for
 * @param pValue   with attribution, the adjusted p-value that this protected reference is the teacher;
 *                 NaN otherwise (no attribution, or a background reference)
 */
public record Match(String modelId, Map<String, String> labels, int rank, Map<Metric, Double> values,
                    Map<Metric, double[]> perProbe, double pValue) {
    /** A match without a p-value. */
    public Match(String modelId, Map<String, String> labels, int rank, Map<Metric, Double> values,
                 Map<Metric, double[]> perProbe) {
        this(modelId, labels, rank, values, perProbe, Double.NaN);
    }
}
