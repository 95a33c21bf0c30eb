package dev.imprint.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TemperingTest {
    @Test
    void aRowAtTemperatureTIsItsPowerOneOverTRenormalisedInDouble() {
        float[] rows = {0.9f, 0.05f, 0.03f, 0.02f, 0.25f, 0.25f, 0.25f, 0.25f};
        float[] original = rows.clone();
        Tempering.apply(rows, 0, 4, 1.3);
        double sum = 0;
        for (int i = 0; i < 4; i++) {
            sum += Math.pow(original[i], 1 / 1.3);
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(Math.pow(original[i], 1 / 1.3) / sum, rows[i], 1e-7, "token " + i);
        }
        Tempering.apply(rows, 4, 4, 0.5);
        for (int i = 4; i < 8; i++) {
            assertEquals(0.25f, rows[i], 1e-7, "a uniform row stays uniform");
        }
    }

    @Test
    void aFlatTailStaysFlatAndZerosStayZero() {
        float[] rows = {0.6f, 0.2f, 0.05f, 0.05f, 0.05f, 0.05f, 0f, 0f};
        Tempering.apply(rows, 0, 8, 0.7);
        for (int i = 3; i < 6; i++) {
            assertEquals(rows[2], rows[i], "tail token " + i);
        }
        assertEquals(0f, rows[6]);
        assertEquals(0f, rows[7]);
    }

    @Test
    void aTemperatureThatIsNotAFinitePositiveNumberIsRefused() {
        float[] rows = {0.5f, 0.5f};
        for (double t : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThrows(IllegalArgumentException.class, () -> Tempering.apply(rows, 0, 2, t), "t=" + t);
        }
    }
}
