package dev.imprint.cli;

import static dev.imprint.cli.TestScenario.regenerate;
import static dev.imprint.cli.TestScenario.withShape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.Attribution;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.Suspect;
import dev.imprint.engine.BackendProvider;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.synth.SynthScenario.SyntheticModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code imprint report} in-process over a data directory holding the synth scenario. */
class ReportCommandTest {
    @TempDir
    Path tmp;

    private Path scenario;
    private Path data;
    private Path suspects;

    @BeforeEach
    void synthAndPut() {
        scenario = tmp.resolve("scenario");
        data = tmp.resolve("data");
        suspects = scenario.resolve("suspects.arrow");
        CliRun synth = CliRun.run(withShape("synth", "--out", scenario.toString()));
        assertEquals(0, synth.exit(), synth.toString());
        CliRun put = CliRun.run("put", scenario.resolve("references").toString(), "--data-dir", data.toString());
        assertEquals(0, put.exit(), put.toString());
    }

    @Test
    void writesEachSuspectsVerdictAsTheEngineGivesIt() throws IOException {
        Path out = tmp.resolve("report.html");
        CliRun run = CliRun.run("report", suspects.toString(), "--data-dir", data.toString(), "--out", out.toString());
        assertEquals(0, run.exit(), run.toString());
        assertTrue(run.out().startsWith("report on 4 of 4 suspects written to " + out + ": "), run.toString());

        String html = Files.readString(out, StandardCharsets.UTF_8);
        List<SyntheticModel> expected = regenerate(ProbeSetKind.DISTRIBUTION).suspects();
        try (ImprintEngine engine = ImprintEngine.open(ArrowFingerprintStore.open(data), BackendProvider.select())) {
            ProbeSet set = engine.getProbeSet(TestScenario.PROBE_SET);
            for (SyntheticModel s : expected) {
                Attribution a = engine.score(set, Suspect.of(set, set.numProbes(), set.dim(), s.rows(), new int[0]),
                        ScoreQuery.defaults(set).withAttribution(ScoreQuery.DEFAULT_ALPHA)).attribution();
                assertTrue(html.contains("Suspect <code>" + s.modelId() + "</code> <span class=\"verdict v-"
                        + a.verdict().name().toLowerCase(java.util.Locale.ROOT) + "\">" + a.verdict() + "</span>"),
                        s.modelId() + " " + a.verdict());
                assertTrue(run.out().contains(a.verdict().name()), run.toString());
            }
        }
    }

    @Test
    void maxSuspectsReportsOnTheFirstOnesAndSaysSo() throws IOException {
        Path out = tmp.resolve("report.html");
        CliRun run = CliRun.run("report", suspects.toString(), "--data-dir", data.toString(), "--out", out.toString(),
                "--max-suspects", "1", "--heatmap-metric", "js", "--alpha", "0.05");
        assertEquals(0, run.exit(), run.toString());
        assertTrue(run.out().startsWith("report on 1 of 4 suspects"), run.toString());
        String html = Files.readString(out, StandardCharsets.UTF_8);
        assertTrue(html.contains("1 suspect (the first 1 of 4)"), "the header says the report is partial");
        assertTrue(html.contains("<h2>JS, suspects &times; references</h2>"));
        assertTrue(html.contains("alpha=0.05"));
    }

    @Test
    void aFailedRunLeavesAnEarlierReportInPlace() throws IOException {
        Path out = tmp.resolve("report.html");
        Files.writeString(out, "earlier report", StandardCharsets.UTF_8);
        CliRun unknown = CliRun.run("report", suspects.toString(), "--data-dir", data.toString(), "--out",
                out.toString(), "--probe-set", "nope");
        assertEquals(1, unknown.exit(), unknown.toString());
        assertTrue(unknown.err().contains("NOT_FOUND"), unknown.toString());
        CliRun badAlpha = CliRun.run("report", suspects.toString(), "--data-dir", data.toString(), "--out",
                out.toString(), "--alpha", "0.7");
        assertEquals(2, badAlpha.exit(), badAlpha.toString());
        assertTrue(badAlpha.err().contains("--alpha=0.7; expected a significance level in (0, 0.5]"), badAlpha.toString());
        assertEquals("earlier report", Files.readString(out, StandardCharsets.UTF_8));
    }
}
