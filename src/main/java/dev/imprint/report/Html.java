package dev.imprint.report;

import java.util.Locale;

/** Escaping and number formatting for the report's HTML and inline SVG. */
final class Html {
    private Html() {}

    /**
     * {@code s} safe as element text and as a quoted attribute value, in HTML and in SVG: every
     * character that could end a text run or an attribute ({@code & < > " '}) becomes a reference.
     * Model ids, labels and suspect ids are user data, so everything drawn from them passes here.
     */
    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /** A p-value as the verdicts print it: 4 decimals, or 3 significant digits below 1e-4; "n/a" for NaN. */
    static String pValue(double p) {
        if (Double.isNaN(p)) {
            return "n/a";
        }
        return p < 1e-4 ? String.format(Locale.ROOT, "%.2e", p) : String.format(Locale.ROOT, "%.4f", p);
    }

    /** A metric value or statistic with 4 significant digits; "n/a" for NaN. */
    static String number(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        return String.format(Locale.ROOT, "%.4g", v);
    }

    /** A coordinate for SVG, to a tenth of a pixel, always with a dot. */
    static String px(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
