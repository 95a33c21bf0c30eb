package dev.imprint.report;

import static dev.imprint.report.Html.escape;
import static dev.imprint.report.Html.number;
import static dev.imprint.report.Html.pValue;

import dev.imprint.attribution.SignedRankTest;
import dev.imprint.core.Attribution;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Verdict;
import dev.imprint.io.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The evidence report: one self-contained HTML page on the verdicts of one or many suspects
 * scored with attribution against one probe set. It shows a summary of the verdicts, a heatmap of
 * one metric over suspects × references, and per suspect its verdict and the numbers behind it,
 * the ranked candidates with their p-values, the null distribution of the verdict's signed-rank
 * test with the observed statistic, and the probes that favour the top candidate most.
 *
 * <p>The page needs nothing but itself: CSS and SVG are inline, there is no script, and a
 * Content-Security-Policy forbids every fetch, so it reads the same offline, archived or mailed.
 * Every string that comes from data (ids, labels, reasons) is escaped.
 */
public final class EvidenceReport {
    /** The label a reference's family is read from, as attribution reads it. */
    private static final String FAMILY = "family";

    private EvidenceReport() {}

    /** One suspect of the report: its id (the suspect table's model id) and its scored result. */
    public record Entry(String suspectId, ScoreResult result) {
    }

    /**
     * How the report is drawn.
     *
     * @param heatmapMetric the metric of the heatmap; null for the results' ranking metric
     * @param candidates    how many of each suspect's ranked matches to list, at least 1
     * @param generated     when the report was made, printed in its header
     * @param suspectsTotal how many suspects the input held, so a report of its first few says so
     */
    public record Settings(Metric heatmapMetric, int candidates, Instant generated, int suspectsTotal) {
        public Settings {
            if (candidates < 1) {
                throw new IllegalArgumentException("candidates=" + candidates + "; expected at least 1");
            }
        }
    }

    /**
     * Writes the report to {@code target} durably and atomically: the page is rendered in full
     * first, then written to a temporary file that replaces {@code target} in one rename, so a
     * failed run leaves any earlier report there as it was.
     *
     * @throws IllegalArgumentException as {@link #render}
     */
    public static void write(Path target, ProbeSet set, List<Entry> entries, Settings settings) throws IOException {
        byte[] page = render(set, entries, settings).getBytes(StandardCharsets.UTF_8);
        write(target, out -> {
            ByteBuffer buffer = ByteBuffer.wrap(page);
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
        });
    }

    /** Replaces {@code target} with what {@code content} writes, or leaves it as it was on any failure. */
    static void write(Path target, DurableFiles.ContentWriter content) throws IOException {
        DurableFiles.replace(target, content);
    }

    /**
     * The report as an HTML document.
     *
     * @param entries at least one, each with an attribution
     * @throws IllegalArgumentException if there are no entries, an entry has no attribution (it was
     *                                  scored without it), or a match lacks the heatmap metric
     */
    public static String render(ProbeSet set, List<Entry> entries, Settings settings) {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("no suspects to report on");
        }
        for (Entry e : entries) {
            if (e.result().attribution() == null) {
                throw new IllegalArgumentException("suspect " + e.suspectId()
                        + " has no verdict; it must be scored with attribution");
            }
        }
        Metric heatmapMetric = settings.heatmapMetric() != null ? settings.heatmapMetric()
                : entries.get(0).result().orderBy();
        StringBuilder page = new StringBuilder(1 << 16);
        page.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                        + "style-src 'unsafe-inline'\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>Imprint evidence report: ").append(escape(set.id())).append("</title>\n<style>\n")
                .append(STYLE).append("</style>\n</head>\n<body>\n");
        header(page, set, entries, settings);
        summary(page, entries);
        heatmap(page, entries, heatmapMetric);
        for (int i = 0; i < entries.size(); i++) {
            suspect(page, i, entries.get(i), settings.candidates());
        }
        page.append("</body>\n</html>\n");
        return page.toString();
    }

    private static void header(StringBuilder page, ProbeSet set, List<Entry> entries, Settings settings) {
        ScoreResult first = entries.get(0).result();
        page.append("<header>\n<h1>Imprint evidence report</h1>\n<p class=\"meta\">probe set <code>")
                .append(escape(set.id())).append("</code> (").append(set.kind()).append(", P=")
                .append(set.numProbes()).append(", D=").append(set.dim()).append(") &middot; ")
                .append(entries.size()).append(entries.size() == 1 ? " suspect" : " suspects");
        if (settings.suspectsTotal() > entries.size()) {
            page.append(" (the first ").append(entries.size()).append(" of ").append(settings.suspectsTotal())
                    .append(")");
        }
        page.append(" &middot; ").append(first.referencesScored()).append(" references &middot; alpha=")
                .append(first.attribution().alpha()).append(" &middot; backend ").append(escape(first.backend()))
                .append(" &middot; generated ").append(settings.generated()).append("</p>\n");
        if (!set.description().isEmpty()) {
            page.append("<p class=\"meta\">").append(escape(set.description())).append("</p>\n");
        }
        page.append("<p class=\"note\">A verdict is a statement about these probes and this panel: INDEPENDENT "
                + "means no evidence was found, not proof of independence, and DISTILLED_FROM means the named model "
                + "explains more of the suspect than every registered control, its siblings together included, "
                + "so it is only as strong as the siblings and background the panel holds.</p>\n"
                + "</header>\n");
    }

    private static void summary(StringBuilder page, List<Entry> entries) {
        page.append("<section>\n<h2>Verdicts</h2>\n<table class=\"summary\">\n<thead><tr><th>suspect</th>"
                + "<th>verdict</th><th>model</th><th>family</th><th>adjusted p</th><th>effect size</th>"
                + "<th>probes</th></tr></thead>\n<tbody>\n");
        for (int i = 0; i < entries.size(); i++) {
            Attribution a = entries.get(i).result().attribution();
            page.append("<tr><td><a href=\"#s").append(i + 1).append("\">").append(escape(entries.get(i).suspectId()))
                    .append("</a></td><td>").append(badge(a.verdict())).append("</td><td>").append(escape(a.modelId()))
                    .append("</td><td>").append(escape(a.family())).append("</td><td class=\"num\">")
                    .append(pValue(a.pValue())).append("</td><td class=\"num\">").append(number(a.effectSize()))
                    .append("</td><td class=\"num\">").append(a.probesUsed()).append("</td></tr>\n");
        }
        page.append("</tbody>\n</table>\n</section>\n");
    }

    private static void heatmap(StringBuilder page, List<Entry> entries, Metric metric) {
        // Columns grouped by family, so a family's members sit side by side.
        Map<String, String> familyOf = new LinkedHashMap<>();
        for (Entry e : entries) {
            for (Match m : e.result().matches()) {
                familyOf.putIfAbsent(m.modelId(), m.labels().getOrDefault(FAMILY, ""));
            }
        }
        List<String> columns = familyOf.keySet().stream()
                .sorted(Comparator.comparing((String id) -> familyOf.get(id)).thenComparing(id -> id)).toList();
        Map<String, Integer> column = new LinkedHashMap<>();
        for (int c = 0; c < columns.size(); c++) {
            column.put(columns.get(c), c);
        }
        double[][] values = new double[entries.size()][columns.size()];
        boolean[][] marked = new boolean[entries.size()][columns.size()];
        List<String> rows = entries.stream().map(Entry::suspectId).toList();
        for (int r = 0; r < entries.size(); r++) {
            Arrays.fill(values[r], Double.NaN);
            ScoreResult result = entries.get(r).result();
            for (Match m : result.matches()) {
                Double v = m.values().get(metric);
                if (v == null) {
                    throw new IllegalArgumentException("the heatmap shows " + metric + " but suspect "
                            + entries.get(r).suspectId() + " was scored with " + m.values().keySet());
                }
                values[r][column.get(m.modelId())] = v;
            }
            Attribution a = result.attribution();
            if (a.verdict() == Verdict.DISTILLED_FROM && column.containsKey(a.modelId())) {
                marked[r][column.get(a.modelId())] = true;
            }
        }
        page.append("<section>\n<h2>").append(metric).append(", suspects &times; references</h2>\n")
                .append("<p class=\"note\">Darker is closer (").append(metric.higherIsCloser() ? "higher" : "lower")
                .append(" ").append(metric).append("), relative to the row's own range; references grouped by "
                        + "family; a red outline marks the teacher a DISTILLED_FROM verdict names; hatched cells have "
                        + "no value. Hover a cell for its value.</p>\n")
                .append("<div class=\"scroll\">\n")
                .append(Heatmap.svg(rows, columns, values, metric.higherIsCloser(), marked, metric.name()))
                .append("</div>\n</section>\n");
    }

    private static void suspect(StringBuilder page, int index, Entry entry, int candidates) {
        ScoreResult result = entry.result();
        Attribution a = result.attribution();
        page.append("<section class=\"suspect\" id=\"s").append(index + 1).append("\">\n<h2>Suspect <code>")
                .append(escape(entry.suspectId())).append("</code> ").append(badge(a.verdict())).append("</h2>\n")
                .append("<p class=\"reason\">").append(escape(a.reason())).append("</p>\n<dl class=\"facts\">\n");
        fact(page, "model", a.modelId().isEmpty() ? "none" : a.modelId());
        fact(page, "family", a.family().isEmpty() ? "unknown" : a.family());
        fact(page, "adjusted p", pValue(a.pValue()));
        fact(page, "alpha", Double.toString(a.alpha()));
        fact(page, "effect size (rank-biserial)", number(a.effectSize()));
        fact(page, "probes used", Integer.toString(a.probesUsed()));
        fact(page, "statistic", a.statistic());
        fact(page, "references scored", Integer.toString(result.referencesScored()));
        page.append("</dl>\n");
        candidates(page, result, candidates);
        nullDistribution(page, a);
        evidence(page, a);
        page.append("</section>\n");
    }

    private static void candidates(StringBuilder page, ScoreResult result, int shown) {
        Set<Metric> metrics = EnumSet.noneOf(Metric.class);
        for (Match m : result.matches()) {
            metrics.addAll(m.values().keySet());
        }
        List<Match> top = result.matches().subList(0, Math.min(shown, result.matches().size()));
        page.append("<h3>Ranked candidates</h3>\n<p class=\"note\">By ").append(result.orderBy())
                .append("; the first ").append(top.size()).append(" of ").append(result.matches().size())
                .append(". The p-value is the adjusted p that this reference is the teacher; n/a for background "
                        + "references and those not tested.</p>\n<table class=\"candidates\">\n<thead><tr><th>rank</th>"
                        + "<th>model</th><th>family</th><th>adjusted p</th>");
        for (Metric m : metrics) {
            page.append("<th>").append(m).append("</th>");
        }
        page.append("</tr></thead>\n<tbody>\n");
        String named = result.attribution().modelId();
        for (Match m : top) {
            page.append(m.modelId().equals(named) ? "<tr class=\"named\">" : "<tr>").append("<td class=\"num\">")
                    .append(m.rank()).append("</td><td>").append(escape(m.modelId())).append("</td><td>")
                    .append(escape(m.labels().getOrDefault(FAMILY, ""))).append("</td><td class=\"num\">")
                    .append(pValue(m.pValue())).append("</td>");
            for (Metric metric : metrics) {
                Double v = m.values().get(metric);
                page.append("<td class=\"num\">").append(v == null ? "" : number(v)).append("</td>");
            }
            page.append("</tr>\n");
        }
        page.append("</tbody>\n</table>\n");
    }

    private static void nullDistribution(StringBuilder page, Attribution a) {
        page.append("<h3>The test against the null</h3>\n");
        if (a.evidence().isEmpty() || a.probesUsed() == 0) {
            page.append("<p class=\"note\">No test was run: ").append(escape(a.reason())).append("</p>\n");
            return;
        }
        int n = a.probesUsed();
        String what = a.verdict() == Verdict.SAME_FAMILY
                ? "family " + a.family() + " against its hardest other family"
                : a.evidence().get(0).modelId() + " against its hardest control, " + a.evidence().get(0).controlId();
        NullDistributionPlot.Null nul = NullDistributionPlot.compute(n, NullDistributionPlot.observedWPlus(a));
        page.append("<p class=\"note\">The one-sided signed-rank test of ").append(escape(what))
                .append(": under the null each probe's difference is as likely to favour either side, which gives "
                        + "the distribution of W+ shown; the red line is the observed W+ and the red area the "
                        + "p-value before adjustment, P(W+ &ge; observed) = ").append(pValue(nul.tail()))
                .append(n > SignedRankTest.EXACT_LIMIT
                        ? " (normal approximation, as the test uses above "
                        + SignedRankTest.EXACT_LIMIT + " probes)" : " (exact)")
                .append(".</p>\n").append(NullDistributionPlot.svg(nul, "null distribution of W+ for " + what));
    }

    private static void evidence(StringBuilder page, Attribution a) {
        page.append("<h3>Per-probe evidence</h3>\n");
        if (a.evidence().isEmpty()) {
            page.append("<p class=\"note\">No evidence: nothing was tested.</p>\n");
            return;
        }
        Attribution.Evidence e = a.evidence().get(0);
        page.append("<p class=\"note\">The ").append(e.probes().length).append(" probes that most favour <code>")
                .append(escape(e.modelId())).append("</code> over its closest control <code>")
                .append(escape(e.controlId())).append("</code>: per probe, ").append(escape(a.statistic()))
                .append(" to ").append(escape(e.modelId())).append(" minus that to ").append(escape(e.controlId()))
                .append(" (unadjusted p of this comparison ").append(pValue(e.pValue())).append(").</p>\n")
                .append(EvidenceBars.svg(e, a.statistic()));
    }

    private static void fact(StringBuilder page, String name, String value) {
        page.append("<dt>").append(escape(name)).append("</dt><dd>").append(escape(value)).append("</dd>\n");
    }

    private static String badge(Verdict v) {
        return "<span class=\"verdict v-" + v.name().toLowerCase(Locale.ROOT) + "\">" + v.name() + "</span>";
    }

    private static final String STYLE = """
            body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 24px auto;
                   max-width: 1200px; padding: 0 16px; }
            h1 { font-size: 22px; margin: 0 0 4px; }
            h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
            h3 { font-size: 15px; margin: 18px 0 6px; }
            code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
            .meta { color: #555; margin: 2px 0; }
            .note { color: #555; max-width: 860px; }
            .reason { font-size: 15px; }
            table { border-collapse: collapse; }
            th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 10px; text-align: left; }
            th { background: #f6f6f6; font-weight: 600; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; }
            tr.named td { background: #fff4e5; font-weight: 600; }
            dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 8px 0; }
            dl.facts dt { color: #555; }
            dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
            .verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
                       font-weight: 700; color: #fff; vertical-align: middle; }
            .v-distilled_from { background: #c62828; }
            .v-same_family { background: #ef6c00; }
            .v-independent { background: #2e7d32; }
            .v-inconclusive { background: #757575; }
            .scroll { overflow-x: auto; }
            svg text { font: 11px system-ui, sans-serif; fill: #333; }
            svg text.cell { font-size: 10px; }
            svg text.on-dark { fill: #fff; }
            svg text.observed-label { fill: #d62728; font-weight: 600; }
            """;
}
