package dev.imprint.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TruncationTest {
    private static float[] dirichletRow(Random rng, int dim) {
        double[] g = new double[dim];
        double sum = 0;
        for (int k = 0; k < dim; k++) {
            g[k] = -Math.log(1 - rng.nextDouble());
            sum += g[k];
        }
        float[] row = new float[dim];
        for (int k = 0; k < dim; k++) {
            row[k] = (float) (g[k] / sum);
        }
        return row;
    }

    @Test
    void applyKeepsTheLargestAndSpreadsTheRestEvenlyAsADoubleReferenceDoes() {
        Random rng = new Random(11);
        for (int k : new int[] {0, 1, 5, 20, 63, 64}) {
            float[] row = dirichletRow(rng, 64);
            double[] sorted = new double[64];
            for (int i = 0; i < 64; i++) {
                sorted[i] = row[i];
            }
            Arrays.sort(sorted);
            double threshold = k == 0 ? Double.POSITIVE_INFINITY : sorted[64 - k];
            double kept = 0;
            for (int i = 64 - k; i < 64; i++) {
                kept += sorted[i];
            }
            double rest = k == 64 ? Double.NaN : (1 - kept) / (64 - k);
            float[] original = row.clone();
            Truncation.apply(row, 0, 64, k);
            for (int i = 0; i < 64; i++) {
                double expected = original[i] >= threshold ? original[i] : rest;
                assertEquals(expected, row[i], 1e-7, "k=" + k + " token " + i);
            }
            // Keeping 63 leaves one tail token at its own value: no truncation to read back.
            assertEquals(k >= 63 ? 64 : k, Truncation.keptOf(row, 0, 64), "k=" + k + " is read back");
        }
    }

    @Test
    void aFullRowKeepsEveryTokenAndABlockWithoutATruncatedRowHasNoKeptCounts() {
        Random rng = new Random(12);
        float[] rows = new float[3 * 16];
        for (int p = 0; p < 3; p++) {
            System.arraycopy(dirichletRow(rng, 16), 0, rows, p * 16, 16);
        }
        assertEquals(16, Truncation.keptOf(rows, 16, 16));
        assertNull(Truncation.keptPerRow(rows, 3, 16));
        Truncation.apply(rows, 32, 16, 4);
        assertArrayEquals(new int[] {16, 16, 4}, Truncation.keptPerRow(rows, 3, 16));
        float[] uniform = new float[8];
        Arrays.fill(uniform, 0.125f);
        assertEquals(0, Truncation.keptOf(uniform, 0, 8), "a uniform row carries no kept token");
    }

    @Test
    void aRowIsTruncatedInPlaceWithinItsBlockAndABadKIsRefused() {
        float[] rows = {0.5f, 0.3f, 0.2f, 0.1f, 0.2f, 0.7f};
        Truncation.apply(rows, 3, 3, 1);
        assertArrayEquals(new float[] {0.5f, 0.3f, 0.2f, 0.15f, 0.15f, 0.7f}, rows, 1e-7f);
        assertThrows(IllegalArgumentException.class, () -> Truncation.apply(rows, 0, 3, 4));
        assertThrows(IllegalArgumentException.class, () -> Truncation.apply(rows, 0, 3, -1));
    }
}
