package dev.imprint.cli;

import dev.imprint.core.Attribution;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ScoreResult;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Renders one suspect's ranked matches as an aligned text table: a heading line, the verdict in a
 * sentence (when there is one), a summary line, then one row per match with its rank, model id, family label (when any match has one) and every
 * computed metric, the ranking metric first. Values have 4 decimals.
 */
final class RankedTable {
    private RankedTable() {}

    /** Column name of a metric: its lower-case name, e.g. kl_ref_suspect. */
    static String column(Metric metric) {
        return metric.name().toLowerCase(Locale.ROOT);
    }

    /** The metrics present in {@code result}, the ranking metric first, then in enum order. */
    static List<Metric> metricsOf(ScoreResult result) {
        Set<Metric> ordered = new LinkedHashSet<>();
        ordered.add(result.orderBy());
        for (Match m : result.matches()) {
            ordered.addAll(m.values().keySet());
        }
        return new ArrayList<>(ordered);
    }

    /**
     * The table for {@code suspect}.
     *
     * @param heading shown after the suspect's id, e.g. "(distilled from atlas-2)"; may be empty
     */
    static String render(String suspect, String heading, ScoreResult result) {
        List<Metric> metrics = metricsOf(result);
        boolean family = result.matches().stream().anyMatch(m -> m.labels().containsKey("family"));
        boolean pValues = result.matches().stream().anyMatch(m -> !Double.isNaN(m.pValue()));
        List<String> header = new ArrayList<>(List.of("rank", "model_id"));
        if (family) {
            header.add("family");
        }
        if (pValues) {
            header.add("p_value");
        }
        metrics.forEach(m -> header.add(column(m)));
        List<List<String>> rows = new ArrayList<>();
        for (Match m : result.matches()) {
            List<String> row = new ArrayList<>(List.of(Integer.toString(m.rank()), m.modelId()));
            if (family) {
                row.add(m.labels().getOrDefault("family", ""));
            }
            if (pValues) {
                row.add(Double.isNaN(m.pValue()) ? "" : formatP(m.pValue()));
            }
            for (Metric metric : metrics) {
                Double v = m.values().get(metric);
                row.add(v == null ? "" : String.format(Locale.ROOT, "%.4f", v));
            }
            rows.add(row);
        }
        int[] width = new int[header.size()];
        boolean[] left = new boolean[header.size()];
        for (int c = 0; c < width.length; c++) {
            left[c] = header.get(c).equals("model_id") || header.get(c).equals("family");
            width[c] = header.get(c).length();
            for (List<String> row : rows) {
                width[c] = Math.max(width[c], row.get(c).length());
            }
        }
        StringBuilder out = new StringBuilder();
        out.append("suspect ").append(suspect).append(heading.isEmpty() ? "" : " " + heading).append('\n');
        Attribution a = result.attribution();
        if (a != null) {
            out.append("  verdict ").append(a.verdict()).append(": ").append(a.reason()).append('\n');
            out.append(String.format(Locale.ROOT, "  (%s over %d probes, effect size %.2f, alpha %s)%n",
                    a.statistic(), a.probesUsed(), a.effectSize(), a.alpha()));
        }
        out.append(String.format(Locale.ROOT, "  probe set %s: %d probes used, %d references scored, backend %s, "
                        + "ranked by %s (%s is closer)%n", result.probeSetId(), result.probesUsed(),
                result.referencesScored(), result.backend(), column(result.orderBy()),
                result.orderBy().higherIsCloser() ? "higher" : "lower"));
        appendRow(out, header, width, left);
        for (List<String> row : rows) {
            appendRow(out, row, width, left);
        }
        if (rows.isEmpty()) {
            out.append("  (no references to compare against)\n");
        }
        return out.toString();
    }

    /** A p-value for reading: four decimals, or scientific below 1e-4 so small ones keep their size. */
    static String formatP(double p) {
        return p < 1e-4 ? String.format(Locale.ROOT, "%.2e", p) : String.format(Locale.ROOT, "%.4f", p);
    }

    /** Text columns are left-aligned, numeric ones (rank and metrics) right-aligned. */
    private static void appendRow(StringBuilder out, List<String> cells, int[] width, boolean[] left) {
        StringBuilder line = new StringBuilder();
        for (int c = 0; c < cells.size(); c++) {
            String cell = cells.get(c);
            String pad = " ".repeat(width[c] - cell.length());
            line.append("  ").append(left[c] ? cell + pad : pad + cell);
        }
        out.append(line.toString().stripTrailing()).append('\n');
    }
}
