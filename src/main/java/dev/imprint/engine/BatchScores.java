package dev.imprint.engine;

import dev.imprint.core.Metric;
import java.util.EnumMap;
import java.util.Map;

/**
 * The scores of S suspects against R references: for each metric, a value per (suspect,
 * reference) and optionally a value per (suspect, reference, probe). Indexing is
 * {@code s * R + r} for values and {@code (s * R + r) * N + i} for per-probe values, N being the
 * number of probes in the batch.
 */
public final class BatchScores {
    private final int suspects;
    private final int references;
    private final int probes;
    private final Map<Metric, double[]> values = new EnumMap<>(Metric.class);
    private final Map<Metric, double[]> perProbe = new EnumMap<>(Metric.class);
    /** Per suspect, the references a backend ranked and kept, closest first; null where it did not. */
    private final int[][] kept;

    public BatchScores(int suspects, int references, int probes) {
        this.suspects = suspects;
        this.references = references;
        this.probes = probes;
        this.kept = new int[suspects][];
    }

    public int suspects() {
        return suspects;
    }

    public int references() {
        return references;
    }

    public int probes() {
        return probes;
    }

    /** The S×R values of {@code metric}, created zeroed on first use; index {@code s * R + r}. */
    public double[] values(Metric metric) {
        return values.computeIfAbsent(metric, m -> new double[suspects * references]);
    }

    /** The S×R×N per-probe values of {@code metric}, created zeroed on first use. */
    public double[] perProbe(Metric metric) {
        return perProbe.computeIfAbsent(metric, m -> new double[Math.multiplyExact(suspects * references, probes)]);
    }

    public boolean has(Metric metric) {
        return values.containsKey(metric);
    }

    public boolean hasPerProbe(Metric metric) {
        return perProbe.containsKey(metric);
    }

    /**
     * Records that the backend ranked {@code suspect}'s references itself and filled in values
     * (and per-probe values) only for {@code closestFirst}, reference indices in rank order.
     */
    public void keep(int suspect, int[] closestFirst) {
        kept[suspect] = closestFirst;
    }

    /** The references the backend kept for {@code suspect}, closest first, or null when it kept them all unranked. */
    public int[] kept(int suspect) {
        return kept[suspect];
    }

    public double value(Metric metric, int suspect, int reference) {
        return values.get(metric)[suspect * references + reference];
    }

    /** Copies the per-probe values of one (suspect, reference) pair. */
    public double[] perProbe(Metric metric, int suspect, int reference) {
        double[] all = perProbe.get(metric);
        int from = (suspect * references + reference) * probes;
        return java.util.Arrays.copyOfRange(all, from, from + probes);
    }
}
