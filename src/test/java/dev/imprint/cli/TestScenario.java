package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.engine.BackendProvider;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.io.ResultTable;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.synth.SynthParams;
import dev.imprint.synth.SynthScenario;
import dev.imprint.synth.SynthScenario.SyntheticModel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The small scenario the CLI tests write with {@code synth}, and the independent ways to check
 * what the commands did with it: the same scenario rebuilt in memory, and an engine's own scores.
 */
final class TestScenario {
    static final long SEED = 17;
    static final String PROBE_SET = "ps1";
    /** The synth flags of the scenario: 3 families of 2 references, 2 students, P=24, D=96. */
    static final String[] SHAPE = {"--probes", "24", "--dim", "96", "--families", "3",
        "--models-per-family", "2", "--students", "2", "--seed", Long.toString(SEED), "--probe-set", PROBE_SET};

    private TestScenario() {}

    /** {@code prefix} followed by {@link #SHAPE}. */
    static String[] withShape(String... prefix) {
        String[] out = Arrays.copyOf(prefix, prefix.length + SHAPE.length);
        System.arraycopy(SHAPE, 0, out, prefix.length, SHAPE.length);
        return out;
    }

    /** The scenario {@code synth} wrote with {@link #SHAPE}, rebuilt from its parameters, not from its files. */
    static SynthScenario regenerate(ProbeSetKind kind) {
        ProbeSet set = ProbeSet.fromRequest(PROBE_SET, 24, 96, kind, 0, "synthetic " + kind + " probe set, seed " + SEED);
        return SynthScenario.generate(set, SEED, new SynthScenario.Spec(3, 2, 2, 0.7), SynthParams.defaults());
    }

    /** Each suspect's full ranking straight from an engine over {@code data}. */
    static Map<String, ScoreResult> engineScores(Path data, SynthScenario scenario, Set<Metric> metrics) {
        Map<String, ScoreResult> out = new HashMap<>();
        try (ImprintEngine engine = ImprintEngine.open(ArrowFingerprintStore.open(data), BackendProvider.select())) {
            ProbeSet set = engine.getProbeSet(PROBE_SET);
            ScoreQuery query = ScoreQuery.resolve(set, metrics, null, 0, List.of(), Map.of(), false);
            for (SyntheticModel suspect : scenario.suspects()) {
                Suspect s = Suspect.of(set, set.numProbes(), set.dim(), suspect.rows(), new int[0]);
                out.put(suspect.modelId(), engine.score(set, s, query));
            }
        }
        return out;
    }

    /**
     * Checks a result table against the engine's own rankings: one row per (suspect, reference),
     * each with the engine's rank and, within the metric contract's float32 tolerance (scores of a
     * batch may differ from one-at-a-time scores in the last float bits), its metric values.
     */
    static void assertRowsMatchEngine(List<ResultTable.Row> rows, Map<String, ScoreResult> engine,
                                      SynthScenario scenario) {
        assertEquals(scenario.suspects().size() * scenario.references().size(), rows.size());
        assertEquals(rows.size(), rows.stream().map(r -> r.suspectId() + "/" + r.modelId()).distinct().count(),
                "each (suspect, reference) pair once");
        for (ResultTable.Row row : rows) {
            Match match = find(engine.get(row.suspectId()), row.modelId());
            assertEquals(match.rank(), row.rank(), row.toString());
            assertEquals(match.values().keySet(), row.values().keySet(), row.toString());
            for (Map.Entry<Metric, Double> e : match.values().entrySet()) {
                double expected = e.getValue();
                assertEquals(expected, row.values().get(e.getKey()), 1e-5 + 1e-4 * Math.abs(expected), row.toString());
            }
            assertEquals(scenario.probeSet().numProbes(), row.probesUsed(), row.toString());
        }
    }

    /** The match of {@code modelId} in {@code result}. */
    static Match find(ScoreResult result, String modelId) {
        assertNotNull(result);
        return result.matches().stream().filter(m -> m.modelId().equals(modelId)).findFirst().orElseThrow();
    }
}
