package dev.imprint.synth;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Deterministic standard-normal streams keyed by (seed, name): the same key yields the same values
 * on every JVM and JDK version, because only SplitMix64 and a hand-written Box-Muller transform are
 * used (never {@code nextGaussian}, whose algorithm differs between JDKs).
 */
final class SeededNoise {
    private final SplittableRandom random;
    private double spare;
    private boolean hasSpare;

    SeededNoise(long seed, String name) {
        this.random = new SplittableRandom(mix(seed, name));
    }

    /** A standard-normal value. */
    double gaussian() {
        if (hasSpare) {
            hasSpare = false;
            return spare;
        }
        double u1 = 1.0 - random.nextDouble();
        double u2 = random.nextDouble();
        double radius = Math.sqrt(-2.0 * Math.log(u1));
        double angle = 2.0 * Math.PI * u2;
        spare = radius * Math.sin(angle);
        hasSpare = true;
        return radius * Math.cos(angle);
    }

    /** A value uniform in [0, 1). */
    double uniform() {
        return random.nextDouble();
    }

    /** {@code n} standard-normal values. */
    double[] gaussians(int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = gaussian();
        }
        return out;
    }

    private static long mix(long seed, String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        long z = seed * 0x9E3779B97F4A7C15L + h;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
