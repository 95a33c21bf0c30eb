package dev.imprint.attribution;

import dev.imprint.core.Attribution;
import dev.imprint.core.Verdict;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Turns one suspect's per-probe coefficients on a panel into a verdict, following the
 * model-provenance test of Nikolić et al. (2025), extended to families.
 *
 * <p><b>Teacher test.</b> The statistic is the suspect's {@link PanelRegression} coefficients:
 * how much of it each member explains, all members at once. For a candidate A and each of its
 * {@link TeacherControls} (its siblings together, and every member outside its family alone, the
 * background included), the per-probe differences d_p = β_p(A) − control_p go through the exact
 * one-sided {@link SignedRankTest}: probes are the exchangeable units. "A explains more than every
 * control" is an intersection-union test, so its p-value is the largest of the pairwise ones
 * (Berger 1982). Across candidates the family-wise error is controlled with Holm:
 * since at most one candidate can be closer than all the others, only the smallest p can be a true
 * discovery, and its Holm adjustment is min(1, m p) for m candidates.
 *
 * <p><b>Family test.</b> When no single model stands out, a family F of at least two references is
 * tested the same way, on the sum of its members' coefficients against every other family's sum
 * (singletons and the background included), Holm-adjusted across the testable families.
 *
 * <p><b>Model-level calibration.</b> The probe-level p answers "closer on average over these
 * probes", which an independent model often is to some reference. Every candidate's p is therefore
 * also the {@link PanelNull} p of its statistic against the panel's own references scored as
 * suspects, and the p reported is the larger of the two: an intersection-union of both tests, valid
 * if either null holds.
 *
 * <p>The coefficients come from the engine (see README "Attribution"); nothing here knows how
 * they were computed. Cost per suspect: one test per candidate against its strongest control,
 * plus a full intersection-union test for the candidates that could have the smallest p and for
 * those the caller asks p-values of: linear in the panel size for a bounded number of those.
 */
public final class Attributor {
    /** Fewer references than this cannot separate a teacher from what models share. */
    public static final int MIN_REFERENCES = 3;
    /** How many probes each evidence entry lists. */
    public static final int EVIDENCE_PROBES = 16;

    private Attributor() {}

    /**
     * The verdict, and per member the adjusted p-value of "this is the teacher" (NaN where it was
     * not computed or the member is background).
     */
    public record Outcome(Attribution attribution, double[] memberPValues) {
    }

    /**
     * Attributes one suspect.
     *
     * @param memberSim    [M][N]: per panel member, its per-probe {@link PanelRegression} coefficient
     * @param familySim    [F][N]: per panel family (in {@link Panel#families()} order), the sum of its
     *                     members' coefficients
     * @param probes       the probe-set indices of the N probes, for the evidence
     * @param alpha        in (0, 0.5]
     * @param pValuesFor   members whose adjusted p-value the caller wants exactly
     * @param statistic    the name of the per-probe statistic, reported with the verdict
     * @param nullValues   the {@link PanelNull} values of this panel on these probes
     */
    public static Outcome attribute(Panel panel, double[][] memberSim, double[][] familySim, int[] probes,
                                    double alpha, int[] pValuesFor, String statistic, double[] nullValues) {
        int m = panel.size();
        int n = probes.length;
        double[] memberP = new double[m];
        Arrays.fill(memberP, Double.NaN);
        int candidates = panel.candidateCount();
        if (m < MIN_REFERENCES || candidates == 0) {
            String why = candidates == 0
                    ? "the panel holds no protected reference to attribute to"
                    : String.format("only %d reference%s selected; at least %d are needed to tell a teacher from "
                    + "what models share", m, m == 1 ? " is" : "s are", MIN_REFERENCES);
            return new Outcome(inconclusive("", "", 1, alpha, why, 0, n, statistic, List.of()), memberP);
        }
        long usable = Arrays.stream(nullValues).filter(Double::isFinite).count();
        if (usable < PanelNull.MIN_VALUES) {
            return new Outcome(inconclusive("", "", 1, alpha, String.format("only %d reference%s could be scored as "
                    + "independent pseudo-suspects to calibrate against; at least %d are needed (register more "
                    + "references, or background models)", usable, usable == 1 ? "" : "s", PanelNull.MIN_VALUES),
                    0, n, statistic, List.of()), memberP);
        }
        int needed = probesNeeded(candidates, alpha);
        if (n < needed) {
            return new Outcome(inconclusive("", "", 1, alpha, String.format(
                    "only %d probes were answered; with %d candidate%s, even a perfect match needs at least %d "
                            + "to reach alpha=%s", n, candidates, candidates == 1 ? "" : "s", needed, alpha),
                    0, n, statistic, List.of()), memberP);
        }

        double[] mean = new double[m];
        for (int i = 0; i < m; i++) {
            mean[i] = TeacherControls.mean(memberSim[i]);
        }

        PairedTests tests = new PairedTests(memberSim);
        // A lower bound on each candidate's intersection-union p: its test against its strongest control.
        double[] lowerBound = new double[m];
        Comparison[] full = new Comparison[m];
        for (int i = 0; i < m; i++) {
            if (!panel.member(i).isCandidate()) {
                continue;
            }
            TeacherControls.Control strongest = TeacherControls.strongest(panel, memberSim, mean, i);
            lowerBound[i] = tests.test(i, strongest).pValue();
        }
        for (int i : pValuesFor) {
            if (panel.member(i).isCandidate()) {
                full[i] = intersectionUnion(panel, memberSim, tests, i);
            }
        }
        // The smallest p: exact for every candidate whose bound does not rule it out.
        Integer[] byBound = IntStream.range(0, m).filter(i -> panel.member(i).isCandidate()).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> lowerBound[i]).thenComparingDouble(i -> -mean[i]))
                .toArray(Integer[]::new);
        int best = -1;
        for (int i : byBound) {
            if (best >= 0 && lowerBound[i] > full[best].p) {
                break;
            }
            if (full[i] == null) {
                full[i] = intersectionUnion(panel, memberSim, tests, i);
            }
            if (best < 0 || full[i].p < full[best].p || (full[i].p == full[best].p && mean[i] > mean[best])) {
                best = i;
            }
        }
        double[] modelStatistic = PanelNull.candidateStatistics(panel, memberSim);
        double[] modelP = new double[m];
        for (int i = 0; i < m; i++) {
            if (full[i] != null) {
                modelP[i] = PanelNull.pValue(nullValues, modelStatistic[i]);
                memberP[i] = Math.max(Math.min(1, candidates * full[i].p), modelP[i]);
            }
        }
        Comparison top = full[best];
        double adjusted = memberP[best];
        Panel.Member teacher = panel.member(best);
        Panel.Family teacherFamily = panel.families().get(panel.familyOf(best));
        String familyName = teacherFamily.labelled() ? teacherFamily.name() : "";
        List<Attribution.Evidence> evidence = new ArrayList<>();
        evidence.add(evidence(panel, memberSim, best, top, probes));
        // The runner-up's case too, so a reader sees what the teacher was weighed against.
        int second = -1;
        for (int i = 0; i < m; i++) {
            if (i != best && full[i] != null && (second < 0 || full[i].p < full[second].p)) {
                second = i;
            }
        }
        if (second >= 0) {
            evidence.add(evidence(panel, memberSim, second, full[second], probes));
        }
        String control = top.control.name();

        if (adjusted <= alpha) {
            if (teacherFamily.size() >= 2) {
                return new Outcome(new Attribution(Verdict.DISTILLED_FROM, teacher.modelId(), familyName, adjusted,
                        alpha, String.format("distilled from %s: %s explains more of it than every other reference "
                                + "does and than its %d sibling%s do together, and by more than the panel's own models "
                                + "get (adjusted p=%s <= alpha=%s; hardest control %s)",
                        teacher.modelId(), teacher.modelId(), teacherFamily.size() - 1,
                        teacherFamily.size() == 2 ? "" : "s", format(adjusted), alpha, control),
                        top.effect, top.n, statistic, evidence), memberP);
            }
            return new Outcome(inconclusive(teacher.modelId(), familyName, adjusted, alpha, String.format(
                    "closest to %s (adjusted p=%s), but %s has no sibling in the panel, so distillation from it "
                            + "cannot be told from sharing its base; register a sibling of %s%s",
                    teacher.modelId(), format(adjusted), teacher.modelId(), teacher.modelId(),
                    teacher.family() == null ? " and label both with family=" : " with the same family label"),
                    top.effect, top.n, statistic, evidence), memberP);
        }

        FamilyResult family = familyTest(panel, familySim);
        if (family != null && family.adjusted <= alpha) {
            Panel.Family f = panel.families().get(family.index);
            return new Outcome(new Attribution(Verdict.SAME_FAMILY, teacher.modelId(), f.name(), family.adjusted,
                    alpha, String.format("same family as %s: closer to the family's %d references than to the rest "
                            + "(adjusted p=%s), but no single one stands out (closest %s, adjusted p=%s)", f.name(),
                    f.size(), format(family.adjusted), teacher.modelId(), format(adjusted)),
                    family.effect, family.n, statistic, evidence), memberP);
        }
        return new Outcome(new Attribution(Verdict.INDEPENDENT, teacher.modelId(), familyName, adjusted, alpha,
                String.format("independent: no reference or family is closer than the rest of the panel and the "
                        + "background (closest %s, adjusted p=%s > alpha=%s)", teacher.modelId(), format(adjusted),
                        alpha), top.effect, top.n, statistic, evidence), memberP);
    }

    /**
     * INCONCLUSIVE for a reason found before attributing (the panel cannot be attributed as
     * selected): no member gets a p-value.
     */
    public static Outcome inconclusive(Panel panel, int probes, double alpha, String reason, String statistic) {
        double[] memberP = new double[panel.size()];
        Arrays.fill(memberP, Double.NaN);
        return new Outcome(inconclusive("", "", 1, alpha, reason, 0, probes, statistic, List.of()), memberP);
    }

    /** The fewest probes at which a perfect match can reach {@code alpha} among {@code candidates}: 2^-n m <= alpha. */
    public static int probesNeeded(int candidates, double alpha) {
        return (int) Math.ceil(Math.log(candidates / alpha) / Math.log(2) - 1e-12);
    }

    /** A candidate's intersection-union test: its p and the control that set it. */
    private record Comparison(double p, TeacherControls.Control control, double effect, int n) {
    }

    private static Comparison intersectionUnion(Panel panel, double[][] beta, PairedTests tests, int candidate) {
        Comparison worst = null;
        for (TeacherControls.Control c : TeacherControls.of(panel, beta, candidate)) {
            SignedRankTest.Result r = tests.test(candidate, c);
            if (worst == null || r.pValue() > worst.p || (r.pValue() == worst.p && r.effectSize() < worst.effect)) {
                worst = new Comparison(r.pValue(), c, r.effectSize(), r.n());
            }
        }
        return worst;
    }

    /** The family test's outcome for one family (its control is the family that set its p). */
    private record FamilyComparison(double p, double effect, int n) {
    }

    private record FamilyResult(int index, double adjusted, double effect, int n) {
    }

    private static FamilyResult familyTest(Panel panel, double[][] familySim) {
        List<Panel.Family> families = panel.families();
        List<Integer> testable = new ArrayList<>();
        for (int f = 0; f < families.size(); f++) {
            if (families.get(f).size() >= 2 && families.get(f).hasCandidate()) {
                testable.add(f);
            }
        }
        if (testable.isEmpty() || families.size() < 2) {
            return null;
        }
        FamilyResult best = null;
        for (int f : testable) {
            FamilyComparison worst = null;
            for (int g = 0; g < families.size(); g++) {
                if (g == f) {
                    continue;
                }
                SignedRankTest.Result r = SignedRankTest.greater(difference(familySim[f], familySim[g]));
                if (worst == null || r.pValue() > worst.p) {
                    worst = new FamilyComparison(r.pValue(), r.effectSize(), r.n());
                }
            }
            double adjusted = Math.min(1, testable.size() * worst.p);
            if (best == null || adjusted < best.adjusted) {
                best = new FamilyResult(f, adjusted, worst.effect, worst.n);
            }
        }
        return best;
    }

    private static Attribution.Evidence evidence(Panel panel, double[][] sim, int candidate, Comparison c,
                                                 int[] probes) {
        double[] d = difference(sim[candidate], c.control.series());
        Integer[] order = IntStream.range(0, d.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -d[i]).thenComparingInt(i -> i));
        int keep = Math.min(EVIDENCE_PROBES, d.length);
        int[] which = new int[keep];
        double[] contribution = new double[keep];
        for (int i = 0; i < keep; i++) {
            which[i] = probes[order[i]];
            contribution[i] = d[order[i]];
        }
        return new Attribution.Evidence(panel.member(candidate).modelId(), c.control.name(), which, contribution,
                c.p);
    }

    private static Attribution inconclusive(String modelId, String family, double p, double alpha, String reason,
                                            double effect, int n, String statistic,
                                            List<Attribution.Evidence> evidence) {
        return new Attribution(Verdict.INCONCLUSIVE, modelId, family, p, alpha, "inconclusive: " + reason, effect, n,
                statistic, evidence);
    }

    static double[] difference(double[] a, double[] b) {
        double[] d = new double[a.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = a[i] - b[i];
        }
        return d;
    }

    private static String format(double p) {
        return p < 1e-4 ? String.format("%.2e", p) : String.format("%.4f", p);
    }
}
