package dev.imprint.client;

import dev.imprint.core.Metric;
import dev.imprint.core.ScoreQuery;
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
 * @param attribution     also ask for each suspect's verdict
 * @param alpha           the verdict's significance level, in (0, 0.5]; checked where the query is
 *                        resolved (engine or server)
 */
public record ScoreOptions(Set<Metric> metrics, Metric orderBy, int topK, List<String> modelIds,
                           Map<String, String> labelSelector, boolean includePerProbe, boolean attribution,
                           double alpha) {

    public ScoreOptions {
        metrics = metrics.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(metrics));
        modelIds = List.copyOf(modelIds);
        labelSelector = Map.copyOf(labelSelector);
    }

    /** Options without attribution. */
    public ScoreOptions(Set<Metric> metrics, Metric orderBy, int topK, List<String> modelIds,
                        Map<String, String> labelSelector, boolean includePerProbe) {
        this(metrics, orderBy, topK, modelIds, labelSelector, includePerProbe, false, ScoreQuery.DEFAULT_ALPHA);
    }

    /** Default metrics and ordering, every reference, no per-probe values. */
    public static ScoreOptions defaults() {
        return new ScoreOptions(Set.of(), null, 0, List.of(), Map.of(), false);
    }

    public ScoreOptions withMetrics(Set<Metric> m) {
        return new ScoreOptions(m, orderBy, topK, modelIds, labelSelector, includePerProbe, attribution, alpha);
    }

    public ScoreOptions withOrderBy(Metric m) {
        return new ScoreOptions(metrics, m, topK, modelIds, labelSelector, includePerProbe, attribution, alpha);
    }

    public ScoreOptions withTopK(int k) {
        return new ScoreOptions(metrics, orderBy, k, modelIds, labelSelector, includePerProbe, attribution, alpha);
    }

    public ScoreOptions withModelIds(List<String> ids) {
        return new ScoreOptions(metrics, orderBy, topK, ids, labelSelector, includePerProbe, attribution, alpha);
    }

    public ScoreOptions withLabelSelector(Map<String, String> selector) {
        return new ScoreOptions(metrics, orderBy, topK, modelIds, selector, includePerProbe, attribution, alpha);
    }

    public ScoreOptions withPerProbe(boolean perProbe) {
        return new ScoreOptions(metrics, orderBy, topK, modelIds, labelSelector, perProbe, attribution, alpha);
    }

    /** These options also asking for a verdict at level {@code alpha}. */
    public ScoreOptions withAttribution(double a) {
        return new ScoreOptions(metrics, orderBy, topK, modelIds, labelSelector, includePerProbe, true, a);
    }
}
