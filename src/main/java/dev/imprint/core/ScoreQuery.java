package dev.imprint.core;

import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What to compute for a suspect and how to rank it.
 *
 * @param metrics         the metrics to compute, never empty once resolved
 * @param orderBy         the metric that ranks matches, one of {@code metrics}
 * @param topK            how many matches to return; 0 for all
 * @param modelIds        restrict to these references; empty for all
 * @param labelSelector   restrict to references carrying all these labels; empty for all
 * @param includePerProbe also return every metric per probe
 * @param attribution     also give each suspect a verdict (see {@link Attribution})
 * @param alpha           the verdict's significance level, in (0, 0.5]; ignored without attribution
 */
public record ScoreQuery(Set<Metric> metrics, Metric orderBy, int topK, List<String> modelIds,
                         Map<String, String> labelSelector, boolean includePerProbe, boolean attribution,
                         double alpha) {
    /** The significance level of a verdict when a request names none. */
    public static final double DEFAULT_ALPHA = 0.01;
    /** The largest significance level a verdict may use. */
    public static final double MAX_ALPHA = 0.5;

    public ScoreQuery {
        metrics = Collections.unmodifiableSet(EnumSet.copyOf(metrics));
        modelIds = List.copyOf(modelIds);
        labelSelector = Labels.copyOf("label_selector", labelSelector);
    }

    /** A query without attribution. */
    public ScoreQuery(Set<Metric> metrics, Metric orderBy, int topK, List<String> modelIds,
                      Map<String, String> labelSelector, boolean includePerProbe) {
        this(metrics, orderBy, topK, modelIds, labelSelector, includePerProbe, false, DEFAULT_ALPHA);
    }

    /**
     * This query also asking for a verdict at level {@code alpha}.
     *
     * @throws ImprintException INVALID_ARGUMENT unless 0 < alpha <= {@value #MAX_ALPHA}
     */
    public ScoreQuery withAttribution(double alpha) {
        if (!(alpha > 0 && alpha <= MAX_ALPHA)) {
            throw ImprintException.invalidArgument("alpha=%s; expected a significance level in (0, %s]", alpha,
                    MAX_ALPHA);
        }
        return new ScoreQuery(metrics, orderBy, topK, modelIds, labelSelector, includePerProbe, true, alpha);
    }

    /**
     * Resolves a request against its probe set's kind: fills in default metrics and ordering and
     * rejects metrics the kind does not support.
     *
     * @param metrics  requested metrics; empty for {@link Metric#defaultsFor}
     * @param orderBy  requested ranking metric; null for {@link Metric#defaultOrderFor}
     */
    public static ScoreQuery resolve(ProbeSet set, Set<Metric> metrics, Metric orderBy, int topK,
                                     List<String> modelIds, Map<String, String> labelSelector,
                                     boolean includePerProbe) {
        for (Metric m : metrics) {
            if (!m.supports(set.kind())) {
                throw ImprintException.invalidArgument("metrics contains %s, which %s probe sets do not support",
                        m, set.kind());
            }
        }
        EnumSet<Metric> resolved = metrics.isEmpty() ? EnumSet.copyOf(Metric.defaultsFor(set.kind()))
                : EnumSet.copyOf(metrics);
        Metric order = orderBy;
        if (order == null) {
            order = Metric.defaultOrderFor(set.kind());
            if (!resolved.contains(order)) {
                order = resolved.iterator().next();
            }
        } else if (!order.supports(set.kind())) {
            throw ImprintException.invalidArgument("order_by=%s, which %s probe sets do not support", order, set.kind());
        } else if (!resolved.contains(order)) {
            throw ImprintException.invalidArgument("order_by=%s is not among the requested metrics %s", order, resolved);
        }
        if (topK < 0) {
            throw ImprintException.invalidArgument("top_k=%d; expected 0 (all) or more", topK);
        }
        for (int i = 0; i < modelIds.size(); i++) {
            Ids.requireValid("model_ids[" + i + "]", modelIds.get(i));
        }
        return new ScoreQuery(resolved, order, topK, modelIds, labelSelector, includePerProbe);
    }

    /** This query keeping {@code k} matches (0: all) instead. */
    public ScoreQuery withTopK(int k) {
        return new ScoreQuery(metrics, orderBy, k, modelIds, labelSelector, includePerProbe, attribution, alpha);
    }

    /** The default query for a probe set: default metrics and order, every reference, no per-probe values. */
    public static ScoreQuery defaults(ProbeSet set) {
        return resolve(set, EnumSet.noneOf(Metric.class), null, 0, List.of(), Map.of(), false);
    }
}
