package dev.imprint.report;

import static dev.imprint.report.Html.escape;
import static dev.imprint.report.Html.pValue;
import static dev.imprint.report.Html.px;

import dev.imprint.attribution.SignedRankTest;
import dev.imprint.core.Attribution;

/**
 * An SVG plot of the signed-rank statistic's null distribution with the observed W+ marked and
 * the upper tail P(W+ >= observed) shaded.
 *
 * <p>The null is exact for n untied ranks ({@link SignedRankTest#untiedNullDistribution}) up to
 * {@link SignedRankTest#EXACT_LIMIT}, and above it the normal approximation N(n(n+1)/4,
 * n(n+1)(2n+1)/24) at each integer W+, where the test itself switches to it. The per-probe
 * differences are real-valued, so ties, which would shift the null slightly, do not occur in
 * practice. The x axis spans every possible
 * W+, 0 to n(n+1)/2, so a reader sees how far the observation sits from "no preference" (the
 * middle) and from "every probe prefers the candidate" (the right end).
 */
final class NullDistributionPlot {
    private static final int WIDTH = 640;
    private static final int HEIGHT = 220;
    private static final int MARGIN_L = 48;
    private static final int MARGIN_R = 16;
    private static final int MARGIN_T = 30;
    private static final int MARGIN_B = 40;
    private static final int BINS = 240;

    private NullDistributionPlot() {}

    /** The plot's numbers: the binned null mass and the exact tail at the observation. */
    record Null(int n, double observed, double[] binMass, double tail) {
    }

    /**
     * The observed W+ of the test a verdict rests on, from the n and the rank-biserial correlation
     * r = (W+ - W-) / (W+ + W-) it carries: W+ + W- = n(n+1)/2, so W+ = (1 + r) n(n+1)/4, rounded
     * to the nearest half (mid-ranks make W+ a multiple of 1/2).
     */
    static double observedWPlus(Attribution a) {
        int n = a.probesUsed();
        return Math.round((1 + a.effectSize()) * n * (n + 1) / 4.0 * 2) / 2.0;
    }

    /**
     * The null of W+ for {@code n} untied ranks, summed into at most {@value #BINS} equal bins over
     * 0..n(n+1)/2, and P(W+ >= observed).
     */
    static Null compute(int n, double observed) {
        int total = n * (n + 1) / 2;
        int bins = Math.min(BINS, total + 1);
        double[] mass = n <= SignedRankTest.EXACT_LIMIT ? SignedRankTest.untiedNullDistribution(n) : normal(n);
        double[] binMass = new double[bins];
        double tail = 0;
        for (int w = 0; w <= total; w++) {
            binMass[(int) ((long) w * bins / (total + 1))] += mass[w];
            if (w >= observed - 1e-9) {
                tail += mass[w];
            }
        }
        return new Null(n, observed, binMass, Math.min(1, tail));
    }

    /** The normal approximation's probability of each integer W+, its density there (unit spacing). */
    private static double[] normal(int n) {
        int total = n * (n + 1) / 2;
        double mean = total / 2.0;
        double sd = Math.sqrt(n * (n + 1.0) * (2 * n + 1) / 24);
        double[] mass = new double[total + 1];
        for (int w = 0; w <= total; w++) {
            double z = (w - mean) / sd;
            mass[w] = Math.exp(-0.5 * z * z) / (sd * Math.sqrt(2 * Math.PI));
        }
        return mass;
    }

    /**
     * Renders the plot.
     *
     * @param caption what the test compared, for the plot's accessible title
     */
    static String svg(Null nul, String caption) {
        int total = nul.n * (nul.n + 1) / 2;
        double plotW = WIDTH - MARGIN_L - MARGIN_R;
        double plotH = HEIGHT - MARGIN_T - MARGIN_B;
        double max = 0;
        for (double m : nul.binMass) {
            max = Math.max(max, m);
        }
        int bins = nul.binMass.length;
        double barW = plotW / bins;
        StringBuilder s = new StringBuilder();
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"null-plot\" role=\"img\" width=\"").append(WIDTH)
                .append("\" height=\"").append(HEIGHT).append("\" viewBox=\"0 0 ").append(WIDTH).append(' ')
                .append(HEIGHT).append("\">\n<title>").append(escape(caption)).append("</title>\n");
        for (int b = 0; b < bins; b++) {
            double h = max == 0 ? 0 : plotH * nul.binMass[b] / max;
            double binFrom = (double) b * (total + 1) / bins;
            boolean inTail = binFrom + (double) (total + 1) / bins > nul.observed;
            s.append("<rect x=\"").append(px(MARGIN_L + b * barW)).append("\" y=\"").append(px(MARGIN_T + plotH - h))
                    .append("\" width=\"").append(px(Math.max(barW, 0.6))).append("\" height=\"").append(px(h))
                    .append("\" fill=\"").append(inTail ? "#d62728" : "#9ecae1").append("\"/>\n");
        }
        double axisY = MARGIN_T + plotH;
        s.append("<line x1=\"").append(MARGIN_L).append("\" y1=\"").append(px(axisY)).append("\" x2=\"")
                .append(px(MARGIN_L + plotW)).append("\" y2=\"").append(px(axisY)).append("\" stroke=\"#444444\"/>\n");
        for (int tick = 0; tick <= 4; tick++) {
            double w = total * tick / 4.0;
            double x = MARGIN_L + plotW * tick / 4.0;
            s.append("<text class=\"tick\" x=\"").append(px(x)).append("\" y=\"").append(px(axisY + 14))
                    .append("\" text-anchor=\"middle\">").append(Math.round(w)).append("</text>\n");
        }
        s.append("<text class=\"axis\" x=\"").append(px(MARGIN_L + plotW / 2)).append("\" y=\"")
                .append(HEIGHT - 6).append("\" text-anchor=\"middle\">W+ (sum of the ranks of the probes that favour "
                        + "the candidate), n=").append(nul.n).append("</text>\n");
        s.append("<text class=\"axis\" transform=\"translate(14,").append(px(MARGIN_T + plotH / 2))
                .append(") rotate(-90)\" text-anchor=\"middle\">null probability</text>\n");
        double ox = MARGIN_L + plotW * (total == 0 ? 0 : nul.observed / total);
        s.append("<line class=\"observed\" x1=\"").append(px(ox)).append("\" y1=\"").append(MARGIN_T)
                .append("\" x2=\"").append(px(ox)).append("\" y2=\"").append(px(axisY))
                .append("\" stroke=\"#d62728\" stroke-width=\"2\"/>\n");
        boolean labelLeft = ox > MARGIN_L + plotW * 0.6;
        s.append("<text class=\"observed-label\" x=\"").append(px(ox + (labelLeft ? -6 : 6))).append("\" y=\"")
                .append(MARGIN_T - 10).append("\" text-anchor=\"").append(labelLeft ? "end" : "start")
                .append("\">observed W+ = ").append(Html.number(nul.observed)).append(", P(W+ ≥ observed) = ")
                .append(pValue(nul.tail)).append("</text>\n");
        s.append("</svg>\n");
        return s.toString();
    }
}
