package dev.imprint.attribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class StudentTTest {
    @Test
    void matchesTheClosedFormsForOneAndTwoDegreesOfFreedom() {
        for (double x = -30; x <= 30; x += 0.37) {
            assertEquals(0.5 - Math.atan(x) / Math.PI, StudentT.survival(x, 1), 1e-13, "Cauchy at " + x);
            assertEquals(0.5 - x / (2 * Math.sqrt(2 + x * x)), StudentT.survival(x, 2), 1e-13, "df 2 at " + x);
        }
    }

    @Test
    void matchesSimpsonIntegrationOfTheDensity() {
        for (int df : new int[] {3, 5, 10, 21, 31}) {
            for (double x : new double[] {0, 0.4, 1.3, 2.5, 4.0, 7.5}) {
                double expected = 0.5 - simpson(df, x);
                double got = StudentT.survival(x, df);
                assertEquals(expected, got, 1e-11 + 1e-7 * expected, "df " + df + " at " + x);
                assertEquals(1 - expected, StudentT.survival(-x, df), 1e-11, "df " + df + " at -" + x);
            }
        }
    }

    @Test
    void refusesNonPositiveDegreesOfFreedomAndNaN() {
        assertThrows(IllegalArgumentException.class, () -> StudentT.survival(1, 0));
        assertThrows(IllegalArgumentException.class, () -> StudentT.survival(Double.NaN, 3));
        assertEquals(0, StudentT.survival(Double.POSITIVE_INFINITY, 3));
    }

    /** ∫_0^x of the t density, by Simpson's rule on 20000 intervals; Γ from its half-integer closed forms. */
    private static double simpson(int df, double x) {
        if (x == 0) {
            return 0;
        }
        double c = gammaHalf(df + 1) / (Math.sqrt(df * Math.PI) * gammaHalf(df));
        int n = 20000;
        double h = x / n;
        double sum = 0;
        for (int i = 0; i <= n; i++) {
            double t = i * h;
            double f = c * Math.pow(1 + t * t / df, -(df + 1) / 2.0);
            sum += (i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2) * f;
        }
        return sum * h / 3;
    }

    /** Γ(k/2): (k/2 − 1)! for even k, and Γ(1/2) = √π raised by Γ(z+1) = zΓ(z) for odd k. */
    private static double gammaHalf(int k) {
        double g = k % 2 == 0 ? 1 : Math.sqrt(Math.PI);
        for (double z = k % 2 == 0 ? 1 : 0.5; z < k / 2.0 - 1e-9; z += 1) {
            g *= z;
        }
        return g;
    }
}
