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
    /**
     * One control: a name for the reader, its per-probe coefficient, and the outsider it is (its
     * member index), or {@link #SIBLINGS} for the siblings' sum.
     */
    record Control(String name, double[] series, int member) {
    }

    private TeacherControls() {}

    /** The controls of {@code candidate}, its siblings' sum first (when it has siblings). */
    static List<Control> of(Panel panel, double[][] beta, int candidate) {
        List<Control> out = new ArrayList<>();
        if (hasSiblings(panel, candidate)) {
            out.add(siblings(panel, beta, candidate));
        }
        for (int c = 0; c < panel.size(); c++) {
            if (panel.familyOf(c) != panel.familyOf(candidate)) {
                out.add(new Control(panel.member(c).modelId(), beta[c], c));
            }
        }
        return out;
    }

    /** The control of {@code candidate} with the largest mean, building only its series. */
    static Control strongest(Panel panel, double[][] beta, double[] memberMean, int candidate) {
        int c = strongestIndex(panel, memberMean, candidate);
        return c == SIBLINGS ? siblings(panel, beta, candidate) : new Control(panel.member(c).modelId(), beta[c], c);
    }

    /**
     * The mean over probes of the strongest control of {@code candidate}, from the members' means:
     * max(sum of its siblings' means, each outsider's mean); -∞ for a panel of one.
     */
    static double strongestMean(Panel panel, double[] memberMean, int candidate) {
        int c = strongestIndex(panel, memberMean, candidate);
        return c == SIBLINGS ? siblingMean(panel, memberMean, candidate)
                : c < 0 ? Double.NEGATIVE_INFINITY : memberMean[c];
    }

    /** Stands for the siblings' sum in {@link #strongestIndex} and {@link Control#member}. */
    static final int SIBLINGS = -1;

    /** The strongest control: {@link #SIBLINGS}, an outsider's index, or -2 when there is none. */
    private static int strongestIndex(Panel panel, double[] memberMean, int candidate) {
        int best = -2;
        double bestMean = Double.NEGATIVE_INFINITY;
        if (hasSiblings(panel, candidate)) {
            best = SIBLINGS;
            bestMean = siblingMean(panel, memberMean, candidate);
        }
        for (int c = 0; c < panel.size(); c++) {
            if (panel.familyOf(c) != panel.familyOf(candidate) && (best == -2 || memberMean[c] > bestMean)) {
                best = c;
                bestMean = memberMean[c];
            }
        }
        return best;
    }

    private static boolean hasSiblings(Panel panel, int candidate) {
        return panel.families().get(panel.familyOf(candidate)).size() >= 2;
    }

    private static double siblingMean(Panel panel, double[] memberMean, int candidate) {
        double sum = 0;
        for (int s : panel.families().get(panel.familyOf(candidate)).members()) {
            if (s != candidate) {
                sum += memberMean[s];
            }
        }
        return sum;
    }

    private static Control siblings(Panel panel, double[][] beta, int candidate) {
        double[] sum = new double[beta[candidate].length];
        StringJoiner name = new StringJoiner("+");
        for (int s : panel.families().get(panel.familyOf(candidate)).members()) {
            if (s != candidate) {
                name.add(panel.member(s).modelId());
                for (int j = 0; j < sum.length; j++) {
                    sum[j] += beta[s][j];
                }
            }
        }
        return new Control(name.toString(), sum, SIBLINGS);
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return v.length == 0 ? 0 : s / v.length;
    }
}
