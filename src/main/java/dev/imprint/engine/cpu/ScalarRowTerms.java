package dev.imprint.engine.cpu;

/** {@link RowTerms} on plain Java: independent partial sums and {@link FastLog}. */
final class ScalarRowTerms implements RowTerms {
    static final ScalarRowTerms INSTANCE = new ScalarRowTerms();

    private ScalarRowTerms() {}

    @Override
    public double sumOfSquares(float[] row, int base, int dim) {
        // Four independent sums: one would wait on the latency of every add.
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int k = 0;
        for (; k + 3 < dim; k += 4) {
            double v0 = row[base + k];
            double v1 = row[base + k + 1];
            double v2 = row[base + k + 2];
            double v3 = row[base + k + 3];
            s0 += v0 * v0;
            s1 += v1 * v1;
            s2 += v2 * v2;
            s3 += v3 * v3;
        }
        for (; k < dim; k++) {
            double v = row[base + k];
            s0 += v * v;
        }
        return (s0 + s1) + (s2 + s3);
    }

    @Override
    public void scale(float[] row, int base, int dim, float factor, float[] out, int off) {
        for (int k = 0; k < dim; k++) {
            out[off + k] = row[base + k] * factor;
        }
    }

    @Override
    public int argmax(float[] row, int base, int dim) {
        int best = 0;
        for (int k = 1; k < dim; k++) {
            if (row[base + k] > row[base + best]) {
                best = k;
            }
        }
        return best;
    }

    @Override
    public void smoothedLogs(float[] row, int base, int dim, double eps, double scale, float[] logs, int logOff,
                             float[] smooth, int smoothOff, double[] negEntropy, double[] logSum, int at) {
        double negH = 0;
        double sum = 0;
        for (int k = 0; k < dim; k++) {
            double t = (row[base + k] + eps) * scale;
            double lt = FastLog.ln(t);
            negH += t * lt;
            sum += lt;
            logs[logOff + k] = (float) lt;
            smooth[smoothOff + k] = (float) t;
        }
        negEntropy[at] = negH;
        logSum[at] = sum;
    }
}
