package dev.imprint.report;

import static dev.imprint.report.Html.escape;
import static dev.imprint.report.Html.number;
import static dev.imprint.report.Html.px;

import dev.imprint.core.Attribution;

/**
 * An SVG bar chart of one {@link Attribution.Evidence}: per probe, how much more of the suspect
 * the candidate explains than the control (the difference of the per-probe statistic), strongest
 * first. Bars right of zero favour the candidate.
 */
final class EvidenceBars {
    private static final int WIDTH = 640;
    private static final int BAR_H = 16;
    private static final int LABEL_W = 92;
    private static final int MARGIN = 12;

    private EvidenceBars() {}

    /** Renders {@code evidence}; {@code statistic} names the per-probe statistic, e.g. "ridge_coefficient". */
    static String svg(Attribution.Evidence evidence, String statistic) {
        int n = evidence.probes().length;
        double max = 0;
        double min = 0;
        for (double c : evidence.contributions()) {
            max = Math.max(max, c);
            min = Math.min(min, c);
        }
        double span = max - min == 0 ? 1 : max - min;
        double plotW = WIDTH - LABEL_W - 2 * MARGIN - 64;
        double zeroX = LABEL_W + MARGIN + plotW * (-min / span);
        int height = MARGIN * 2 + n * BAR_H + 20;
        StringBuilder s = new StringBuilder();
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"evidence-bars\" role=\"img\" width=\"")
                .append(WIDTH).append("\" height=\"").append(height).append("\" viewBox=\"0 0 ").append(WIDTH)
                .append(' ').append(height).append("\">\n<title>").append(escape("per-probe " + statistic + " of "
                        + evidence.modelId() + " minus that of " + evidence.controlId())).append("</title>\n");
        for (int i = 0; i < n; i++) {
            double c = evidence.contributions()[i];
            double y = MARGIN + i * BAR_H;
            double x = LABEL_W + MARGIN + plotW * ((Math.min(c, 0) - min) / span);
            double w = plotW * Math.abs(c) / span;
            s.append("<text class=\"tick\" x=\"").append(LABEL_W).append("\" y=\"").append(px(y + BAR_H * 0.72))
                    .append("\" text-anchor=\"end\">probe ").append(evidence.probes()[i]).append("</text>\n");
            s.append("<rect x=\"").append(px(x)).append("\" y=\"").append(px(y + 2)).append("\" width=\"")
                    .append(px(Math.max(w, 0.5))).append("\" height=\"").append(BAR_H - 4).append("\" fill=\"")
                    .append(c >= 0 ? "#2b8cbe" : "#bdbdbd").append("\"><title>probe ").append(evidence.probes()[i])
                    .append(": ").append(number(c)).append("</title></rect>\n");
            s.append("<text class=\"tick\" x=\"").append(px(Math.max(x + w, zeroX) + 4)).append("\" y=\"")
                    .append(px(y + BAR_H * 0.72)).append("\">").append(number(c)).append("</text>\n");
        }
        double bottom = MARGIN + n * BAR_H;
        s.append("<line x1=\"").append(px(zeroX)).append("\" y1=\"").append(MARGIN - 2).append("\" x2=\"")
                .append(px(zeroX)).append("\" y2=\"").append(px(bottom + 2)).append("\" stroke=\"#444444\"/>\n");
        s.append("<text class=\"axis\" x=\"").append(px(zeroX)).append("\" y=\"").append(px(bottom + 16))
                .append("\" text-anchor=\"middle\">0 (no preference); right favours ")
                .append(escape(evidence.modelId())).append("</text>\n");
        s.append("</svg>\n");
        return s.toString();
    }
}
