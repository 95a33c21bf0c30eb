package dev.imprint.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A streaming read on the Vector API, for {@link MachineLimits}: sums an array with eight
 * independent vector accumulators, so that neither the adds' latency nor the loop bounds the rate
 * at which memory arrives. Loaded only where {@code jdk.incubator.vector} is.
 */
final class VectorRead {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();

    private VectorRead() {}

    /** The sum of {@code a}, whose length is a multiple of 8 lanes. */
    static double sum(float[] a) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        FloatVector s4 = s0;
        FloatVector s5 = s0;
        FloatVector s6 = s0;
        FloatVector s7 = s0;
        for (int i = 0; i + 8 * LANES <= a.length; i += 8 * LANES) {
            s0 = s0.add(FloatVector.fromArray(SPECIES, a, i));
            s1 = s1.add(FloatVector.fromArray(SPECIES, a, i + LANES));
            s2 = s2.add(FloatVector.fromArray(SPECIES, a, i + 2 * LANES));
            s3 = s3.add(FloatVector.fromArray(SPECIES, a, i + 3 * LANES));
            s4 = s4.add(FloatVector.fromArray(SPECIES, a, i + 4 * LANES));
            s5 = s5.add(FloatVector.fromArray(SPECIES, a, i + 5 * LANES));
            s6 = s6.add(FloatVector.fromArray(SPECIES, a, i + 6 * LANES));
            s7 = s7.add(FloatVector.fromArray(SPECIES, a, i + 7 * LANES));
        }
        return s0.add(s1).add(s2.add(s3)).add(s4.add(s5).add(s6.add(s7))).reduceLanes(VectorOperators.ADD);
    }
}
