package dev.imprint.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.core.Verdict;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.store.ArrowFingerprintStore;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evidence report over a panel where each verdict occurs once, checked as text and in a real
 * browser (headless Chromium; skipped, saying so, where it is not installed).
 */
class EvidenceReportTest {
    private static final int P = 96;
    private static final int D = 32;
    private static final ProbeSet SET = new ProbeSet("report-set", P, D, ProbeSetKind.DISTRIBUTION, 1e-6,
            "log-linear synthetic models");
    /** A suspect id that is markup, to show user strings are escaped everywhere. */
    private static final String HOSTILE_ID = "unrelated <script>alert(1)</script> \"&'";
    private static final String HOSTILE_FAMILY = "f2 & <b>co</b>";
    private static final Path SCREENSHOTS = Path.of("target", "report-screenshots");

    @TempDir
    static Path dir;

    private static List<EvidenceReport.Entry> entries;
    private static String html;

    @BeforeAll
    static void renderThePanelsReport() {
        LogLinearModels models = new LogLinearModels(new Random(2026));
        entries = new ArrayList<>();
        try (ImprintEngine engine = ImprintEngine.open(ArrowFingerprintStore.open(dir.resolve("data")),
                new SelectedBackend(new CpuBackend(2), "test"))) {
            engine.createProbeSet(SET);
            double[][] references = new double[9][];
            for (int i = 0; i < 9; i++) {
                references[i] = models.member(i / 3);
                String family = i / 3 == 2 ? HOSTILE_FAMILY : "f" + i / 3;
                engine.putReference(SET.id(), "m" + i, Map.of("family", family), models.softmax(references[i]),
                        false);
            }
            for (int b = 0; b < 2; b++) {
                engine.putReference(SET.id(), "bg" + b, Map.of(), ReferenceRole.BACKGROUND,
                        models.softmax(models.unrelated()), false);
            }
            float[] student = models.softmax(LogLinearModels.mix(references[4], models.unrelated(), 0.5));
            score(engine, "student-of-m4", student, new int[0]);
            score(engine, "new-fine-tune-of-f2", models.softmax(models.member(2)), new int[0]);
            score(engine, HOSTILE_ID, models.softmax(models.unrelated()), new int[0]);
            float[] fourProbes = new float[4 * D];
            System.arraycopy(student, 0, fourProbes, 0, fourProbes.length);
            score(engine, "four-probes", fourProbes, new int[] {0, 1, 2, 3});
        }
        assertEquals(List.of(Verdict.DISTILLED_FROM, Verdict.SAME_FAMILY, Verdict.INDEPENDENT, Verdict.INCONCLUSIVE),
                entries.stream().map(e -> e.result().attribution().verdict()).toList(),
                "the panel gives each verdict once");
        html = EvidenceReport.render(SET, entries, settings());
    }

    private static void score(ImprintEngine engine, String id, float[] rows, int[] probes) {
        int n = probes.length == 0 ? P : probes.length;
        ScoreResult r = engine.score(SET, Suspect.of(SET, n, D, rows, probes),
                ScoreQuery.defaults(SET).withAttribution(0.01));
        entries.add(new EvidenceReport.Entry(id, r));
    }

    private static EvidenceReport.Settings settings() {
        return new EvidenceReport.Settings(null, 5, Instant.parse("2026-12-04T12:00:00Z"), entries.size());
    }

    /** Text as Chromium serialises it in a DOM dump: only &, < and > are escaped. */
    private static String domText(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    @Test
    void showsEachSuspectsVerdictReasonAndNumbers() {
        for (EvidenceReport.Entry e : entries) {
            var a = e.result().attribution();
            assertTrue(html.contains(">" + a.verdict().name() + "</span>"), a.verdict().name());
            assertTrue(html.contains(Html.escape(a.reason())), a.reason());
            assertTrue(html.contains("<dd>" + Html.pValue(a.pValue()) + "</dd>"), e.suspectId());
        }
        // Three suspects were tested, so three null plots and three evidence charts; four probes are too few.
        assertEquals(3, count(html, "class=\"null-plot\""));
        assertEquals(3, count(html, "class=\"evidence-bars\""));
        assertEquals(1, count(html, "class=\"heatmap\""));
        assertTrue(html.contains("No test was run: inconclusive: only 4 probes"), "the untested suspect says why");
        // The heatmap has a cell per suspect and reference: 4 suspects × 11 references.
        String heatmap = html.substring(html.indexOf("class=\"heatmap\""));
        heatmap = heatmap.substring(0, heatmap.indexOf("</svg>"));
        assertEquals(4 * 11, count(heatmap, "<rect x="));
        assertEquals(1, count(heatmap, "stroke=\"#d62728\""), "the one teacher named is outlined");
    }

    @Test
    void theNullPlotsTailIsThePValueOfTheTestTheVerdictRestsOn() {
        // The W+ the plot derives from the verdict's n and effect size gives back the test's own p.
        for (EvidenceReport.Entry e : List.of(entries.get(0), entries.get(2))) {
            var a = e.result().attribution();
            double p = a.evidence().get(0).pValue();
            double tail = NullDistributionPlot.compute(a.probesUsed(), NullDistributionPlot.observedWPlus(a)).tail();
            assertEquals(p, tail, 1e-9 * p, e.suspectId());
        }
    }

    @Test
    void escapesEveryUserString() {
        assertFalse(html.toLowerCase(Locale.ROOT).contains("<script"), "no script element, however the ids read");
        assertFalse(html.contains("<b>co</b>"));
        assertTrue(html.contains("unrelated &lt;script&gt;alert(1)&lt;/script&gt; &quot;&amp;&#39;"));
        assertTrue(html.contains("f2 &amp; &lt;b&gt;co&lt;/b&gt;"));
        assertEquals("&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;",
                Html.escape("<a href=\"x\" onclick='y'>&amp;"));
    }

    @Test
    void opensInChromiumWithoutConsoleMessagesShowingTheVerdictsAndSavesAScreenshot() throws Exception {
        HeadlessChromium chromium = chromium();
        Files.createDirectories(SCREENSHOTS);
        Path page = SCREENSHOTS.resolve("report.html");
        EvidenceReport.write(page, SET, entries, settings());

        HeadlessChromium.Run dom = chromium.dumpDom(page);
        assertEquals(List.of(), dom.consoleMessages(), "the report logs nothing to the console");
        String loaded = dom.stdout();
        for (EvidenceReport.Entry e : entries) {
            var a = e.result().attribution();
            assertTrue(loaded.contains(">" + a.verdict().name() + "</span>"), a.verdict().name());
            assertTrue(loaded.contains(domText(a.reason())), a.reason());
        }
        assertTrue(loaded.contains(domText(HOSTILE_ID)), "the hostile id is shown as text");
        assertFalse(loaded.toLowerCase(Locale.ROOT).contains("<script"), "and never became an element");
        assertEquals(3, count(loaded, "class=\"null-plot\""));

        Path png = SCREENSHOTS.resolve("report.png");
        Files.deleteIfExists(png);
        HeadlessChromium.Run shot = chromium.screenshot(page, png, 1280, 2000);
        assertEquals(List.of(), shot.consoleMessages());
        assertTrue(Files.size(png) > 20_000, "a screenshot of a full page, " + Files.size(png) + " bytes");
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(1280, image.getWidth());
        assertEquals(2000, image.getHeight());
        Set<Integer> colours = new HashSet<>();
        long inked = 0;
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                int rgb = image.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                if (rgb != 0xffffff) {
                    inked++;
                }
            }
        }
        assertTrue(colours.size() > 50, colours.size() + " colours: text, badges and the heatmap's shades");
        assertTrue(inked > image.getWidth() * image.getHeight() / 4 / 50, inked + " sampled pixels not white");
    }

    @Test
    void theConsoleCaptureSeesWhatAPageLogs() throws Exception {
        HeadlessChromium chromium = chromium();
        Path page = dir.resolve("logs.html");
        Files.writeString(page, "<!DOCTYPE html><html><body><p>x</p><script>console.error('from the page');"
                + "undefinedFunction();</script></body></html>", StandardCharsets.UTF_8);
        List<String> messages = chromium.consoleMessagesOf(page);
        assertTrue(messages.stream().anyMatch(m -> m.contains("from the page")), messages.toString());
        assertTrue(messages.stream().anyMatch(m -> m.contains("undefinedFunction")), messages.toString());

        // The report's policy forbids scripts, and a page that tried one would be caught too.
        Path blocked = dir.resolve("blocked.html");
        Files.writeString(blocked, html.replace("</body>", "<script>console.log('ran')</script></body>"),
                StandardCharsets.UTF_8);
        List<String> refused = chromium.consoleMessagesOf(blocked);
        assertTrue(refused.stream().anyMatch(m -> m.contains("Content Security Policy")), refused.toString());
        assertFalse(refused.stream().anyMatch(m -> m.contains("\"ran\"")), refused.toString());
    }

    @Test
    void aFailedWriteLeavesTheExistingReportUntouched() throws IOException {
        Path target = dir.resolve("kept.html");
        EvidenceReport.write(target, SET, entries, settings());
        byte[] before = Files.readAllBytes(target);

        IOException diskFull = assertThrows(IOException.class, () -> EvidenceReport.write(target, out -> {
            out.write(ByteBuffer.wrap("<!DOCTYPE html><html><body>half a rep".getBytes(StandardCharsets.UTF_8)));
            throw new IOException("No space left on device");
        }));
        assertEquals("No space left on device", diskFull.getMessage());
        assertArrayEquals(before, Files.readAllBytes(target), "the earlier report is as it was");

        List<EvidenceReport.Entry> unscored = List.of(new EvidenceReport.Entry("plain",
                new ScoreResult(SET.id(), List.of(), P, 0, "cpu", entries.get(0).result().orderBy())));
        IllegalArgumentException noVerdict = assertThrows(IllegalArgumentException.class,
                () -> EvidenceReport.write(target, SET, unscored, settings()));
        assertEquals("suspect plain has no verdict; it must be scored with attribution", noVerdict.getMessage());
        assertArrayEquals(before, Files.readAllBytes(target));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList(),
                    "no temporary file is left behind");
        }
    }

    private static HeadlessChromium chromium() throws IOException {
        Path work = Files.createDirectories(dir.resolve("chromium"));
        var found = HeadlessChromium.find(work);
        Assumptions.assumeTrue(found.isPresent(),
                "chromium is not installed (Debian: apt-get install chromium); the browser checks are skipped");
        return found.get();
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + part.length())) {
            n++;
        }
        return n;
    }

    /** Seeded log-linear models as in AttributionTest: logits = consensus + family offset + own idiosyncrasy. */
    private static final class LogLinearModels {
        private final Random rng;
        private final double[] consensus;
        private final double[][] families;

        LogLinearModels(Random rng) {
            this.rng = rng;
            this.consensus = gaussian(2.0);
            this.families = new double[][] {gaussian(1.0), gaussian(1.0), gaussian(1.0)};
        }

        double[] member(int family) {
            return model(families[family]);
        }

        double[] unrelated() {
            return model(gaussian(1.0));
        }

        private double[] gaussian(double scale) {
            double[] v = new double[P * D];
            for (int i = 0; i < v.length; i++) {
                v[i] = rng.nextGaussian() * scale;
            }
            return v;
        }

        private double[] model(double[] familyOffset) {
            double[] own = gaussian(0.5);
            double[] logits = new double[P * D];
            for (int i = 0; i < logits.length; i++) {
                logits[i] = consensus[i] + familyOffset[i] + own[i];
            }
            return logits;
        }

        static double[] mix(double[] a, double[] b, double beta) {
            double[] out = new double[a.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = beta * a[i] + (1 - beta) * b[i];
            }
            return out;
        }

        float[] softmax(double[] logits) {
            float[] rows = new float[logits.length];
            for (int p = 0; p < P; p++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < D; k++) {
                    max = Math.max(max, logits[p * D + k]);
                }
                double sum = 0;
                for (int k = 0; k < D; k++) {
                    sum += Math.exp(logits[p * D + k] - max);
                }
                for (int k = 0; k < D; k++) {
                    rows[p * D + k] = (float) (Math.exp(logits[p * D + k] - max) / sum);
                }
            }
            return rows;
        }
    }
}
