package dev.imprint.cli;

import dev.imprint.client.ImprintClient;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.Attribution;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Verdict;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.io.DurableFiles;
import dev.imprint.server.ImprintServer;
import dev.imprint.synth.SynthScenario;
import dev.imprint.synth.SynthScenario.SyntheticModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code imprint demo}: the whole story end to end over a real server. Starts a server on a free
 * loopback port with a temporary data directory, creates a probe set, registers synthetic
 * reference models from several families through the client, scores a distilled student, a new
 * same-family sibling of its teacher and an unrelated model, prints each suspect's verdict and
 * ranked table, stops the server and deletes the directory.
 *
 * <p>Exits {@link ImprintCli#EXIT_OK} only if every verdict is right: DISTILLED_FROM the real
 * teacher for a student, SAME_FAMILY its family for a sibling, INDEPENDENT for the unrelated model.
 * Otherwise {@link ImprintCli#EXIT_FAILURE} with a line naming each wrong verdict.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start a server on a free loopback port with a temporary data directory, register synthetic "
                + "reference models, score a distilled student, a same-family sibling and an unrelated model "
                + "through the client, print each suspect's verdict and ranked table, and stop. Exits non-zero "
                + "unless every verdict is right.")
final class DemoCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private ScenarioOptions scenario;

    @Mixin
    private BackendOptions backendOptions;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "5",
            description = "Matches shown per suspect; 0 for all.")
    int topK;

    @Option(names = "--alpha", paramLabel = "ALPHA", defaultValue = "0.01",
            description = "Significance level of each verdict, in (0, 0.5] (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (topK < 0) {
            throw new ParameterException(spec.commandLine(), "--top-k=" + topK + "; expected 0 (all) or more");
        }
        if (!(alpha > 0 && alpha <= ScoreQuery.MAX_ALPHA)) {
            throw new ParameterException(spec.commandLine(),
                    "--alpha=" + alpha + "; expected a significance level in (0, " + ScoreQuery.MAX_ALPHA + "]");
        }
        if (scenario.students < 1) {
            throw new ParameterException(spec.commandLine(),
                    "--students=" + scenario.students + "; the demo needs at least one distilled student");
        }
        SynthScenario generated = scenario.generate(spec);
        Path dataDir = Files.createTempDirectory("imprint-demo-");
        try {
            return run(generated, dataDir, spec.commandLine().getOut());
        } finally {
            DurableFiles.deleteRecursively(dataDir);
        }
    }

    private int run(SynthScenario generated, Path dataDir, PrintWriter out) throws IOException, InterruptedException {
        ImprintEngine engine = backendOptions.openEngine(dataDir);
        ImprintServer server;
        try {
            server = new ImprintServer(ImprintServer.nettyBuilder("127.0.0.1", 0), engine,
                    ImprintServer.Options.defaults()).start();
        } catch (IOException | RuntimeException e) {
            engine.close();
            throw e;
        }
        List<String> failures;
        try (ImprintClient client = ImprintClient.connect(server.listenAddress())) {
            failures = demonstrate(client, server.listenAddress(), dataDir, generated, out);
        } finally {
            server.stop();
        }
        out.println("server stopped");
        out.flush();
        if (!failures.isEmpty()) {
            throw new CliException("demo failed: " + String.join("; ", failures));
        }
        out.println("demo passed: every verdict is right");
        out.flush();
        return ImprintCli.EXIT_OK;
    }

    /** Registers the references, scores every suspect and returns what did not rank as it should. */
    private List<String> demonstrate(ImprintClient client, String address, Path dataDir, SynthScenario generated,
                                     PrintWriter out) {
        ProbeSet set = client.createProbeSet(generated.probeSet());
        out.printf("Imprint demo: server on %s (backend %s), temporary data dir %s%n", address,
                client.getServerInfo().getBackend(), dataDir);
        out.printf("probe set %s: %s, %d probes x %d values%n", set.id(), set.kind(), set.numProbes(), set.dim());
        for (SyntheticModel ref : generated.references()) {
            client.putReference(set.id(), ref.modelId(), ref.labels(), ref.rows(), false);
        }
        Map<String, List<String>> byFamily = generated.references().stream().collect(Collectors.groupingBy(
                r -> r.labels().get(SynthScenario.FAMILY), LinkedHashMap::new,
                Collectors.mapping(SyntheticModel::modelId, Collectors.toList())));
        out.printf("registered %d reference models in %d families: %s%n", generated.references().size(),
                byFamily.size(), byFamily.entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                        .collect(Collectors.joining(", ")));
        out.println();
        List<String> failures = new ArrayList<>();
        ScoreOptions options = ScoreOptions.defaults().withTopK(topK).withAttribution(alpha);
        for (SyntheticModel suspect : generated.suspects()) {
            ScoreResult result = client.score(set.id(), suspect.rows(), new int[0], options);
            out.print(RankedTable.render(suspect.modelId(), "(" + story(suspect) + ")", result));
            out.println("  " + check(suspect, result, failures));
            out.println();
            out.flush();
        }
        return failures;
    }

    /** What the suspect is, in words. */
    private String story(SyntheticModel suspect) {
        String role = suspect.labels().get(SynthScenario.ROLE);
        String family = suspect.labels().get(SynthScenario.FAMILY);
        return switch (role) {
            case "student" -> "distilled from " + suspect.teacher().orElseThrow() + ", beta " + scenario.beta;
            case "sibling" -> "a new " + family + " model, trained independently: a hard negative";
            default -> "a " + family + " model; no reference shares its family";
        };
    }

    /** Whether the verdict is the one the suspect's story calls for, in words; records a failure if not. */
    private static String check(SyntheticModel suspect, ScoreResult result, List<String> failures) {
        String role = suspect.labels().get(SynthScenario.ROLE);
        Verdict expected = switch (role) {
            case "student" -> Verdict.DISTILLED_FROM;
            case "sibling" -> Verdict.SAME_FAMILY;
            default -> Verdict.INDEPENDENT;
        };
        String expectedName = switch (expected) {
            case DISTILLED_FROM -> suspect.teacher().orElseThrow();
            case SAME_FAMILY -> suspect.labels().get(SynthScenario.FAMILY);
            default -> "";
        };
        Attribution a = result.attribution();
        String givenName = a.verdict() == Verdict.SAME_FAMILY ? a.family() : a.modelId();
        boolean right = a.verdict() == expected && (expectedName.isEmpty() || expectedName.equals(givenName));
        String want = expected + (expectedName.isEmpty() ? "" : " " + expectedName);
        if (right) {
            return "right: " + want + " is the real answer";
        }
        String got = a.verdict() + (a.verdict() == Verdict.DISTILLED_FROM || a.verdict() == Verdict.SAME_FAMILY
                ? " " + givenName : "");
        failures.add(suspect.modelId() + " got " + got + ", not " + want);
        return "WRONG: the verdict is " + got + ", the real answer is " + want;
    }
}
