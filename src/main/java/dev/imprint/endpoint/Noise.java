package dev.imprint.endpoint;

import java.nio.charset.StandardCharsets;

/**
 * Deterministic pseudo-random numbers keyed by strings and indices: the same key gives the same
 * number on every JVM and run, which is what makes two captures of a synthetic model agree.
 * Independent keys give independent-looking numbers (SplitMix64 finalizer over FNV-1a hashes).
 */
final class Noise {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private Noise() {}

    /** A 64-bit hash of the UTF-8 bytes of {@code text}. */
    static long hash(String text) {
        long h = 0xCBF29CE484222325L;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001B3L;
        }
        return mix(h);
    }

    /** Combines hashes into one; order matters. */
    static long combine(long a, long b) {
        return mix(a * GOLDEN + b);
    }

    /** SplitMix64's finalizer: every input bit affects every output bit. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A uniform double in (0, 1) from {@code key}; never exactly 0, so its log is finite. */
    static double uniform(long key) {
        return ((mix(key) >>> 11) + 0.5) * 0x1.0p-53;
    }

    /** A standard normal draw from {@code key} (Box-Muller on two uniforms derived from it). */
    static double gaussian(long key) {
        double u1 = uniform(key);
        double u2 = uniform(key + GOLDEN);
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** A sequence of numbers from one seed, for choices made in a loop. */
    static final class Stream {
        private long state;

        Stream(long seed) {
            this.state = seed;
        }

        long nextLong() {
            state += GOLDEN;
            return mix(state);
        }

        /** Uniform in [0, bound). */
        int nextInt(int bound) {
            return (int) Long.remainderUnsigned(nextLong(), bound);
        }

        /** Uniform in (0, 1). */
        double nextDouble() {
            return uniform(nextLong());
        }
    }
}
