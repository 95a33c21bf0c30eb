package dev.imprint.attribution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class MultipleTestingTest {
    // Expected values from statsmodels.stats.multitest.multipletests(p, method='holm' / 'fdr_bh').
    private static final double[] P = {0.01, 0.04, 0.03, 0.005, 0.5};

    @Test
    void holmMatchesTheStepDownDefinition() {
        assertArrayEquals(new double[] {0.04, 0.09, 0.09, 0.025, 0.5}, MultipleTesting.holm(P), 1e-12);
    }

    @Test
    void benjaminiHochbergMatchesTheStepUpDefinition() {
        assertArrayEquals(new double[] {0.025, 0.05, 0.05, 0.025, 0.5}, MultipleTesting.benjaminiHochberg(P), 1e-12);
    }

    @Test
    void rejectsValuesThatAreNotProbabilities() {
        assertThrows(IllegalArgumentException.class, () -> MultipleTesting.holm(new double[] {0.1, 1.2}));
        assertThrows(IllegalArgumentException.class, () -> MultipleTesting.benjaminiHochberg(new double[] {Double.NaN}));
    }
}
