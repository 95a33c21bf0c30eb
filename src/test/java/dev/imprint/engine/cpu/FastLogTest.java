package dev.imprint.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FastLogTest {

    @Test
    void matchesMathLogWithinOneHundredTrillionthAcrossTheNormalRange() {
        SplittableRandom rng = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            // Uniform in the exponent, so every binade from MIN_NORMAL to MAX_VALUE is sampled.
            double x = Math.exp(rng.nextDouble(Math.log(Double.MIN_NORMAL), Math.log(Double.MAX_VALUE)));
            double expected = Math.log(x);
            assertEquals(expected, FastLog.ln(x), 1e-14 * Math.max(1, Math.abs(expected)), "x=" + x);
        }
        for (double x : new double[] {1, Math.sqrt(0.5), Math.sqrt(2), 2, 0.5, Double.MIN_NORMAL, Double.MAX_VALUE}) {
            assertEquals(Math.log(x), FastLog.ln(x), 1e-14 * Math.max(1, Math.abs(Math.log(x))), "x=" + x);
        }
    }

    @Test
    void answersOutsideTheNormalRangeExactlyAsMathLog() {
        for (double x : new double[] {0, -0.0, Double.MIN_VALUE, Double.MIN_NORMAL / 3, -1, Double.POSITIVE_INFINITY,
                Double.NEGATIVE_INFINITY, Double.NaN}) {
            assertEquals(Math.log(x), FastLog.ln(x), "x=" + x);
        }
    }
}
