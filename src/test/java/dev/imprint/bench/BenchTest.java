package dev.imprint.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.Attribution;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.core.Verdict;
import dev.imprint.engine.BackendProvider;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.ScoreBatching;
import dev.imprint.engine.cuda.CudaOptions;
import dev.imprint.store.MemoryOnlyStore;
import dev.imprint.synth.SynthParams;
import dev.imprint.synth.SynthScenario;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class BenchTest {
    private static final Pattern PROFILE = Pattern.compile(
            "profile workload=W3 backend=cpu stage=(\\w+) calls=5 host_ms=([0-9.]+) device_ms=-");

    @Test
    void profilingSplitsEachCallIntoTheEngineAndTheBackend() {
        Bench.Result result = Bench.run(Workload.W3, 0.002, 1, 5,
                BackendProvider.select(BackendProvider.Choice.CPU, CudaOptions.defaults()), true, 0);
        Map<String, Double> ms = new LinkedHashMap<>();
        for (String line : result.profile()) {
            Matcher m = PROFILE.matcher(line);
            assertTrue(m.matches(), line);
            ms.put(m.group(1), Double.parseDouble(m.group(2)));
        }
        assertEquals(List.of("engine_score_all_total", "backend_score_total", "engine_outside_backend"),
                List.copyOf(ms.keySet()));
        assertTrue(ms.get("backend_score_total") > 0 && ms.get("backend_score_total") <= ms.get("engine_score_all_total"),
                ms::toString);
        assertTrue(result.line().endsWith(String.format(java.util.Locale.ROOT, "median_s=%.6f", result.medianS())));
    }

    @Test
    void aPacedRunTimesOneCallPerLineItReadsAndSaysSoAfterEach() {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Pacing pacing = Pacing.lines(new BufferedReader(new StringReader("go\ngo\ngo\n")),
                new PrintStream(printed, true, StandardCharsets.UTF_8));
        Bench.Result result = Bench.run(Workload.W3, 0.002, 0, pacing,
                BackendProvider.select(BackendProvider.Choice.CPU, CudaOptions.defaults()), false, 0);
        List<String> lines = printed.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(4, lines.size(), lines::toString);
        assertEquals("ready", lines.get(0));
        List<Double> calls = new ArrayList<>();
        for (String line : lines.subList(1, 4)) {
            assertTrue(line.matches("call_s=[0-9]+\\.[0-9]{6}"), line);
            calls.add(Double.parseDouble(line.substring("call_s=".length())));
        }
        // The result summarises exactly the calls reported, each as printed (to its six decimals).
        assertEquals(3, result.reps());
        calls.sort(null);
        assertEquals(calls.get(0), result.minS(), 5e-7);
        assertEquals(calls.get(1), result.medianS(), 5e-7);
        assertEquals(calls.get(2), result.maxS(), 5e-7);
    }

    @Test
    void aPaceThatEndsBeforeTheFirstCallIsAnErrorNotAnEmptyTiming() {
        Pacing none = Pacing.lines(new BufferedReader(new StringReader("")),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Bench.run(Workload.W3, 0.002, 0,
                none, BackendProvider.select(BackendProvider.Choice.CPU, CudaOptions.defaults()), false, 0));
        assertTrue(e.getMessage().contains("the pace ended before the first timed call of W3"), e.getMessage());
    }

    @Test
    void withoutProfilingThereAreNoProfileLines() {
        Bench.Result result = Bench.run(Workload.W3, 0.002, 0, 5,
                BackendProvider.select(BackendProvider.Choice.CPU, CudaOptions.defaults()));
        assertTrue(result.profile().isEmpty());
    }

    @Test
    void theTopKWorkloadTimesCompactRowsAndThenTheSameDistributionsDense() {
        Bench.TopKResult result = Bench.runTopK(Workload.W5, 0.002, 0, 5,
                BackendProvider.select(BackendProvider.Choice.CPU, CudaOptions.defaults()), false, 0);
        List<String> lines = result.lines();
        assertEquals(2, lines.size(), lines::toString);
        assertTrue(lines.get(0).matches("workload=W5 form=compact backend=cpu kind=DISTRIBUTION M=1 P=256 D=64 S=1 "
                + ".* median_s=[0-9.]+"), lines.get(0));
        assertTrue(lines.get(1).matches("workload=W5 form=dense backend=cpu kind=DISTRIBUTION M=1 P=256 D=32000 S=1 "
                + ".* dense_over_compact=[0-9.]+ median_s=[0-9.]+"), lines.get(1));
        assertEquals(result.dense().medianS() / result.compact().medianS(), result.dense().denseOverCompact(), 1e-12);
    }

    @Test
    void theAttributionWorkloadScoresTheSynthScenarioWithAVerdictForEachSuspect() {
        Bench.Result result = Bench.run(Workload.A1, 1, 0, 5,
                BackendProvider.select(BackendProvider.Choice.CPU, CudaOptions.defaults()));
        assertTrue(result.line().matches("workload=A1 backend=cpu kind=EMBEDDING M=32 P=128 D=512 S=6 metrics=COSINE "
                + "top_k=0 reps=5 .* median_s=[0-9.]+"), result.line());

        // What it times: imprint synth's scenario, whose students the verdicts name and whose others they do not.
        ProbeSet set = Bench.probeSet(Workload.A1);
        try (ImprintEngine engine = ImprintEngine.open(new MemoryOnlyStore(),
                BackendProvider.select(BackendProvider.Choice.CPU, CudaOptions.defaults()))) {
            List<Suspect> suspects = Bench.populateScenario(engine, set);
            List<ScoreResult> scored = engine.scoreAll(set, suspects,
                    Bench.query(set, 0).withAttribution(Workload.ATTRIBUTION_ALPHA));
            List<SynthScenario.SyntheticModel> truth = SynthScenario.generate(set, Workload.ATTRIBUTION_SEED,
                    Workload.ATTRIBUTION_SPEC, SynthParams.defaults()).suspects();
            assertEquals(6, scored.size());
            for (int s = 0; s < scored.size(); s++) {
                Attribution a = scored.get(s).attribution();
                assertEquals(32, scored.get(s).matches().size());
                if (truth.get(s).teacher().isPresent()) {
                    assertEquals(Verdict.DISTILLED_FROM, a.verdict(), truth.get(s).modelId() + ": " + a.reason());
                    assertEquals(truth.get(s).teacher().get(), a.modelId());
                } else {
                    assertTrue(a.verdict() != Verdict.DISTILLED_FROM, truth.get(s).modelId() + ": " + a.reason());
                }
            }
        }
    }

    @Test
    void concurrentCallersAreTimedBatchedAndThenUnbatched() {
        ConcurrentBench.Result result = ConcurrentBench.run(Workload.W3, 0.005, 4, 1, 5,
                BackendProvider.select(BackendProvider.Choice.CPU, CudaOptions.defaults()), ScoreBatching.defaults(), 3);
        assertEquals(20, result.batched().calls());
        assertEquals(20, result.unbatched().calls());
        assertTrue(result.batched().batches() >= 1 && result.batched().batches() <= 20, result.lines()::toString);
        assertEquals(20, result.unbatched().batches(), "with batching off every call is its own batch");
        List<String> lines = result.lines();
        assertTrue(lines.get(0).matches("workload=W3 backend=cpu .* concurrency=4 batching=max64/0us calls=20 .*"
                + "suspects_per_s=[0-9.]+ speedup=[0-9.]+"), lines.get(0));
        assertTrue(lines.get(1).matches("workload=W3 .* batching=off calls=20 batches=20 mean_batch=1.0 .*"), lines.get(1));
    }
}
