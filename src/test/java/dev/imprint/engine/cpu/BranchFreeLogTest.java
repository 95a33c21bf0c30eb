package dev.imprint.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.DoubleVector;
import org.junit.jupiter.api.Test;

/**
 * {@link BranchFreeLog} against {@link Math#log}, and its lanes in {@link VectorRowTerms} against
 * it bit for bit, before and after the JIT has compiled them: the point of both is that a cold JVM
 * and a warm one score a suspect to the same bits.
 */
class BranchFreeLogTest {
    private static final int LANES = VectorRowTerms.LANES;

    @Test
    void withinOneUlpOfMathLogAcrossTheExponentRange() {
        SplittableRandom rng = new SplittableRandom(3);
        double worst = 0;
        for (int i = 0; i < 2_000_000; i++) {
            // Uniform in the exponent (every binade from the smallest normal to the largest double),
            // and, a quarter of the time, right around 1, where ln x is small and relative error shows.
            double x = i % 4 == 0
                    ? 1 + (rng.nextDouble() - 0.5) * Math.scalb(1.0, -rng.nextInt(1, 50))
                    : Math.scalb(1 + rng.nextDouble(), rng.nextInt(-1022, 1024));
            double got = BranchFreeLog.ln(x);
            double want = Math.log(x);
            double ulps = Math.abs(got - want) / Math.ulp(want);
            worst = Math.max(worst, ulps);
            assertTrue(ulps <= 1, () -> "ln(" + x + ") = " + got + ", Math.log says " + want);
        }
        System.out.printf("BranchFreeLog: worst %.3f ulp against Math.log over 2,000,000 inputs%n", worst);
    }

    @Test
    void exactWhereTheAnswerIsExactAndMathLogOutsideTheNormalRange() {
        assertEquals(0.0, BranchFreeLog.ln(1.0), "ln 1");
        double[] outside = {0.0, -0.0, Double.MIN_VALUE, Double.MIN_NORMAL / 3, -1.0, Double.POSITIVE_INFINITY,
            Double.NEGATIVE_INFINITY, Double.NaN};
        for (double x : outside) {
            assertEquals(Math.log(x), BranchFreeLog.ln(x), "ln(" + x + ")");
        }
        assertEquals(Math.log(Double.MIN_NORMAL), BranchFreeLog.ln(Double.MIN_NORMAL), Math.ulp(708.0), "smallest normal");
        assertEquals(Math.log(Double.MAX_VALUE), BranchFreeLog.ln(Double.MAX_VALUE), Math.ulp(709.0), "largest double");
    }

    /** A fresh vector of inputs per call, so the lanes are checked cold first and then compiled. */
    @Test
    void vectorLanesEqualTheScalarFunctionBitForBitColdAndCompiled() {
        SplittableRandom rng = new SplittableRandom(5);
        double[] x = new double[LANES];
        for (int call = 0; call < 60_000; call++) {
            for (int lane = 0; lane < LANES; lane++) {
                x[lane] = call % 97 == 0 && lane == call % LANES
                        ? (lane % 2 == 0 ? 0.0 : Double.MIN_VALUE) // one lane out of range: the fallback
                        : Math.scalb(1 + rng.nextDouble(), rng.nextInt(-60, 4));
            }
            double[] got = VectorRowTerms.ln(DoubleVector.fromArray(DoubleVector.SPECIES_PREFERRED, x, 0)).toArray();
            for (int lane = 0; lane < LANES; lane++) {
                if (Double.doubleToRawLongBits(got[lane]) != Double.doubleToRawLongBits(BranchFreeLog.ln(x[lane]))) {
                    throw new AssertionError("call " + call + ", lane " + lane + ": ln(" + x[lane] + ") = " + got[lane]
                            + " in the vector, " + BranchFreeLog.ln(x[lane]) + " scalar");
                }
            }
        }
    }
}
