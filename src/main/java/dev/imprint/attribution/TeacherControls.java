package dev.imprint.attribution;

import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * What a candidate teacher A must beat, per probe, on the {@link PanelRegression} coefficients:
 * its siblings together (the sum of their coefficients), and every member outside its family on
 * its own.
 *
 * <p>Why the siblings are summed. A model that shares A's base (a sibling, the base itself)
 * spreads its weight over the whole family, so its coefficient on A is about 1/k of the family's;
 * it can lean to A, but it cannot outweigh A's siblings together. A student of A that starts from
 * a base of its own has its weight on A alone. Comparing A with each sibling singly would let a
 * lean pass as a copy.
 */
final class TeacherControls {
    /** One control: a name for the reader and its per-probe coefficient. */
    record Control(String name, double[] series) {
    }

    private TeacherControls() {}

    /** The controls of {@code candidate}, its siblings' sum first (when it has siblings). */
    static List<Control> of(Panel panel, double[][] beta, int candidate) {
        int n = beta[candidate].length;
        List<Control> out = new ArrayList<>();
        Panel.Family family = panel.families().get(panel.familyOf(candidate));
        if (family.size() >= 2) {
            double[] sum = new double[n];
            StringJoiner name = new StringJoiner("+");
            for (int s : family.members()) {
                if (s != candidate) {
                    name.add(panel.member(s).modelId());
                    for (int j = 0; j < n; j++) {
                        sum[j] += beta[s][j];
                    }
                }
            }
            out.add(new Control(name.toString(), sum));
        }
        for (int c = 0; c < panel.size(); c++) {
            if (panel.familyOf(c) != panel.familyOf(candidate)) {
                out.add(new Control(panel.member(c).modelId(), beta[c]));
            }
        }
        return out;
    }

    /**
     * The mean over probes of the strongest control of {@code candidate}, from the members' means:
     * max(sum of its siblings' means, each outsider's mean); -∞ for a panel of one.
     */
    static double strongestMean(Panel panel, double[] memberMean, int candidate) {
        double best = Double.NEGATIVE_INFINITY;
        Panel.Family family = panel.families().get(panel.familyOf(candidate));
        if (family.size() >= 2) {
            double sum = 0;
            for (int s : family.members()) {
                if (s != candidate) {
                    sum += memberMean[s];
                }
            }
            best = sum;
        }
        for (int c = 0; c < panel.size(); c++) {
            if (panel.familyOf(c) != panel.familyOf(candidate)) {
                best = Math.max(best, memberMean[c]);
            }
        }
        return best;
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return v.length == 0 ? 0 : s / v.length;
    }
}
