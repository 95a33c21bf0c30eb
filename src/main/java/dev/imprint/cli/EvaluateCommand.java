package dev.imprint.cli;

import dev.imprint.core.ScoreQuery;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.evaluate.EvaluationReport;
import dev.imprint.evaluate.Evaluator;
import dev.imprint.evaluate.LabelledSuspect;
import dev.imprint.evaluate.RealnetScenarios;
import dev.imprint.evaluate.Scenario;
import dev.imprint.evaluate.Scored;
import dev.imprint.evaluate.SynthScenarios;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code imprint evaluate}: the whole attribution protocol in-process on labelled scenarios, each
 * in a temporary data directory, printing per condition the detection quality of the verdicts next
 * to the raw metric's from the same run, and the calibration check. Exits
 * {@link ImprintCli#EXIT_FAILURE} if any scenario misses calibration (DISTILLED_FROM given to more
 * than alpha + 1 point of the suspects distilled from no reference).
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = {"Measure attribution on labelled scenarios: synthetic log-mixture and sequence-KD students "
                + "with stressors over several seeds, and real distilled neural networks from the committed "
                + "fixture. Prints ROC AUC, TPR at 1%% and 0.1%% FPR, top-1, the verdict confusion matrix and "
                + "DISTILLED_FROM's false-positive rate against alpha, next to the raw metric's.",
            "Exits 1 if any scenario misses calibration."})
final class EvaluateCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private BackendOptions backendOptions;

    @Option(names = "--scenario", paramLabel = "synth|realnet|all", defaultValue = "all",
            description = "Which scenarios to run (default: ${DEFAULT-VALUE}).")
    String scenario;

    @Option(names = "--seeds", paramLabel = "N", defaultValue = "3",
            description = "Synthetic seeds, 1..N (default: ${DEFAULT-VALUE}).")
    int seeds;

    @Option(names = "--per-condition", paramLabel = "N", defaultValue = "10",
            description = "Synthetic suspects per condition and seed (default: ${DEFAULT-VALUE}).")
    int perCondition;

    @Option(names = "--probes", paramLabel = "N", defaultValue = "128",
            description = "Probes of the synthetic scenarios (default: ${DEFAULT-VALUE}); more probes let "
                    + "the probe-level tests see smaller leans.")
    int probes;

    @Option(names = "--fixture", paramLabel = "DIR",
            description = "The real-network fixture (default: " + "src/test/resources/dev/imprint/realnet).")
    Path fixture = RealnetScenarios.DEFAULT_FIXTURE;

    @Option(names = "--alpha", paramLabel = "ALPHA", defaultValue = "0.01",
            description = "Significance level of the verdicts, in (0, 0.5] (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Override
    public Integer call() throws IOException {
        if (!List.of("synth", "realnet", "all").contains(scenario)) {
            throw new ParameterException(spec.commandLine(), "--scenario=" + scenario
                    + "; expected synth, realnet or all");
        }
        if (seeds < 1 || perCondition < 1) {
            throw new ParameterException(spec.commandLine(), "--seeds=" + seeds + " --per-condition=" + perCondition
                    + "; expected at least 1 each");
        }
        if (probes < 16 || probes > 4096) {
            throw new ParameterException(spec.commandLine(), "--probes=" + probes + "; expected 16 to 4096");
        }
        if (!(alpha > 0 && alpha <= ScoreQuery.MAX_ALPHA)) {
            throw new ParameterException(spec.commandLine(),
                    "--alpha=" + alpha + "; expected a significance level in (0, " + ScoreQuery.MAX_ALPHA + "]");
        }
        PrintWriter out = spec.commandLine().getOut();
        boolean calibrated = true;
        if (!scenario.equals("realnet")) {
            List<Scored> all = new ArrayList<>();
            for (int seed = 1; seed <= seeds; seed++) {
                all.addAll(run(SynthScenarios.generate(seed, perCondition, probes)));
            }
            EvaluationReport report = new EvaluationReport(all, alpha, Map.of());
            out.print(report.render(String.format("== synthetic: %d seeds x %d suspects per condition, %d probes",
                    seeds, perCondition, probes)));
            out.println();
            out.flush();
            calibrated = report.calibrated();
        }
        if (!scenario.equals("synth")) {
            Map<String, Predicate<LabelledSuspect>> groups = new LinkedHashMap<>();
            groups.put("medium+strong", s -> s.condition().endsWith(" medium") || s.condition().endsWith(" strong"));
            try (BufferAllocator allocator = new RootAllocator()) {
                for (Scenario s : RealnetScenarios.load(allocator, fixture)) {
                    EvaluationReport report = new EvaluationReport(run(s), alpha, groups);
                    out.print(report.render("== real networks: " + s.name() + " (" + s.probeSet().numProbes()
                            + " probes x " + s.probeSet().dim() + ", " + s.references().size() + " references, "
                            + s.suspects().size() + " suspects)"));
                    out.println();
                    out.flush();
                    calibrated &= report.calibrated();
                }
            }
        }
        return calibrated ? ImprintCli.EXIT_OK : ImprintCli.EXIT_FAILURE;
    }

    private List<Scored> run(Scenario s) throws IOException {
        // In memory only: a scenario is scored once, and an interrupted run leaves nothing behind.
        try (ImprintEngine engine = backendOptions.openMemoryOnlyEngine();
             ProgressBar progress = new ProgressBar(spec.commandLine().getErr(), s.name() + " suspects",
                     s.suspects().size(), ProgressBar.interactive(), System::nanoTime)) {
            int[] done = {0};
            return Evaluator.run(engine, s, alpha, n -> {
                progress.advance(n - done[0]);
                done[0] = n;
            });
        }
    }
}
