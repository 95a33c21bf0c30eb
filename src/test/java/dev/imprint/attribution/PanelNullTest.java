package dev.imprint.attribution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ReferenceRole;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PanelNullTest {
    @Test
    void aNewDrawFromANormalNullIsRejectedAtMostAlphaOfTheTime() {
        Random rng = new Random(8);
        int trials = 4000;
        for (int n : new int[] {8, 22, 40}) {
            int rejected = 0;
            for (int t = 0; t < trials; t++) {
                double[] values = new double[n];
                for (int i = 0; i < n; i++) {
                    values[i] = 3 + 2 * rng.nextGaussian();
                }
                if (PanelNull.pValue(values, 3 + 2 * rng.nextGaussian()) <= 0.05) {
                    rejected++;
                }
            }
            double rate = rejected / (double) trials;
            // Exact for the standard deviation; the semi-deviation can only make it more conservative.
            double band = 3 * Math.sqrt(0.05 * 0.95 / trials);
            assertTrue(rate <= 0.05 + band && rate >= 0.02, "n=" + n + ": rate " + rate);
        }
    }

    @Test
    void aValueFarAboveTheNullGetsATinyPAndOneBelowItALargeOne() {
        double[] values = {0.1, -0.4, 0.9, 0.3, -0.2, 0.5, 0.0, -0.7};
        assertTrue(PanelNull.pValue(values, 12) < 1e-4);
        assertTrue(PanelNull.pValue(values, -3) > 0.99);
        assertEquals(1, PanelNull.pValue(values, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> PanelNull.pValue(new double[] {1, 2, Double.NaN}, 3));
    }

    @Test
    void theStatisticIsTheBestCandidatesMarginOverItsSiblingsTogetherAndEachOutsider() {
        // a, b, c are one family; d is unlabelled; bg is background.
        Panel panel = new Panel(List.of(new Panel.Member("a", "f", ReferenceRole.PROTECTED),
                new Panel.Member("b", "f", ReferenceRole.PROTECTED),
                new Panel.Member("c", "f", ReferenceRole.PROTECTED),
                new Panel.Member("d", null, ReferenceRole.PROTECTED),
                new Panel.Member("bg", null, ReferenceRole.BACKGROUND)));
        Random rng = new Random(5);
        double[] centre = {0.5, 0.1, 0.15, 0.2, 0.3};
        double[][] beta = new double[5][30];
        double[] mean = new double[5];
        for (int r = 0; r < 5; r++) {
            for (int j = 0; j < 30; j++) {
                beta[r][j] = centre[r] + 0.1 * rng.nextGaussian();
                mean[r] += beta[r][j] / 30;
            }
        }
        double[] s = PanelNull.candidateStatistics(panel, beta);
        assertEquals(mean[0] - Math.max(mean[1] + mean[2], Math.max(mean[3], mean[4])), s[0], 1e-12);
        assertEquals(mean[1] - Math.max(mean[0] + mean[2], Math.max(mean[3], mean[4])), s[1], 1e-12);
        assertEquals(mean[3] - Math.max(mean[0], Math.max(mean[1], Math.max(mean[2], mean[4]))), s[3], 1e-12);
        assertTrue(Double.isNaN(s[4]), "background is never a candidate");
        assertEquals(s[0], PanelNull.statistic(s));
    }

    @Test
    void pseudoSuspectsAreEveryBackgroundModelAndAtMost32ProtectedOnes() {
        List<Panel.Member> members = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            members.add(new Panel.Member("p" + i, "f" + i % 5, ReferenceRole.PROTECTED));
        }
        for (int i = 0; i < 4; i++) {
            members.add(new Panel.Member("bg" + i, null, ReferenceRole.BACKGROUND));
        }
        Panel panel = new Panel(members);
        int[] pseudo = PanelNull.pseudoSuspects(panel);
        assertEquals(36, pseudo.length);
        for (int b = 50; b < 54; b++) {
            int index = b;
            assertTrue(java.util.Arrays.stream(pseudo).anyMatch(i -> i == index));
        }
        assertArrayEquals(pseudo, PanelNull.pseudoSuspects(new Panel(members)), "the choice is deterministic");
    }
}
