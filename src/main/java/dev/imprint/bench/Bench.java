package dev.imprint.bench;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Reference;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.Suspect;
import dev.imprint.engine.BackendProvider;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.store.FingerprintStore;
import dev.imprint.store.LoadReport;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

/**
 * Runs one benchmark workload in-process through the product path, {@link ImprintEngine#scoreAll},
 * and reports seconds per batch of S suspects.
 *
 * <p>The references live only in memory (the store discards writes): the benchmark measures
 * scoring, not disk. Data are seeded, so every run scores the same numbers.
 */
public final class Bench {
    private Bench() {}

    /** The timings of one workload run, in seconds per batch. */
    public record Result(Workload workload, String backend, int references, Set<Metric> metrics, int reps,
                         double minS, double medianS, double maxS) {

        /** One line, ending in {@code median_s=<seconds per batch>}. */
        public String line() {
            return String.format(Locale.ROOT,
                    "workload=%s backend=%s kind=%s M=%d P=%d D=%d S=%d metrics=%s reps=%d min_s=%.6f max_s=%.6f median_s=%.6f",
                    workload, backend, workload.kind(), references, workload.probes(), workload.dim(),
                    workload.suspects(), metrics.stream().map(Metric::name).collect(Collectors.joining(",")), reps,
                    minS, maxS, medianS);
        }
    }

    /**
     * Builds {@code workload} at {@code scale} (which multiplies M), scores {@code warmup} batches
     * untimed, then times {@code reps} batches.
     */
    public static Result run(Workload workload, double scale, int warmup, int reps) {
        return run(workload, scale, warmup, reps, BackendProvider.select());
    }

    /** As {@link #run(Workload, double, int, int)}, on {@code selected}, which the run closes. */
    public static Result run(Workload workload, double scale, int warmup, int reps, SelectedBackend selected) {
        int m = workload.references(scale);
        ProbeSetKind kind = workload.kind();
        ProbeSet set = ProbeSet.fromRequest("bench-" + workload.name().toLowerCase(Locale.ROOT),
                workload.probes(), workload.dim(), kind, 0, "benchmark " + workload);
        try (ImprintEngine engine = ImprintEngine.open(new DiscardingStore(), selected)) {
            engine.createProbeSet(set);
            SplittableRandom rng = new SplittableRandom(20261128L + workload.ordinal());
            float[] first = null;
            for (int i = 0; i < m; i++) {
                float[] rows = rows(kind, set.numProbes(), set.dim(), rng);
                if (first == null) {
                    first = rows;
                }
                engine.putReference(set.id(), String.format(Locale.ROOT, "ref-%05d", i),
                        Map.of("family", "f" + (i % 8)), rows, false);
            }
            List<Suspect> suspects = new ArrayList<>(workload.suspects());
            for (int s = 0; s < workload.suspects(); s++) {
                float[] rows = near(kind, first, rows(kind, set.numProbes(), set.dim(), rng), 0.1 + 0.8 * s
                        / Math.max(1, workload.suspects()));
                suspects.add(Suspect.of(set, set.numProbes(), set.dim(), rows, null));
            }
            ScoreQuery query = ScoreQuery.defaults(set);
            for (int i = 0; i < warmup; i++) {
                engine.scoreAll(set, suspects, query);
            }
            double[] seconds = new double[reps];
            for (int i = 0; i < reps; i++) {
                long start = System.nanoTime();
                engine.scoreAll(set, suspects, query);
                seconds[i] = (System.nanoTime() - start) / 1e9;
            }
            Arrays.sort(seconds);
            double median = reps % 2 == 1 ? seconds[reps / 2] : (seconds[reps / 2 - 1] + seconds[reps / 2]) / 2;
            return new Result(workload, engine.backendName(), m, query.metrics(), reps, seconds[0], median,
                    seconds[reps - 1]);
        }
    }

    /** Rows like a model's: gaussian embeddings, or softmax next-token distributions of moderate sharpness. */
    static float[] rows(ProbeSetKind kind, int probes, int dim, SplittableRandom rng) {
        float[] out = new float[probes * dim];
        double[] row = new double[dim];
        for (int p = 0; p < probes; p++) {
            if (kind == ProbeSetKind.EMBEDDING) {
                for (int k = 0; k < dim; k++) {
                    out[p * dim + k] = (float) rng.nextGaussian();
                }
                continue;
            }
            double sum = 0;
            for (int k = 0; k < dim; k++) {
                row[k] = Math.exp(2.0 * rng.nextGaussian());
                sum += row[k];
            }
            for (int k = 0; k < dim; k++) {
                out[p * dim + k] = (float) (row[k] / sum);
            }
        }
        return out;
    }

    /** {@code (1-w)*base + w*other}: a suspect that is part copy of {@code base}. */
    private static float[] near(ProbeSetKind kind, float[] base, float[] other, double w) {
        float[] out = new float[base.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) ((1 - w) * base[i] + w * other[i]);
        }
        return out;
    }

    /** A store that keeps nothing: the benchmark measures scoring, and its references are regenerated each run. */
    private static final class DiscardingStore implements FingerprintStore {
        @Override
        public LoadReport load(LoadVisitor visitor) {
            return new LoadReport(0, 0, List.of(), 0);
        }

        @Override
        public void saveProbeSet(ProbeSet set) {
        }

        @Override
        public void deleteProbeSet(String probeSetId) {
        }

        @Override
        public void saveReference(Reference reference) {
        }

        @Override
        public void deleteReference(String probeSetId, String modelId) {
        }

        @Override
        public String location() {
            return "(memory only)";
        }

        @Override
        public void close() {
        }
    }
}
