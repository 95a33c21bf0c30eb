package dev.imprint.engine.cpu;

import jdk.incubator.vector.FloatVector;

/**
 * Whether this CPU's vectors are a width the Vector API kernels are written for: 4 to 16 floats
 * (SSE to AVX-512, NEON, SVE up to 512 bits). {@link VectorProduct}'s lane sums fold those widths,
 * and its bf16 loads take half a vector; narrower vectors (e.g. {@code -XX:MaxVectorSize=8}) would
 * fail its class initialisation. A class of its own so that asking loads neither kernel; loaded only
 * where {@code jdk.incubator.vector} is.
 */
final class VectorWidth {
    private VectorWidth() {}

    static boolean fitsTheKernels() {
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        return lanes >= 4 && lanes <= 16;
    }
}
