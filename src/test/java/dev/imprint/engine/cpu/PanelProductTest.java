package dev.imprint.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link PanelProduct} bit for bit against a scalar model of what it promises: each output the fused
 * multiply-adds of its slot's row and its column in order of k, from zero or from the value there,
 * whatever the tile. From the first call (interpreted) until long after the JIT has compiled it, on
 * fresh inputs each call: a cold Spark executor and a warm server must score a suspect to the same
 * bits (RescoreJobTest). Its float64 accuracy is CpuBackendTest's and CpuBf16CosineTest's.
 */
class PanelProductTest {
    private static final int WIDTH = PanelProduct.WIDTH;

    @Test
    void everySlotAndValueHasItsOwnPlaceInWholePanels() {
        for (int dim : new int[] {1, 3, 64, 769}) {
            int held = 3 * WIDTH;
            Set<Integer> places = new HashSet<>();
            for (int m = 0; m < held; m++) {
                for (int k = 0; k < dim; k++) {
                    int at = PanelProduct.at(m, dim, k);
                    assertEquals(true, at >= 0 && at < held * dim, "slot " + m + ", k " + k + " at " + at);
                    places.add(at);
                }
            }
            assertEquals(held * dim, places.size(), "dim " + dim + ": two values share a place");
            // A panel's slots lie side by side at each k: what the kernel loads as two vectors.
            assertEquals(PanelProduct.at(WIDTH, dim, 5) + 1, PanelProduct.at(WIDTH + 1, dim, 5));
        }
        assertEquals(0, PanelProduct.padded(0));
        assertEquals(WIDTH, PanelProduct.padded(1));
        assertEquals(WIDTH, PanelProduct.padded(WIDTH));
        assertEquals(2 * WIDTH, PanelProduct.padded(WIDTH + 1));
    }

    @Test
    void fp32ProductsAreTheModelsBitsColdAndCompiled() {
        checkAgainstTheModel(37, false);
    }

    @Test
    void bf16ProductsAreTheModelsBitsColdAndCompiled() {
        checkAgainstTheModel(41, true);
    }

    @Test
    void widenedBf16ValuesAreTheScalarWidensValues() {
        SplittableRandom rng = new SplittableRandom(43);
        for (int call = 0; call < 20_000; call++) {
            int count = WIDTH * rng.nextInt(6);
            int inOff = rng.nextInt(WIDTH);
            short[] in = new short[inOff + count + rng.nextInt(WIDTH)];
            for (int i = 0; i < in.length; i++) {
                // Every bit pattern: signed zeros, subnormals, infinities and NaNs included.
                in[i] = (short) rng.nextInt(1 << 16);
            }
            float[] got = values(rng, count + WIDTH);
            float[] want = got.clone();
            PanelProduct.widen(in, inOff, got, count);
            Bf16.widen(in, inOff, want, 0, count);
            for (int i = 0; i < want.length; i++) {
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
                        "call " + call + ", count " + count + ", value " + i);
            }
        }
    }

    private static void checkAgainstTheModel(long seed, boolean bf16) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (int call = 0; call < 20_000; call++) {
            Shape shape = Shape.random(rng);
            // Row by row, as the model reads them; the kernel gets the same values in panels.
            float[] rows = values(rng, shape.held * shape.dim);
            short[] rowHalves = new short[rows.length];
            if (bf16) {
                for (int i = 0; i < rows.length; i++) {
                    rowHalves[i] = Bf16.fromFloat(rows[i]);
                    rows[i] = Bf16.toFloat(rowHalves[i]);
                }
            }
            float[] panels = new float[rows.length];
            short[] halves = new short[rows.length];
            for (int m = 0; m < shape.held; m++) {
                for (int k = 0; k < shape.dim; k++) {
                    panels[PanelProduct.at(m, shape.dim, k)] = rows[m * shape.dim + k];
                    halves[PanelProduct.at(m, shape.dim, k)] = rowHalves[m * shape.dim + k];
                }
            }
            float[] x = values(rng, shape.columns * shape.dim);
            float[] c = values(rng, shape.columns * shape.held);
            float[] want = c.clone();
            // Longer than needed, as the engine's is when its last block of k is short.
            float[] packed = new float[PanelProduct.packedLength(shape.columns, shape.k) + rng.nextInt(9)];
            if (bf16) {
                PanelProduct.multiplyBf16(halves, shape.dim, shape.held, shape.k0, shape.k, x, shape.columns, c,
                        shape.accumulate, packed, new float[PanelProduct.widenedLength(shape.k)]);
            } else {
                PanelProduct.multiply(panels, shape.dim, shape.held, shape.k0, shape.k, x, shape.columns, c,
                        shape.accumulate, packed);
            }
            model(rows, shape, x, want);
            for (int i = 0; i < want.length; i++) {
                if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(c[i])) {
                    assertEquals(want[i], c[i], "call " + call + " " + shape + ", output " + i + ": not the model's bits");
                }
            }
        }
    }

    /** One call's shape: whole panels of slots, row length, the segment k0..k0+k-1, columns, and whether it adds on. */
    private record Shape(int held, int dim, int k0, int k, int columns, boolean accumulate) {
        static Shape random(SplittableRandom rng) {
            int dim = 1 + rng.nextInt(80);
            int k0 = rng.nextInt(dim);
            int k = 1 + rng.nextInt(dim - k0);
            // One to eleven panels (one column reads four a quarter apart, then those past them);
            // one column a third of the time, else up to nine: whole tiles of four and one to three past them.
            int columns = rng.nextInt(3) == 0 ? 1 : 1 + rng.nextInt(9);
            return new Shape(WIDTH * (1 + rng.nextInt(11)), dim, k0, k, columns, rng.nextBoolean());
        }
    }

    private static void model(float[] rows, Shape s, float[] x, float[] c) {
        for (int col = 0; col < s.columns; col++) {
            for (int m = 0; m < s.held; m++) {
                int at = col * s.held + m;
                float sum = s.accumulate ? c[at] : 0f;
                for (int j = 0; j < s.k; j++) {
                    sum = Math.fma(rows[m * s.dim + s.k0 + j], x[col * s.dim + s.k0 + j], sum);
                }
                c[at] = sum;
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
}
