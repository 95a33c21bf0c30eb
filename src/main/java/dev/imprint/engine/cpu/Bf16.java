package dev.imprint.engine.cpu;

/**
 * bf16 as raw bits, the high half of an fp32: what {@code --cpu-bf16-cosine} stores EMBEDDING unit
 * rows as. Rounding is to nearest, ties to even, as the CUDA kernels' (kernels/common.cuh), so the
 * two backends hold the same values for the same fp32 unit rows.
 */
final class Bf16 {
    private Bf16() {}

    /** {@code f} rounded to the nearest bf16, ties to even; {@code f} finite. */
    static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        // Just under half a bf16 ulp, plus the kept low bit: the sum carries into the kept bits
        // when the dropped half is over half an ulp, or exactly half with the kept value odd.
        bits += 0x7fff + ((bits >>> 16) & 1);
        return (short) (bits >>> 16);
    }

    /** The bf16 {@code b} as a float, exactly. */
    static float toFloat(short b) {
        return Float.intBitsToFloat(b << 16);
    }

    /** {@code out[outOff + k] = toFloat(in[inOff + k])} for {@code k < count}. */
    static void widen(short[] in, int inOff, float[] out, int outOff, int count) {
        for (int k = 0; k < count; k++) {
            out[outOff + k] = Float.intBitsToFloat(in[inOff + k] << 16);
        }
    }
}
