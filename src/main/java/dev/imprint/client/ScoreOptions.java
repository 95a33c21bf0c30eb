package dev.imprint.client;

import dev.imprint.core.Metric;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How a client wants a suspect scored, before the server resolves defaults against the probe set.
 *
 * @param metrics         the metrics to compute; empty for every metric the kind supports but JS
 * @param orderBy         the ranking metric; null for KL_REF_SUSPECT (DISTRIBUTION) or COSINE (EMBEDDING)
 * @param topK            how many matches to return; 0 for all
 * @param modelIds        restrict to these references (each must exist); empty for all
 * @param labelSelector   restrict to references carrying all these labels; empty for all
 * @param includePerProbe also return every metric per probe
 * @param alpha           ask for a verdict at this significance level (the server checks it is in
 *                        (0, 0.5]); NaN for no verdict
 */
public record ScoreOptions(Set<Metric> metrics, Metric orderBy, int topK, List<String> modelIds,
                           Map<String, String> labelSelector, boolean includePerProbe, double alpha) {

    public ScoreOptions {
        metrics = metrics.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(metrics));
        modelIds = List.copyOf(modelIds);
        labelSelector = Map.copyOf(labelSelector);
    }

    /** Options without a verdict. */
    public ScoreOptions(Set<Metric> metrics, Metric orderBy, int topK, List<String> modelIds,
                        Map<String, String> labelSelector, boolean includePerProbe) {
        this(metrics, orderBy, topK, modelIds, labelSelector, includePerProbe, Double.NaN);
    }

    /** Default metrics and ordering, every reference, no per-probe values, no verdict. */
    public static ScoreOptions defaults() {
        return new ScoreOptions(Set.of(), null, 0, List.of(), Map.of(), false);
    }

    /** Whether these options ask for a verdict. */
    public boolean attribution() {
        return !Double.isNaN(alpha);
    }

    public ScoreOptions withMetrics(Set<Metric> m) {
        return new ScoreOptions(m, orderBy, topK, modelIds, labelSelector, includePerProbe, alpha);
    }

    public ScoreOptions withOrderBy(Metric m) {
        return new ScoreOptions(metrics, m, topK, modelIds, labelSelector, includePerProbe, alpha);
    }

    public ScoreOptions withTopK(int k) {
        return new ScoreOptions(metrics, orderBy, k, modelIds, labelSelector, includePerProbe, alpha);
    }

    public ScoreOptions withModelIds(List<String> ids) {
        return new ScoreOptions(metrics, orderBy, topK, ids, labelSelector, includePerProbe, alpha);
    }

    public ScoreOptions withLabelSelector(Map<String, String> selector) {
        return new ScoreOptions(metrics, orderBy, topK, modelIds, selector, includePerProbe, alpha);
    }

    public ScoreOptions withPerProbe(boolean perProbe) {
        return new ScoreOptions(metrics, orderBy, topK, modelIds, labelSelector, perProbe, alpha);
    }

    /** These options asking for a verdict at significance level {@code a}, in (0, 0.5]. */
    public ScoreOptions withAttribution(double a) {
        return new ScoreOptions(metrics, orderBy, topK, modelIds, labelSelector, includePerProbe, a);
    }
}
