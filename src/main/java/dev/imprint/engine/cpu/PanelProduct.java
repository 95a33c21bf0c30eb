package dev.imprint.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Products of a per-probe block of EMBEDDING unit rows, held in panels, with a batch's suspect
 * columns, on the Vector API: the CPU backend's matrix product for those sets at every batch size.
 *
 * <p>Layout. Slots are grouped in panels of {@link #WIDTH} (two vectors); a panel holds its slots'
 * values k by k, so value k of slot m is at {@link #at}{@code (m, dim, k)} =
 * {@code (m / WIDTH) * WIDTH * dim + k * WIDTH + m % WIDTH}. The block's slot count is a multiple of
 * the width ({@link #padded}).
 *
 * <p>Why. A matrix product through BLAS packs the reference block into this kind of layout on every
 * call: at W4 (M=1000, P=128, D=768, S=64) that is 393 MB read from memory and written back per
 * batch, while the arithmetic waits. Held packed from the start, the block is read once, as the
 * arithmetic runs. In a harness on the development machine (AVX2, two threads, the 128 per-probe
 * products of W4) this kernel took 78-80 ms against OpenBLAS 0.3.21's SGEMM at 85-87, alternating;
 * in the engine, alternating builds, W4's fastest run took 86.6 ms against 89.9 and with bf16 rows
 * 87.1 against 92.0.
 *
 * <p>The kernel. A tile of one panel (two vectors of slots) by four suspect columns keeps eight
 * accumulators; each k loads the panel's two vectors and broadcasts the four columns' values, and
 * does eight fused multiply-adds. AVX2 has sixteen vector registers: tiles of five and six columns
 * (ten and twelve accumulators) spilled and ran at a half and a third of the speed. A panel of k up to the caller's block
 * (1024) stays in the L2 cache while every group of columns passes over it. Fewer than four columns
 * repeat the last one: the repeats compute and store the same values, and with one column the tile
 * still streams 64 bytes per four cycles, faster than memory feeds it.
 *
 * <p>Bits. Each output is the fused multiply-adds of its slot and column in order of k, from zero
 * or from the value there: the same bits whichever tile, batch size or lane it falls in, and
 * interpreted or compiled (no lane is ever added to another). That rounds as BLAS's matrix product
 * does (its kernels also sum each output along k); the caller's block of 1024 bounds the run.
 */
final class PanelProduct {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Slots per panel: two vectors. */
    static final int WIDTH = 2 * LANES;
    /** Suspect columns per tile. */
    private static final int COLUMNS = 4;
    /** Panels per one-column tile. */
    private static final int PANELS = 4;
    /** bf16 values loaded as many at a time as a float vector has lanes, and widened to it. */
    private static final VectorSpecies<Short> HALVES = ShortVector.SPECIES_PREFERRED.withShape(
            VectorShape.forBitSize(SPECIES.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> WORDS = IntVector.SPECIES_PREFERRED.withShape(SPECIES.vectorShape());

    private PanelProduct() {}

    /** {@code slots} rounded up to whole panels. */
    static int padded(int slots) {
        return (int) Math.min(Integer.MAX_VALUE, ((long) slots + WIDTH - 1) / WIDTH * WIDTH);
    }

    /** Where value k of slot m lies in a block of rows of length {@code dim}. */
    static int at(int slot, int dim, int k) {
        return (slot / WIDTH) * WIDTH * dim + k * WIDTH + slot % WIDTH;
    }

    /**
     * {@code c[col*held + m] = (accumulate ? c[col*held + m] : 0) + sum_{j<k} a[at(m, dim, k0 + j)] * x[col*dim + k0 + j]}
     * for every slot {@code m < held} (a multiple of {@link #WIDTH}) and column {@code col < columns},
     * the sum as fused multiply-adds in order of j. {@code packed} holds at least
     * {@link #packedLength}{@code (columns, k)} floats, for the columns' segments in the tiles' order.
     */
    static void multiply(float[] a, int dim, int held, int k0, int k, float[] x, int columns, float[] c,
                         boolean accumulate, float[] packed) {
        if (columns == 1) {
            oneColumnTiles(a, null, dim, held, k0, k, x, c, accumulate);
            return;
        }
        pack(x, dim, k0, k, columns, packed);
        for (int slot = 0; slot < held; slot += WIDTH) {
            panel(a, slot * dim + k0 * WIDTH, k, packed, columns, c, held, slot, accumulate);
        }
    }

    /**
     * As {@link #multiply} for a block of bf16 values ({@link Bf16}), read from memory at half the
     * bytes: one column widens each value as it loads it; more widen each panel's segment into
     * {@code widened} (at least {@link #widenedLength}{@code (k)} floats) for the fp32 kernel.
     */
    static void multiplyBf16(short[] a, int dim, int held, int k0, int k, float[] x, int columns, float[] c,
                             boolean accumulate, float[] packed, float[] widened) {
        int segment = k * WIDTH;
        if (columns == 1) {
            oneColumnTiles(null, a, dim, held, k0, k, x, c, accumulate);
            return;
        }
        pack(x, dim, k0, k, columns, packed);
        for (int slot = 0; slot < held; slot += WIDTH) {
            widen(a, slot * dim + k0 * WIDTH, widened, segment);
            panel(widened, 0, k, packed, columns, c, held, slot, accumulate);
        }
    }

    /** The floats {@link #multiplyBf16} widens a panel's segment of k values into. */
    static int widenedLength(int k) {
        return WIDTH * k;
    }

    /**
     * One column over the block, from fp32 panels {@code a} or else bf16 ones {@code halves}: four
     * panels a quarter of the block apart at a time, then any past the last four alone (the tile
     * reading it four times).
     */
    private static void oneColumnTiles(float[] a, short[] halves, int dim, int held, int k0, int k, float[] x,
                                       float[] c, boolean accumulate) {
        int panels = held / WIDTH;
        int quarter = panels / PANELS;
        for (int panel = 0; panel < quarter; panel++) {
            oneColumnTile(a, halves, dim, k0, k, x, c, accumulate, new int[] {panel * WIDTH,
                (panel + quarter) * WIDTH, (panel + 2 * quarter) * WIDTH, (panel + 3 * quarter) * WIDTH});
        }
        for (int panel = PANELS * quarter; panel < panels; panel++) {
            int slot = panel * WIDTH;
            oneColumnTile(a, halves, dim, k0, k, x, c, accumulate, new int[] {slot, slot, slot, slot});
        }
    }

    /** One column's tile over the panels starting at {@code slots}, on the kernel for the element type. */
    private static void oneColumnTile(float[] a, short[] halves, int dim, int k0, int k, float[] x, float[] c,
                                      boolean accumulate, int[] slots) {
        int a0 = at(slots[0], dim, k0);
        int a1 = at(slots[1], dim, k0);
        int a2 = at(slots[2], dim, k0);
        int a3 = at(slots[3], dim, k0);
        oneColumn(a, halves, a0, a1, a2, a3, k, x, k0, c, slots, accumulate);
    }

    /** The floats {@link #multiply} packs {@code columns} segments of {@code k} values into: whole tiles of them. */
    static int packedLength(int columns, int k) {
        return (columns + COLUMNS - 1) / COLUMNS * COLUMNS * k;
    }

    /**
     * The columns' segments k0..k0+k-1, four at a time and value by value: tile t's value j of its
     * column i at {@code (t*COLUMNS*k) + j*COLUMNS + i}. The last tile repeats the last column where
     * columns run out. The kernel then broadcasts a tile's four values from one place and the next
     * four from the next: with the four columns apart in {@code x} it kept four addresses moving and
     * ran some 30% slower (a harness on the development machine, one thread).
     */
    private static void pack(float[] x, int dim, int k0, int k, int columns, float[] packed) {
        int tiles = (columns + COLUMNS - 1) / COLUMNS;
        for (int t = 0; t < tiles; t++) {
            int base = t * COLUMNS * k;
            for (int i = 0; i < COLUMNS; i++) {
                int from = Math.min(t * COLUMNS + i, columns - 1) * dim + k0;
                for (int j = 0; j < k; j++) {
                    packed[base + j * COLUMNS + i] = x[from + j];
                }
            }
        }
    }

    /** One panel's segment of k values from {@code a[aOff]} times every tile of packed columns. */
    private static void panel(float[] a, int aOff, int k, float[] packed, int columns, float[] c, int held,
                              int slot, boolean accumulate) {
        for (int col = 0; col < columns; col += COLUMNS) {
            int last = Math.min(columns, col + COLUMNS) - 1;
            fourColumns(a, aOff, k, packed, col * k, c, col * held + slot, Math.min(col + 1, last) * held + slot,
                    Math.min(col + 2, last) * held + slot, last * held + slot, accumulate);
        }
    }

    /**
     * The tile: a panel's segment times a tile of packed columns from {@code packed[p]} into c at
     * c0..c3 (each a panel's run of slots in one output column). Columns may repeat: they then
     * store the same values.
     */
    private static void fourColumns(float[] a, int aOff, int k, float[] packed, int p, float[] c, int c0, int c1,
                                    int c2, int c3, boolean accumulate) {
        FloatVector s0;
        FloatVector s1;
        FloatVector t0;
        FloatVector t1;
        FloatVector u0;
        FloatVector u1;
        FloatVector v0;
        FloatVector v1;
        if (accumulate) {
            s0 = FloatVector.fromArray(SPECIES, c, c0);
            s1 = FloatVector.fromArray(SPECIES, c, c0 + LANES);
            t0 = FloatVector.fromArray(SPECIES, c, c1);
            t1 = FloatVector.fromArray(SPECIES, c, c1 + LANES);
            u0 = FloatVector.fromArray(SPECIES, c, c2);
            u1 = FloatVector.fromArray(SPECIES, c, c2 + LANES);
            v0 = FloatVector.fromArray(SPECIES, c, c3);
            v1 = FloatVector.fromArray(SPECIES, c, c3 + LANES);
        } else {
            s0 = FloatVector.zero(SPECIES);
            s1 = s0;
            t0 = s0;
            t1 = s0;
            u0 = s0;
            u1 = s0;
            v0 = s0;
            v1 = s0;
        }
        for (int j = 0; j < k; j++) {
            int at = aOff + j * WIDTH;
            int q = p + j * COLUMNS;
            FloatVector low = FloatVector.fromArray(SPECIES, a, at);
            FloatVector high = FloatVector.fromArray(SPECIES, a, at + LANES);
            FloatVector b = FloatVector.broadcast(SPECIES, packed[q]);
            s0 = low.fma(b, s0);
            s1 = high.fma(b, s1);
            b = FloatVector.broadcast(SPECIES, packed[q + 1]);
            t0 = low.fma(b, t0);
            t1 = high.fma(b, t1);
            b = FloatVector.broadcast(SPECIES, packed[q + 2]);
            u0 = low.fma(b, u0);
            u1 = high.fma(b, u1);
            b = FloatVector.broadcast(SPECIES, packed[q + 3]);
            v0 = low.fma(b, v0);
            v1 = high.fma(b, v1);
        }
        s0.intoArray(c, c0);
        s1.intoArray(c, c0 + LANES);
        t0.intoArray(c, c1);
        t1.intoArray(c, c1 + LANES);
        u0.intoArray(c, c2);
        u1.intoArray(c, c2 + LANES);
        v0.intoArray(c, c3);
        v1.intoArray(c, c3 + LANES);
    }

    /**
     * One column's tile: four panels' segments from a[a0..a3] times x[k0..k0+k-1], into c at the
     * panels' slots. A single column does too little arithmetic per value to hide memory: read as
     * four streams a quarter of the block apart, the block streams at up to twice the rate of one
     * stream a thread (as {@link VectorProduct} found for rows); a panel's stream runs on into the
     * next panel of its quarter. Each output's sum is in order of k, as {@link #fourColumns}'s.
     * The panels are fp32 {@code a} or else bf16 {@code halves}, each value widened as it is loaded:
     * half the bytes read (widened into a buffer first, four panels at a time, W3 with bf16 rows took
     * as long as with fp32 ones). Which one is a test the JIT takes out of the loop.
     */
    private static void oneColumn(float[] a, short[] halves, int a0, int a1, int a2, int a3, int k, float[] x,
                                  int k0, float[] c, int[] slots, boolean accumulate) {
        FloatVector s0;
        FloatVector s1;
        FloatVector t0;
        FloatVector t1;
        FloatVector u0;
        FloatVector u1;
        FloatVector v0;
        FloatVector v1;
        if (accumulate) {
            s0 = FloatVector.fromArray(SPECIES, c, slots[0]);
            s1 = FloatVector.fromArray(SPECIES, c, slots[0] + LANES);
            t0 = FloatVector.fromArray(SPECIES, c, slots[1]);
            t1 = FloatVector.fromArray(SPECIES, c, slots[1] + LANES);
            u0 = FloatVector.fromArray(SPECIES, c, slots[2]);
            u1 = FloatVector.fromArray(SPECIES, c, slots[2] + LANES);
            v0 = FloatVector.fromArray(SPECIES, c, slots[3]);
            v1 = FloatVector.fromArray(SPECIES, c, slots[3] + LANES);
        } else {
            s0 = FloatVector.zero(SPECIES);
            s1 = s0;
            t0 = s0;
            t1 = s0;
            u0 = s0;
            u1 = s0;
            v0 = s0;
            v1 = s0;
        }
        for (int j = 0; j < k; j++) {
            int step = j * WIDTH;
            FloatVector b = FloatVector.broadcast(SPECIES, x[k0 + j]);
            s0 = load(a, halves, a0 + step).fma(b, s0);
            s1 = load(a, halves, a0 + step + LANES).fma(b, s1);
            t0 = load(a, halves, a1 + step).fma(b, t0);
            t1 = load(a, halves, a1 + step + LANES).fma(b, t1);
            u0 = load(a, halves, a2 + step).fma(b, u0);
            u1 = load(a, halves, a2 + step + LANES).fma(b, u1);
            v0 = load(a, halves, a3 + step).fma(b, v0);
            v1 = load(a, halves, a3 + step + LANES).fma(b, v1);
        }
        s0.intoArray(c, slots[0]);
        s1.intoArray(c, slots[0] + LANES);
        t0.intoArray(c, slots[1]);
        t1.intoArray(c, slots[1] + LANES);
        u0.intoArray(c, slots[2]);
        u1.intoArray(c, slots[2] + LANES);
        v0.intoArray(c, slots[3]);
        v1.intoArray(c, slots[3] + LANES);
    }

    /**
     * {@code out[k] = Bf16.toFloat(in[inOff + k])} for {@code k < count}, a multiple of the lanes
     * (a panel's segment always is): sign-extended to 32 bits, then shifted into the high half.
     */
    static void widen(short[] in, int inOff, float[] out, int count) {
        for (int k = 0; k < count; k += LANES) {
            widened(in, inOff + k).intoArray(out, k);
        }
    }

    /** LANES panel values from {@code from}: of fp32 {@code a}, or else of bf16 {@code halves}, widened. */
    private static FloatVector load(float[] a, short[] halves, int from) {
        return halves == null ? FloatVector.fromArray(SPECIES, a, from) : widened(halves, from);
    }

    /** LANES bf16 values from {@code in[from]} as floats. */
    private static FloatVector widened(short[] in, int from) {
        return ((IntVector) ShortVector.fromArray(HALVES, in, from).convertShape(VectorOperators.S2I, WORDS, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }
}
