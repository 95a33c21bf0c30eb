package dev.imprint.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class CostFitTest {
    private static final double[] X = IntStream.rangeClosed(0, 8).mapToDouble(i -> 10 * Math.pow(Math.sqrt(10), i))
            .toArray();

    @Test
    void aPowerLawHasItsExponentEverywhereAndNoKneeWorthTheName() {
        double[] t = map(x -> 3e-6 * Math.pow(x, 1.5));
        CostFit fit = CostFit.of(X, t);
        assertEquals(1.5, fit.exponent(), 1e-12);
        assertEquals(1.5, fit.tailExponent(), 1e-12);
    }

    @Test
    void aFixedCostPlusAProportionalOneHasItsKneeWhereTheyAreEqual() {
        double[] t = map(x -> 5e-3 + 1e-5 * x); // equal at x = 500
        CostFit fit = CostFit.of(X, t);
        assertEquals(500, fit.knee(), 500 * 1e-9);
        assertTrue(fit.exponent() > 0.2 && fit.exponent() < 0.8, "overall " + fit.exponent());
        assertTrue(fit.tailExponent() > 0.9 && fit.tailExponent() <= 1, "past the knee " + fit.tailExponent());
    }

    @Test
    void aConstantCostHasExponentZeroAndNoKnee() {
        CostFit fit = CostFit.of(X, map(x -> 0.25));
        assertEquals(0, fit.exponent(), 1e-12);
        assertTrue(Double.isNaN(fit.knee()), "knee " + fit.knee());
    }

    @Test
    void refusesTooFewOrUnorderedOrNonPositivePoints() {
        assertThrows(IllegalArgumentException.class, () -> CostFit.of(new double[] {1}, new double[] {1}));
        assertThrows(IllegalArgumentException.class, () -> CostFit.of(new double[] {2, 1}, new double[] {1, 1}));
        assertThrows(IllegalArgumentException.class, () -> CostFit.of(new double[] {1, 2}, new double[] {1, 0}));
        assertThrows(IllegalArgumentException.class, () -> CostFit.of(new double[] {1, 2}, new double[] {1}));
    }

    private static double[] map(java.util.function.DoubleUnaryOperator f) {
        return java.util.Arrays.stream(X).map(f).toArray();
    }
}
