package dev.imprint.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * {@link BranchFreeLog} against {@link Math#log} in double, and its lanes in {@link VectorRowTerms}
 * against it bit for bit, before and after the JIT has compiled them: the point of both is that a
 * cold JVM and a warm one score a suspect to the same bits.
 */
class BranchFreeLogTest {
    private static final int LANES = FloatVector.SPECIES_PREFERRED.length();

    @Test
    void withinOneUlpOfTheExactLogarithmAcrossTheExponentRange() {
        SplittableRandom rng = new SplittableRandom(3);
        double worst = 0;
        for (int i = 0; i < 2_000_000; i++) {
            // Uniform in the exponent (every binade from the smallest normal float to the largest),
            // and, a quarter of the time, right around 1, where ln x is small and relative error shows.
            float x = i % 4 == 0
                    ? (float) (1 + (rng.nextDouble() - 0.5) * Math.scalb(1.0, -rng.nextInt(1, 24)))
                    : Math.scalb((float) (1 + rng.nextDouble()), rng.nextInt(-126, 128));
            if (x == 1f || !BranchFreeLog.inRange(x)) {
                continue;
            }
            float got = BranchFreeLog.ln(x);
            double want = Math.log(x);
            // Against the exact value (float64 is exact enough), in units of the float result.
            double ulps = Math.abs(got - want) / Math.ulp((float) want);
            worst = Math.max(worst, ulps);
            assertTrue(ulps < 1, () -> "ln(" + x + ") = " + got + ", Math.log says " + want);
        }
        System.out.printf("BranchFreeLog: worst %.3f ulp against the exact logarithm over 2,000,000 floats%n", worst);
    }

    @Test
    void exactWhereTheAnswerIsExactAndMathLogOutsideTheNormalRange() {
        assertEquals(0f, BranchFreeLog.ln(1f), "ln 1");
        float[] outside = {0f, -0f, Float.MIN_VALUE, Float.MIN_NORMAL / 3, -1f, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.NaN};
        for (float x : outside) {
            assertEquals((float) Math.log(x), BranchFreeLog.ln(x), "ln(" + x + ")");
        }
        assertEquals((float) Math.log(Float.MIN_NORMAL), BranchFreeLog.ln(Float.MIN_NORMAL), Math.ulp(87f),
                "smallest normal");
        assertEquals((float) Math.log(Float.MAX_VALUE), BranchFreeLog.ln(Float.MAX_VALUE), Math.ulp(88f),
                "largest float");
    }

    /** A fresh vector of inputs per call, so the lanes are checked cold first and then compiled. */
    @Test
    void vectorLanesEqualTheScalarFunctionBitForBitColdAndCompiled() {
        SplittableRandom rng = new SplittableRandom(5);
        float[] x = new float[LANES];
        for (int call = 0; call < 60_000; call++) {
            for (int lane = 0; lane < LANES; lane++) {
                x[lane] = call % 97 == 0 && lane == call % LANES
                        ? (lane % 2 == 0 ? 0f : Float.MIN_VALUE) // one lane out of range: the fallback
                        : Math.scalb((float) (1 + rng.nextDouble()), rng.nextInt(-60, 4));
            }
            float[] got = VectorRowTerms.ln(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, 0)).toArray();
            for (int lane = 0; lane < LANES; lane++) {
                if (Float.floatToRawIntBits(got[lane]) != Float.floatToRawIntBits(BranchFreeLog.ln(x[lane]))) {
                    throw new AssertionError("call " + call + ", lane " + lane + ": ln(" + x[lane] + ") = " + got[lane]
                            + " in the vector, " + BranchFreeLog.ln(x[lane]) + " scalar");
                }
            }
        }
    }
}
