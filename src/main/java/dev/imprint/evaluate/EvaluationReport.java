package dev.imprint.evaluate;

import dev.imprint.core.Verdict;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The tables {@code imprint evaluate} prints for a set of scored suspects: per student condition
 * the detection rate, top-1, ROC AUC and TPR at 1% and 0.1% FPR for attribution and for the raw
 * metric side by side; per negative condition the DISTILLED_FROM rate with its 95% Wilson
 * interval; the verdict confusion matrix; and the calibration check against alpha.
 */
public final class EvaluationReport {
    private final List<Scored> scored;
    private final double alpha;
    private final Map<String, Predicate<LabelledSuspect>> groups;

    /**
     * @param groups extra student rows pooling several conditions, e.g. "medium+strong"; in order
     */
    public EvaluationReport(List<Scored> scored, double alpha, Map<String, Predicate<LabelledSuspect>> groups) {
        this.scored = List.copyOf(scored);
        this.alpha = alpha;
        this.groups = new LinkedHashMap<>(groups);
    }

    /** The DISTILLED_FROM count and total over negatives (suspects distilled from no reference). */
    public int[] falsePositives() {
        int k = 0;
        int n = 0;
        for (Scored s : scored) {
            if (s.suspect().truth().isNegative()) {
                n++;
                k += s.falselyDistilled() ? 1 : 0;
            }
        }
        return new int[] {k, n};
    }

    /** Whether the negatives' DISTILLED_FROM rate is within alpha plus one point (the contract). */
    public boolean calibrated() {
        int[] fp = falsePositives();
        return fp[1] == 0 || fp[0] / (double) fp[1] <= alpha + 0.01;
    }

    /** The fraction of the students matching {@code which} called DISTILLED_FROM their true teacher. */
    public double detectionRate(Predicate<LabelledSuspect> which) {
        List<Scored> rows = scored.stream().filter(s -> s.suspect().truth() == Truth.DISTILLED
                && which.test(s.suspect())).toList();
        return rows.isEmpty() ? Double.NaN : rows.stream().filter(Scored::detected).count() / (double) rows.size();
    }

    /** All the tables, as text. */
    public String render(String title) {
        StringBuilder out = new StringBuilder();
        out.append(title).append('\n');
        out.append(String.format(Locale.ROOT, "alpha %s; attr = Imprint's verdicts and p-values, raw = ranking by "
                + "the raw metric alone (margin of the closest protected reference)%n%n", alpha));
        out.append(students());
        out.append('\n').append(negatives());
        out.append('\n').append(confusion());
        int[] fp = falsePositives();
        double[] ci = DetectionMetrics.wilson(fp[0], fp[1]);
        out.append(String.format(Locale.ROOT, "%ncalibration: DISTILLED_FROM given to %d of %d suspects distilled "
                        + "from no reference = %.3f [95%% CI %.3f, %.3f]; target <= alpha + 0.01 = %.3f: %s%n", fp[0],
                fp[1], fp[1] == 0 ? 0 : fp[0] / (double) fp[1], ci[0], ci[1], alpha + 0.01,
                calibrated() ? "met" : "MISSED"));
        long wrongTeacher = scored.stream().filter(s -> s.suspect().truth() == Truth.DISTILLED
                && s.falselyDistilled()).count();
        out.append(String.format(Locale.ROOT, "students called DISTILLED_FROM the wrong reference: %d%n",
                wrongTeacher));
        return out.toString();
    }

    private String students() {
        Map<String, Predicate<LabelledSuspect>> rows = new LinkedHashMap<>();
        for (Scored s : scored) {
            if (s.suspect().truth() == Truth.DISTILLED) {
                String c = s.suspect().condition();
                rows.putIfAbsent(c, x -> x.condition().equals(c));
            }
        }
        rows.putAll(groups);
        rows.put("all students", x -> true);
        Table t = new Table("student condition", "n", "detected", "top1 attr", "top1 raw", "AUC attr", "AUC raw",
                "TPR@1% attr", "raw", "TPR@0.1% attr", "raw");
        for (Map.Entry<String, Predicate<LabelledSuspect>> row : rows.entrySet()) {
            List<Scored> pos = scored.stream().filter(s -> s.suspect().truth() == Truth.DISTILLED
                    && row.getValue().test(s.suspect())).toList();
            if (pos.isEmpty()) {
                continue;
            }
            List<String> stresses = pos.stream().map(s -> s.suspect().stress()).distinct().toList();
            List<Scored> neg = scored.stream().filter(s -> s.suspect().truth().isNegative()
                    && stresses.contains(s.suspect().stress())).toList();
            double[] pa = pos.stream().mapToDouble(Scored::attributionScore).toArray();
            double[] na = neg.stream().mapToDouble(Scored::attributionScore).toArray();
            double[] pr = pos.stream().mapToDouble(Scored::rawScore).toArray();
            double[] nr = neg.stream().mapToDouble(Scored::rawScore).toArray();
            t.add(row.getKey(), Integer.toString(pos.size()),
                    fraction(pos.stream().filter(Scored::detected).count(), pos.size()),
                    fraction(pos.stream().filter(s -> s.attributionTop1().equals(s.suspect().teacher())).count(),
                            pos.size()),
                    fraction(pos.stream().filter(s -> s.rawTop1().equals(s.suspect().teacher())).count(), pos.size()),
                    number(DetectionMetrics.auc(pa, na)), number(DetectionMetrics.auc(pr, nr)),
                    number(DetectionMetrics.tprAtFpr(pa, na, 0.01)), number(DetectionMetrics.tprAtFpr(pr, nr, 0.01)),
                    number(DetectionMetrics.tprAtFpr(pa, na, 0.001)),
                    number(DetectionMetrics.tprAtFpr(pr, nr, 0.001)));
        }
        return t.render() + "  (AUC and TPR against the negatives under the same stress; with fewer than 1/FPR "
                + "negatives, TPR@FPR counts students above every negative)\n";
    }

    private String negatives() {
        Map<String, Predicate<LabelledSuspect>> rows = new LinkedHashMap<>();
        for (Scored s : scored) {
            if (s.suspect().truth().isNegative()) {
                String c = s.suspect().condition();
                rows.putIfAbsent(c, x -> x.condition().equals(c));
            }
        }
        rows.put("all sharing a reference base", x -> x.truth() == Truth.SHARES_A_BASE);
        rows.put("all negatives", x -> true);
        Table t = new Table("negative condition", "n", "DISTILLED_FROM", "rate", "95% CI", "SAME_FAMILY",
                "INDEPENDENT", "INCONCLUSIVE");
        for (Map.Entry<String, Predicate<LabelledSuspect>> row : rows.entrySet()) {
            List<Scored> neg = scored.stream().filter(s -> s.suspect().truth().isNegative()
                    && row.getValue().test(s.suspect())).toList();
            if (neg.isEmpty()) {
                continue;
            }
            int k = (int) neg.stream().filter(Scored::falselyDistilled).count();
            double[] ci = DetectionMetrics.wilson(k, neg.size());
            t.add(row.getKey(), Integer.toString(neg.size()), Integer.toString(k), number(k / (double) neg.size()),
                    String.format(Locale.ROOT, "[%.3f, %.3f]", ci[0], ci[1]),
                    fraction(count(neg, Verdict.SAME_FAMILY), neg.size()),
                    fraction(count(neg, Verdict.INDEPENDENT), neg.size()),
                    fraction(count(neg, Verdict.INCONCLUSIVE), neg.size()));
        }
        return t.render();
    }

    private String confusion() {
        Table t = new Table("truth \\ verdict", "DISTILLED_FROM right", "DISTILLED_FROM other", "SAME_FAMILY",
                "INDEPENDENT", "INCONCLUSIVE");
        for (Truth truth : Truth.values()) {
            List<Scored> rows = scored.stream().filter(s -> s.suspect().truth() == truth).toList();
            if (rows.isEmpty()) {
                continue;
            }
            Map<Verdict, Integer> counts = new EnumMap<>(Verdict.class);
            rows.forEach(s -> counts.merge(s.attribution().verdict(), 1, Integer::sum));
            long right = rows.stream().filter(Scored::detected).count();
            t.add(truth.name() + " (" + rows.size() + ")", Long.toString(right),
                    Long.toString(counts.getOrDefault(Verdict.DISTILLED_FROM, 0) - right),
                    Integer.toString(counts.getOrDefault(Verdict.SAME_FAMILY, 0)),
                    Integer.toString(counts.getOrDefault(Verdict.INDEPENDENT, 0)),
                    Integer.toString(counts.getOrDefault(Verdict.INCONCLUSIVE, 0)));
        }
        return t.render();
    }

    private static long count(List<Scored> rows, Verdict v) {
        return rows.stream().filter(s -> s.attribution().verdict() == v).count();
    }

    private static String fraction(long k, int n) {
        return String.format(Locale.ROOT, "%.2f", k / (double) n);
    }

    private static String number(double x) {
        return Double.isNaN(x) ? "-" : String.format(Locale.ROOT, "%.3f", x);
    }

    /** A text table: the first column left-aligned, the others right-aligned. */
    private static final class Table {
        private final List<String[]> rows = new ArrayList<>();

        Table(String... header) {
            rows.add(header);
        }

        void add(String... cells) {
            rows.add(cells);
        }

        String render() {
            int[] width = new int[rows.get(0).length];
            for (String[] r : rows) {
                for (int c = 0; c < r.length; c++) {
                    width[c] = Math.max(width[c], r[c].length());
                }
            }
            StringBuilder out = new StringBuilder();
            for (String[] r : rows) {
                StringBuilder line = new StringBuilder(" ");
                for (int c = 0; c < r.length; c++) {
                    String pad = " ".repeat(width[c] - r[c].length());
                    line.append(' ').append(c == 0 ? r[c] + pad : pad + r[c]);
                }
                out.append(line.toString().stripTrailing()).append('\n');
            }
            return out.toString();
        }
    }
}
