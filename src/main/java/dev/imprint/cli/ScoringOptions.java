package dev.imprint.cli;

import dev.imprint.client.ScoreOptions;
import dev.imprint.core.Metric;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** The metrics to compute and how to rank them, shared by {@code score} and {@code rescore}. */
final class ScoringOptions {
    @Option(names = "--metrics", split = ",", paramLabel = "METRIC",
            description = "Metrics to compute, comma-separated: COSINE, KL_REF_SUSPECT, KL_SUSPECT_REF, JS, "
                    + "TOP1_AGREEMENT (default: all the probe set's kind supports but JS).")
    List<Metric> metrics = List.of();

    @Option(names = "--order-by", paramLabel = "METRIC",
            description = "Metric that ranks the references (default: KL_REF_SUSPECT, ascending, for "
                    + "DISTRIBUTION sets; COSINE, descending, for EMBEDDING sets).")
    Metric orderBy;

    /** The request options with every reference considered; {@code topK} 0 for all. */
    ScoreOptions toScoreOptions(int topK) {
        EnumSet<Metric> set = metrics == null || metrics.isEmpty() ? EnumSet.noneOf(Metric.class)
                : EnumSet.copyOf(metrics);
        return new ScoreOptions(set, orderBy, topK, List.of(), Map.of(), false);
    }
}
