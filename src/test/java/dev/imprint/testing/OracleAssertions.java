package dev.imprint.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.engine.BatchScores;
import dev.imprint.engine.SuspectBatch;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Checks a backend's {@link BatchScores} against {@link Float64Metrics} within the contract's tolerances. */
public final class OracleAssertions {
    private OracleAssertions() {}

    /**
     * Asserts that {@code scores} holds, for every suspect of {@code batch} and every reference of
     * {@code modelIds} (in that order), the oracle's value of every metric of {@code metrics}, and
     * the per-probe values too when {@code perProbe}.
     *
     * @param rows the fingerprint of every reference by model id
     */
    public static void assertMatchesOracle(ProbeSet set, Map<String, float[]> rows, List<String> modelIds,
                                           SuspectBatch batch, Set<Metric> metrics, boolean perProbe,
                                           BatchScores scores) {
        assertEquals(batch.size(), scores.suspects(), "suspects");
        assertEquals(modelIds.size(), scores.references(), "references");
        for (Metric metric : metrics) {
            assertTrue(scores.has(metric), "scores lack " + metric);
            for (int s = 0; s < batch.size(); s++) {
                float[] suspect = batch.suspects().get(s);
                for (int r = 0; r < modelIds.size(); r++) {
                    float[] ref = rows.get(modelIds.get(r));
                    double expected = Float64Metrics.mean(set, metric, ref, suspect, batch.probeIndices());
                    assertClose(metric, expected, scores.value(metric, s, r),
                            "suspect " + s + " vs " + modelIds.get(r));
                    if (perProbe) {
                        double[] values = scores.perProbe(metric, s, r);
                        for (int i = 0; i < batch.probeCount(); i++) {
                            double e = Float64Metrics.perProbe(set, metric, ref, batch.probeIndices()[i], suspect, i);
                            assertClose(metric, e, values[i], "suspect " + s + " vs " + modelIds.get(r)
                                    + " probe " + batch.probeIndices()[i]);
                        }
                    }
                }
            }
        }
    }

    /** Asserts {@code actual} is within {@link Float64Metrics#tolerance} of {@code expected}. */
    public static void assertClose(Metric metric, double expected, double actual, String what) {
        double tolerance = Float64Metrics.tolerance(metric, expected);
        if (!(Math.abs(actual - expected) <= tolerance)) {
            fail(String.format("%s %s: expected %.9g, got %.9g (error %.3g > tolerance %.3g)", what, metric,
                    expected, actual, Math.abs(actual - expected), tolerance));
        }
    }
}
