package dev.imprint.cli;

import dev.imprint.client.ScoreOptions;
import dev.imprint.core.Metric;
import dev.imprint.core.ScoreQuery;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The metrics to compute, how to rank them and the verdict's level, shared by {@code score} and
 * {@code rescore}.
 */
final class ScoringOptions {
    @Spec(Spec.Target.MIXEE)
    private CommandSpec mixee;

    @Option(names = "--metrics", split = ",", paramLabel = "METRIC",
            description = "Metrics to compute, comma-separated: COSINE, KL_REF_SUSPECT, KL_SUSPECT_REF, JS, "
                    + "TOP1_AGREEMENT (default: all the probe set's kind supports but JS).")
    List<Metric> metrics = List.of();

    @Option(names = "--order-by", paramLabel = "METRIC",
            description = "Metric that ranks the references (default: KL_REF_SUSPECT, ascending, for "
                    + "DISTRIBUTION sets; COSINE, descending, for EMBEDDING sets).")
    Metric orderBy;

    @Option(names = "--alpha", paramLabel = "ALPHA", defaultValue = "0.01",
            description = "Significance level of each verdict, in (0, 0.5] (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--no-verdict", description = "Only rank the references; give no verdict or p-values.")
    boolean noVerdict;

    /**
     * The request options with every reference considered; {@code topK} 0 for all.
     *
     * @throws ParameterException for an alpha outside (0, 0.5], before anything is scored or written
     */
    ScoreOptions toScoreOptions(int topK) {
        EnumSet<Metric> set = metrics == null || metrics.isEmpty() ? EnumSet.noneOf(Metric.class)
                : EnumSet.copyOf(metrics);
        ScoreOptions options = new ScoreOptions(set, orderBy, topK, List.of(), Map.of(), false);
        if (noVerdict) {
            return options;
        }
        if (!(alpha > 0 && alpha <= ScoreQuery.MAX_ALPHA)) {
            throw new ParameterException(mixee.commandLine(), "--alpha=" + alpha
                    + "; expected a significance level in (0, " + ScoreQuery.MAX_ALPHA + "]");
        }
        return options.withAttribution(alpha);
    }
}
