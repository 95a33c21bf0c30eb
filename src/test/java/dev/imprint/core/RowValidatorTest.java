package dev.imprint.core;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Row checks against a plain per-value reading of the rules, at widths on and off the 4-wide unrolling. */
class RowValidatorTest {
    private static ProbeSet distribution(int dim) {
        return new ProbeSet("d", 3, dim, ProbeSetKind.DISTRIBUTION, 1e-6, "");
    }

    private static ProbeSet embedding(int dim) {
        return new ProbeSet("e", 3, dim, ProbeSetKind.EMBEDDING, 0, "");
    }

    /** Three uniform distributions of {@code dim} values. */
    private static float[] uniform(int dim) {
        float[] rows = new float[3 * dim];
        Arrays.fill(rows, 1f / dim);
        return rows;
    }

    private static String rejection(ProbeSet set, float[] rows) {
        return assertThrows(ImprintException.class, () -> RowValidator.validate(set, "suspect", rows, 0, 3, 0))
                .getMessage();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 4, 5, 8, 11})
    void namesTheFirstBadValueInColumnOrderWhereverItSits(int dim) {
        for (int column = 0; column < dim; column++) {
            float[] rows = uniform(dim);
            rows[dim + column] = Float.NaN;
            if (column + 1 < dim) {
                rows[dim + column + 1] = -0.5f;
            }
            assertEquals("suspect row 1 column " + column + " is NaN; values must be finite",
                    rejection(distribution(dim), rows));
            rows[dim + column] = -1e-45f;
            assertEquals("suspect row 1 column " + column + " is -1.4E-45; probabilities must be >= 0",
                    rejection(distribution(dim), rows), "a negative too small to move the sum still counts");
            rows[dim + column] = Float.NEGATIVE_INFINITY;
            assertEquals("suspect row 1 column " + column + " is -Infinity; values must be finite",
                    rejection(embedding(dim), rows));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 5, 8})
    void negativeZeroIsAValidProbabilityAndNegativesAreValidEmbeddings(int dim) {
        float[] rows = uniform(dim);
        if (dim > 1) {
            rows[2 * dim] = -0.0f;
            rows[2 * dim + 1] = 2f / dim;
        }
        assertDoesNotThrow(() -> RowValidator.validate(distribution(dim), "suspect", rows, 0, 3, 0));
        float[] signed = uniform(dim);
        for (int i = 0; i < signed.length; i += 2) {
            signed[i] = -signed[i];
        }
        assertDoesNotThrow(() -> RowValidator.validate(embedding(dim), "suspect", signed, 0, 3, 0));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 4, 7})
    void zeroNormAndOffSumRowsAreNamed(int dim) {
        float[] rows = uniform(dim);
        Arrays.fill(rows, 2 * dim, 3 * dim, 0f);
        assertEquals("suspect row 2 has zero norm; cosine is undefined for it", rejection(embedding(dim), rows));
        float[] off = uniform(dim);
        off[0] += 0.01f;
        String message = rejection(distribution(dim), off);
        assertEquals("suspect row 0 sums to 1.010000; a DISTRIBUTION row must sum to 1 within 0.001", message);
        off[0] -= 0.0095f;
        assertDoesNotThrow(() -> RowValidator.validate(distribution(dim), "suspect", off, 0, 3, 0),
                "within the tolerance");
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 9})
    void offsetAndFirstRowPlaceTheRowsInTheirRequest(int dim) {
        float[] values = new float[5 * dim];
        Arrays.fill(values, 1f / dim);
        values[4 * dim + 1] = Float.POSITIVE_INFINITY;
        String message = assertThrows(ImprintException.class,
                () -> RowValidator.validate(distribution(dim), "rows", values, 2 * dim, 3, 10)).getMessage();
        assertEquals("rows row 12 column 1 is Infinity; values must be finite", message);
    }
}
