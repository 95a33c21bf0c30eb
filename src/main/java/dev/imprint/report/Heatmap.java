package dev.imprint.report;

import static dev.imprint.report.Html.escape;
import static dev.imprint.report.Html.number;
import static dev.imprint.report.Html.px;

import java.util.List;

/**
 * An SVG heatmap of one metric, suspects × references. Colour runs from pale (farthest) to dark
 * (closest) over each row's own range, whichever way the metric points: suspects differ in scale
 * (one that answered few probes has smaller divergences to everything), and what a reader asks of
 * a row is which references stand out for that suspect. Each cell's exact value is in its tooltip
 * (and printed in it when there is room); a cell without a value is hatched.
 */
final class Heatmap {
    private static final int CELL_H = 22;
    private static final int MAX_LABEL_CHARS = 28;
    /** An estimate of the label font's advance per character, to size the margins without measuring text. */
    private static final double CHAR_W = 6.6;

    private Heatmap() {}

    /**
     * Renders the heatmap.
     *
     * @param rows           suspect ids, top to bottom
     * @param columns        reference ids, left to right
     * @param values         [rows][columns], NaN where there is no value
     * @param higherIsCloser whether a larger value means closer
     * @param marked         [rows][columns], cells to outline (the model a verdict names)
     * @param metricName     shown in the tooltips
     */
    static String svg(List<String> rows, List<String> columns, double[][] values, boolean higherIsCloser,
                      boolean[][] marked, String metricName) {
        int cellW = Math.max(14, Math.min(56, 960 / Math.max(1, columns.size())));
        boolean printValues = cellW >= 44;
        double left = 8 + CHAR_W * Math.min(MAX_LABEL_CHARS, longest(rows));
        // Column labels are turned 45 degrees, so they need about 0.71 of their length above the cells.
        double top = 12 + 0.71 * CHAR_W * Math.min(MAX_LABEL_CHARS, longest(columns));
        double width = left + cellW * columns.size() + 0.71 * CHAR_W * MAX_LABEL_CHARS;
        double height = top + CELL_H * rows.size() + 8;

        StringBuilder s = new StringBuilder();
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"heatmap\" role=\"img\" width=\"").append(px(width))
                .append("\" height=\"").append(px(height)).append("\" viewBox=\"0 0 ").append(px(width)).append(' ')
                .append(px(height)).append("\">\n");
        s.append("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
                + "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f2f2f2\"/>"
                + "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#cccccc\" stroke-width=\"2\"/>"
                + "</pattern></defs>\n");
        for (int c = 0; c < columns.size(); c++) {
            double x = left + c * cellW + cellW / 2.0;
            s.append("<text class=\"col\" transform=\"translate(").append(px(x)).append(',').append(px(top - 4))
                    .append(") rotate(-45)\">").append(escape(shorten(columns.get(c)))).append("<title>")
                    .append(escape(columns.get(c))).append("</title></text>\n");
        }
        for (int r = 0; r < rows.size(); r++) {
            double y = top + r * CELL_H;
            s.append("<text class=\"row\" x=\"").append(px(left - 6)).append("\" y=\"").append(px(y + CELL_H * 0.68))
                    .append("\" text-anchor=\"end\">").append(escape(shorten(rows.get(r)))).append("<title>")
                    .append(escape(rows.get(r))).append("</title></text>\n");
            double lo = Double.POSITIVE_INFINITY;
            double hi = Double.NEGATIVE_INFINITY;
            for (double v : values[r]) {
                if (!Double.isNaN(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
            for (int c = 0; c < columns.size(); c++) {
                double v = values[r][c];
                double x = left + c * cellW;
                double closeness = Double.isNaN(v) ? 0 : hi > lo ? (v - lo) / (hi - lo) : 1;
                if (!higherIsCloser) {
                    closeness = Double.isNaN(v) ? 0 : 1 - closeness;
                }
                s.append("<rect x=\"").append(px(x)).append("\" y=\"").append(px(y)).append("\" width=\"")
                        .append(cellW - 1).append("\" height=\"").append(CELL_H - 1).append("\" fill=\"")
                        .append(Double.isNaN(v) ? "url(#hatch)" : colour(closeness)).append('"');
                if (marked[r][c]) {
                    s.append(" stroke=\"#d62728\" stroke-width=\"2\"");
                }
                s.append("><title>").append(escape(rows.get(r))).append(" vs ").append(escape(columns.get(c)))
                        .append(": ").append(escape(metricName)).append(" = ").append(number(v))
                        .append("</title></rect>\n");
                if (printValues && !Double.isNaN(v)) {
                    // A class, not a fill attribute: the page's CSS would override a presentation attribute.
                    s.append("<text class=\"").append(closeness > 0.55 ? "cell on-dark" : "cell").append("\" x=\"")
                            .append(px(x + cellW / 2.0)).append("\" y=\"").append(px(y + CELL_H * 0.68))
                            .append("\" text-anchor=\"middle\">").append(number(v)).append("</text>\n");
                }
            }
        }
        s.append("</svg>\n");
        return s.toString();
    }

    /** Pale blue (0, farthest) to dark blue (1, closest), linear in RGB. */
    static String colour(double t) {
        int[] far = {0xf7, 0xfb, 0xff};
        int[] near = {0x08, 0x30, 0x6b};
        int[] rgb = new int[3];
        for (int i = 0; i < 3; i++) {
            rgb[i] = (int) Math.round(far[i] + (near[i] - far[i]) * t);
        }
        return String.format(java.util.Locale.ROOT, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
    }

    private static int longest(List<String> labels) {
        int n = 1;
        for (String l : labels) {
            n = Math.max(n, l.length());
        }
        return n;
    }

    private static String shorten(String label) {
        return label.length() <= MAX_LABEL_CHARS ? label : label.substring(0, MAX_LABEL_CHARS - 1) + "…";
    }
}
