package dev.imprint.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Both implementations of {@link RowTerms} against plain float64 loops with {@link Math#log}. */
class RowTermsTest {
    private static final double EPS = 1e-6;

    static Stream<RowTerms> implementations() {
        assertTrue(CpuBackend.vectorKernelsUsable(), "the tests run with --add-modules=jdk.incubator.vector (pom.xml)");
        return Stream.of(ScalarRowTerms.INSTANCE, VectorRowTerms.INSTANCE);
    }

    @ParameterizedTest
    @MethodSource("implementations")
    void matchFloat64AtEveryLengthAroundTheVectorWidth(RowTerms terms) {
        checkAgainstFloat64(terms, new int[] {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 64, 65, 1000, 32768});
    }

    /**
     * Once the JIT has compiled them: the Vector API runs its operations as plain Java until then,
     * and compiled code is what a warm server runs.
     */
    @ParameterizedTest
    @MethodSource("implementations")
    void matchFloat64OnceCompiled(RowTerms terms) {
        float[] row = new float[67];
        java.util.Arrays.fill(row, 1f / 67);
        double[] sink = new double[2];
        float[] room = new float[2 * 67];
        for (int i = 0; i < 30_000; i++) {
            terms.smoothedLogs(row, 0, 67, EPS, 1, room, 0, room, 67, sink, sink, i & 1);
            sink[0] += terms.sumOfSquares(row, 0, 67) + terms.argmax(row, 0, 67);
            terms.scale(row, 0, 67, 2f, row, 0);
            terms.scale(row, 0, 67, 0.5f, row, 0);
        }
        checkAgainstFloat64(terms, new int[] {8, 64, 67, 4096});
    }

    /**
     * The Vector API implementation is a fixed function of its input: t and its logarithm in float
     * (that of {@link BranchFreeLog}), their sums in double lanes in lane order. Checked bit for bit
     * against a scalar model of exactly that, on fresh rows from the first call (interpreted) until
     * long after the JIT has compiled it.
     */
    @org.junit.jupiter.api.Test
    void vectorSumsAndLogsAreTheSameBitsColdAndCompiled() {
        RowTerms terms = VectorRowTerms.INSTANCE;
        SplittableRandom rng = new SplittableRandom(17);
        for (int call = 0; call < 20_000; call++) {
            int dim = 1 + rng.nextInt(80);
            float[] row = new float[dim + 1];
            for (int k = 0; k < dim; k++) {
                row[1 + k] = k % 11 == 0 ? 0f : (float) rng.nextDouble();
            }
            double scale = 1 / (1 + dim * EPS);
            float[] logs = new float[dim];
            float[] smooth = new float[dim];
            double[] negEntropy = new double[1];
            double[] logSum = new double[1];
            terms.smoothedLogs(row, 1, dim, EPS, scale, logs, 0, smooth, 0, negEntropy, logSum, 0);

            // The logarithms run in float lanes, twice as many as the double lanes that sum them:
            // element k of the whole vectors goes to double lane k % LANES, in order of k.
            int lanes = VectorRowTerms.LANES;
            int bound = dim - dim % (2 * lanes);
            double[] negH = new double[lanes];
            double[] ln = new double[lanes];
            double[] sq = new double[lanes];
            int squaredBound = dim - dim % lanes;
            for (int k = 0; k < dim; k++) {
                float t = (row[1 + k] + (float) EPS) * (float) scale;
                float lt = BranchFreeLog.ln(t);
                assertEquals(Float.floatToRawIntBits(lt), Float.floatToRawIntBits(logs[k]), "ln t");
                assertEquals(Float.floatToRawIntBits(t), Float.floatToRawIntBits(smooth[k]), "t");
                if (k < bound) {
                    negH[k % lanes] += t * lt;
                    ln[k % lanes] += lt;
                }
                if (k < squaredBound) {
                    double v = row[1 + k];
                    sq[k % lanes] += v * v;
                }
            }
            double wantNegH = 0;
            double wantLn = 0;
            double wantSq = 0;
            for (int lane = 0; lane < lanes; lane++) {
                wantNegH += negH[lane];
                wantLn += ln[lane];
                wantSq += sq[lane];
            }
            for (int k = bound; k < dim; k++) {
                float t = (row[1 + k] + (float) EPS) * (float) scale;
                float lt = BranchFreeLog.ln(t);
                wantNegH += t * lt;
                wantLn += lt;
            }
            for (int k = squaredBound; k < dim; k++) {
                double v = row[1 + k];
                wantSq += v * v;
            }
            if (Double.doubleToRawLongBits(wantNegH) != Double.doubleToRawLongBits(negEntropy[0])
                    || Double.doubleToRawLongBits(wantLn) != Double.doubleToRawLongBits(logSum[0])
                    || Double.doubleToRawLongBits(wantSq) != Double.doubleToRawLongBits(terms.sumOfSquares(row, 1, dim))) {
                throw new AssertionError("call " + call + ", dim " + dim + ": the sums differ from lane order");
            }
        }
    }

    /** Ties go to the first, wherever it lies against the vector width: top-1 agreement must not depend on the path. */
    @ParameterizedTest
    @MethodSource("implementations")
    void argmaxTakesTheFirstOfTiedLargestValues(RowTerms terms) {
        for (int dim : new int[] {1, 2, 15, 16, 17, 33, 64, 100}) {
            for (int first = 0; first < dim; first += Math.max(1, dim / 7)) {
                float[] row = new float[3 + dim];
                java.util.Arrays.fill(row, -1f);
                row[3 + first] = 0.5f;
                if (first + 1 < dim) {
                    row[3 + dim - 1] = 0.5f;
                }
                row[0] = 9f;
                assertEquals(first, terms.argmax(row, 3, dim), "dim=" + dim + " first=" + first);
            }
        }
        float[] signedZeros = new float[40];
        java.util.Arrays.fill(signedZeros, -1f);
        signedZeros[0] = -0f;
        signedZeros[1] = 0f;
        assertEquals(0, terms.argmax(signedZeros, 0, 40), "-0 and 0 tie, as > sees them");
    }

    private static void checkAgainstFloat64(RowTerms terms, int[] dims) {
        SplittableRandom rng = new SplittableRandom(11);
        for (int dim : dims) {
            // A row after some other values, so offsets that are not vector-aligned are exercised.
            int base = 5;
            float[] row = new float[base + dim];
            double total = 0;
            for (int k = 0; k < dim; k++) {
                // Probabilities over 12 orders of magnitude, some exactly zero.
                row[base + k] = k % 13 == 0 ? 0f : (float) Math.exp(-28 * rng.nextDouble());
                total += row[base + k];
            }
            for (int k = 0; k < dim; k++) {
                row[base + k] = (float) (row[base + k] / Math.max(total, 1e-30));
            }
            double scale = 1 / (1 + dim * EPS);

            double sumSq = 0;
            double negH = 0;
            double lnSum = 0;
            // What float t and float logarithms may move the sums by: t is rounded four times
            // (EPS, scale, the sum, the product), 4u of it, which moves ln t by up to 4u; ln's own
            // error is under 1 ulp (2u of it), and t ln t is rounded once more. So each term of the
            // first sum moves by 7u|t ln t| + 4u t to first order, and of the second by
            // 2u|ln t| + 4u: below, a u more of each for the terms of second order.
            double u = Math.ulp(1f) / 2;
            double negHBound = 0;
            double lnSumBound = 0;
            for (int k = 0; k < dim; k++) {
                double v = row[base + k];
                double t = (v + EPS) * scale;
                sumSq += v * v;
                negH += t * Math.log(t);
                lnSum += Math.log(t);
                negHBound += 8 * u * Math.abs(t * Math.log(t)) + 5 * u * t;
                lnSumBound += 3 * u * Math.abs(Math.log(t)) + 5 * u;
            }
            assertEquals(sumSq, terms.sumOfSquares(row, base, dim), 1e-13 * sumSq, "sum of squares, dim=" + dim);

            float[] scaled = new float[dim + 2];
            terms.scale(row, base, dim, 3.5f, scaled, 1);
            for (int k = 0; k < dim; k++) {
                assertEquals(row[base + k] * 3.5f, scaled[1 + k], "scaled, k=" + k);
            }
            assertEquals(0f, scaled[0], "nothing before the output");
            assertEquals(0f, scaled[dim + 1], "nothing past the output");

            int best = 0;
            for (int k = 1; k < dim; k++) {
                best = row[base + k] > row[base + best] ? k : best;
            }
            assertEquals(best, terms.argmax(row, base, dim), "argmax, dim=" + dim);

            int logOff = 2;
            int smoothOff = 3;
            float[] logs = new float[logOff + dim + 1];
            float[] smooth = new float[smoothOff + dim + 1];
            double[] negEntropy = new double[2];
            double[] logSum = new double[2];
            terms.smoothedLogs(row, base, dim, EPS, scale, logs, logOff, smooth, smoothOff, negEntropy, logSum, 1);
            assertEquals(negH, negEntropy[1], negHBound, "sum t ln t, dim=" + dim);
            assertEquals(lnSum, logSum[1], lnSumBound, "sum ln t, dim=" + dim);
            assertEquals(0, negEntropy[0], "nothing else written");
            for (int k = 0; k < dim; k++) {
                double t = (row[base + k] + EPS) * scale;
                double lt = Math.log(t);
                assertEquals(lt, logs[logOff + k], 3 * u * Math.abs(lt) + 5 * u,
                        "ln t, k=" + k);
                assertEquals(t, smooth[smoothOff + k], 5 * u * t, "t, k=" + k);
            }
            assertEquals(0f, logs[logOff + dim], "nothing past the row");
            assertEquals(0f, smooth[smoothOff + dim], "nothing past the row");

            // Both outputs in one array, at other offsets: the same sums.
            double[] again = new double[1];
            double[] againLn = new double[1];
            float[] room = new float[2 * dim + 1];
            terms.smoothedLogs(row, base, dim, EPS, scale, room, dim + 1, room, 0, again, againLn, 0);
            assertEquals(negEntropy[1], again[0], "the sums do not depend on where the outputs go");
            assertEquals(logSum[1], againLn[0], "the sums do not depend on where the outputs go");
        }
    }
}
