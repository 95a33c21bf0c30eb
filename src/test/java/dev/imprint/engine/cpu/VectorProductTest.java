package dev.imprint.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorProduct} bit for bit against a scalar model of what it computes: per lane, fused
 * multiply-adds in order; then the lanes folded pairwise, half the width apart at each step; then
 * the products past the last whole vector. From the first call (interpreted) until long after the
 * JIT has compiled it, on fresh inputs each call: a cold Spark executor and a warm server must score
 * a suspect to the same bits (RescoreJobTest), and the Vector API's own {@code reduceLanes} does
 * not promise that. Its float64 accuracy is CpuBackendTest's.
 */
class VectorProductTest {
    private static final int LANES = VectorProduct.lanes();

    @Test
    void fp32ProductsAreTheModelsBitsColdAndCompiled() {
        checkAgainstTheModel(23);
    }

    private static void checkAgainstTheModel(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (int call = 0; call < 20_000; call++) {
            Shape shape = Shape.random(rng);
            float[] a = values(rng, shape.held * shape.dim);
            float[] x = values(rng, shape.columns * shape.dim);
            float[] c = values(rng, shape.columns * shape.held);
            float[] want = c.clone();
            VectorProduct.multiply(a, shape.dim, shape.held, shape.k0, shape.k, x, shape.columns, c, shape.accumulate);
            model(a, shape, x, want);
            assertSameBits(want, c, call, shape);
        }
    }

    /** One call's shape: slots, row length, the segment k0..k0+k-1, columns, and whether it adds on. */
    private record Shape(int held, int dim, int k0, int k, int columns, boolean accumulate) {
        static Shape random(SplittableRandom rng) {
            int dim = 1 + rng.nextInt(5 * LANES);
            int k0 = rng.nextInt(dim);
            int k = 1 + rng.nextInt(dim - k0);
            if (k >= LANES && rng.nextBoolean()) {
                // Whole vectors only, half the time (the engine's usual shape: D a multiple of the
                // lanes); the others have a tail to add.
                k -= k % LANES;
            }
            // Many groups of four references, and one to three past the last.
            return new Shape(1 + rng.nextInt(3 * LANES + 4), dim, k0, k, 1 + rng.nextInt(4), rng.nextBoolean());
        }
    }

    private static void model(float[] a, Shape s, float[] x, float[] c) {
        int bound = s.k - s.k % LANES;
        for (int col = 0; col < s.columns; col++) {
            for (int m = 0; m < s.held; m++) {
                float[] lane = new float[LANES];
                int row = m * s.dim + s.k0;
                int xRow = col * s.dim + s.k0;
                for (int j = 0; j < bound; j++) {
                    lane[j % LANES] = Math.fma(a[row + j], x[xRow + j], lane[j % LANES]);
                }
                for (int half = LANES / 2; half >= 1; half /= 2) {
                    float[] folded = new float[LANES];
                    for (int i = 0; i < LANES; i++) {
                        folded[i] = lane[i] + lane[i ^ half];
                    }
                    lane = folded;
                }
                float tail = 0;
                for (int j = bound; j < s.k; j++) {
                    tail += a[row + j] * x[xRow + j];
                }
                int at = col * s.held + m;
                float value = lane[0] + tail;
                c[at] = s.accumulate ? c[at] + value : value;
            }
        }
    }

    private static float[] values(SplittableRandom rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return v;
    }

    private static void assertSameBits(float[] want, float[] got, int call, Shape shape) {
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                assertEquals(want[i], got[i], "call " + call + " " + shape + ", output " + i + ": not the model's bits");
            }
        }
    }
}
