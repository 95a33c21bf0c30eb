package dev.imprint.evaluate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class DetectionMetricsTest {
    @Test
    void aucIsThePairwiseWinRateWithTiesCountingHalf() {
        Random rng = new Random(4);
        for (int trial = 0; trial < 50; trial++) {
            double[] pos = new double[1 + rng.nextInt(30)];
            double[] neg = new double[1 + rng.nextInt(30)];
            // Coarse values, so ties occur.
            for (int i = 0; i < pos.length; i++) {
                pos[i] = rng.nextInt(6);
            }
            for (int i = 0; i < neg.length; i++) {
                neg[i] = rng.nextInt(5);
            }
            double wins = 0;
            for (double p : pos) {
                for (double n : neg) {
                    wins += p > n ? 1 : p == n ? 0.5 : 0;
                }
            }
            assertEquals(wins / (pos.length * neg.length), DetectionMetrics.auc(pos, neg), 1e-12);
        }
        assertTrue(Double.isNaN(DetectionMetrics.auc(new double[0], new double[] {1})));
    }

    @Test
    void tprAtFprLetsThroughAtMostThatFractionOfNegatives() {
        double[] neg = new double[100];
        for (int i = 0; i < neg.length; i++) {
            neg[i] = i;
        }
        double[] pos = {98.5, 99.5, 50, 120};
        // At 1% one negative (99) may pass: the threshold is the second highest, 98.
        assertEquals(0.75, DetectionMetrics.tprAtFpr(pos, neg, 0.01), 1e-12);
        // At 0.1% none may: above 99.
        assertEquals(0.5, DetectionMetrics.tprAtFpr(pos, neg, 0.001), 1e-12);
    }

    @Test
    void wilsonIntervalMatchesItsFormula() {
        // 0 of 27: upper bound z²/(n+z²).
        double z2 = 1.959963984540054 * 1.959963984540054;
        assertArrayEquals(new double[] {0, z2 / (27 + z2)}, DetectionMetrics.wilson(0, 27), 1e-12);
        double[] ci = DetectionMetrics.wilson(18, 330);
        assertTrue(ci[0] < 18 / 330.0 && 18 / 330.0 < ci[1]);
        assertArrayEquals(new double[] {1 - ci[1], 1 - ci[0]}, DetectionMetrics.wilson(312, 330), 1e-12,
                "symmetric in successes and failures");
    }
}
