package dev.imprint.bench;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Reference;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.Suspect;
import dev.imprint.engine.BackendProvider;
import dev.imprint.engine.BatchScores;
import dev.imprint.engine.ForwardingBackend;
import dev.imprint.engine.ForwardingResidentReferences;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.ScoringBackend;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.SuspectBatch;
import dev.imprint.engine.cuda.CudaBackend;
import dev.imprint.engine.cuda.CudaStages;
import dev.imprint.store.MemoryOnlyStore;
import dev.imprint.synth.SynthParams;
import dev.imprint.synth.SynthScenario;
import dev.imprint.topk.TopKRows;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.DoubleStream;

/**
 * Runs one benchmark workload in-process through the product path, {@link ImprintEngine#scoreAll},
 * and reports seconds per batch of S suspects.
 *
 * <p>The references live only in memory (the store discards writes): the benchmark measures
 * scoring, not disk. Data are seeded, so every run scores the same numbers.
 */
public final class Bench {
    private static final long MIN_WARMUP_NANOS = 3_000_000_000L;
    /** Longest a warm-up goes on for the JIT to settle ({@link JitSettling}). */
    private static final long MAX_WARMUP_NANOS = 20_000_000_000L;
    private static final int MAX_WARMUP_CALLS = 20_000;

    private Bench() {}

    /**
     * The timings of one workload run, in seconds per batch.
     *
     * @param form            null for W1-W4; "compact" or "dense" for the two runs of a top-k workload
     * @param dim             D of the rows scored
     * @param denseOverCompact the dense run's median over the compact run's, on the dense run only; else NaN
     * @param profile         per-stage lines of the profiled calls (see {@link #run(Workload, double, int, int,
     *                        SelectedBackend, boolean, int)}), empty when not profiled
     */
    public record Result(Workload workload, String form, String backend, int references, int dim,
                         Set<Metric> metrics, int topK, int reps, double minS, double medianS, double maxS,
                         double denseOverCompact, List<String> profile) {

        /** One line, ending in {@code median_s=<seconds per batch>}. */
        public String line() {
            return String.format(Locale.ROOT,
                    "workload=%s%s backend=%s kind=%s M=%d P=%d D=%d S=%d metrics=%s top_k=%d reps=%d min_s=%.6f "
                            + "max_s=%.6f%s median_s=%.6f",
                    workload, form == null ? "" : " form=" + form, backend, workload.kind(), references,
                    workload.probes(), dim, workload.suspects(),
                    metrics.stream().map(Metric::name).collect(Collectors.joining(",")), topK, reps, minS, maxS,
                    Double.isNaN(denseOverCompact) ? ""
                            : String.format(Locale.ROOT, " dense_over_compact=%.2f", denseOverCompact),
                    medianS);
        }
    }

    /** The two runs of a top-k workload on the same distributions: compact rows, then dense ones (null if not run). */
    public record TopKResult(Result compact, Result dense) {
        /** The compact run's line and profile, then the dense run's, whose line carries the ratio of the medians. */
        public List<String> lines() {
            List<String> out = new ArrayList<>();
            out.add(compact.line());
            out.addAll(compact.profile());
            if (dense != null) {
                out.add(dense.line());
                out.addAll(dense.profile());
            }
            return out;
        }
    }

    /**
     * Builds {@code workload} at {@code scale} (which multiplies M), scores {@code warmup} batches (and, when that is not 0, more until a second has passed)
     * untimed, then times {@code reps} batches.
     */
    public static Result run(Workload workload, double scale, int warmup, int reps) {
        return run(workload, scale, warmup, reps, BackendProvider.select());
    }

    /** As {@link #run(Workload, double, int, int)}, on {@code selected}, which the run closes. */
    public static Result run(Workload workload, double scale, int warmup, int reps, SelectedBackend selected) {
        return run(workload, scale, warmup, reps, selected, false, 0);
    }

    /**
     * As {@link #run(Workload, double, int, int, SelectedBackend)}; when {@code profile}, then
     * scores {@code reps} more batches, untimed in the result, with the stages of each call timed:
     * the engine's whole call, the backend's score call inside it, their difference (selection,
     * ranking and results, in the engine), and on the CUDA backend each device stage
     * ({@link CudaStages}). Each profile line reads
     * {@code profile workload=W backend=B stage=NAME calls=N host_ms=X device_ms=Y}, medians over
     * the calls, device_ms "-" for stages timed on the host only; a profile that fails is one line
     * {@code stage=failed reason=...} after the prefix. Each suspect keeps its {@code topK} best
     * matches (0: every reference, as the workloads are defined).
     */
    public static Result run(Workload workload, double scale, int warmup, int reps, SelectedBackend selected,
                             boolean profile, int topK) {
        return run(workload, scale, warmup, Pacing.fixed(reps), selected, profile, topK);
    }

    /** As {@link #run(Workload, double, int, int, SelectedBackend, boolean, int)}, its timed calls started by {@code pacing}. */
    public static Result run(Workload workload, double scale, int warmup, Pacing pacing, SelectedBackend selected,
                             boolean profile, int topK) {
        if (workload.topK()) {
            throw new IllegalArgumentException(workload + " scores two forms; run it with runTopK");
        }
        if (workload.attribution() && scale != 1) {
            throw new IllegalArgumentException(workload + " is a fixed scenario; scale=" + scale + " applies to W1-W6");
        }
        int m = workload.references(scale);
        ProbeSet set = probeSet(workload);
        TimedBackend timed = new TimedBackend(selected.backend());
        try (ImprintEngine engine = ImprintEngine.open(new MemoryOnlyStore(),
                new SelectedBackend(timed, selected.reason()))) {
            List<Suspect> suspects = workload.attribution() ? populateScenario(engine, set)
                    : populate(engine, set, workload, m);
            return time(engine, timed, workload, null, set, m, suspects, warmup, pacing, profile, topK, null);
        }
    }

    /**
     * Runs a top-k workload ({@link Workload#topK()}): builds M references' top-k answers (k=20 of
     * 63 candidate tokens per probe, the rest of the mass unlisted) and S suspects that part copy
     * the first, turns them into rows with {@link TopKRows} over each probe's support (at most D
     * keys, zero beyond), and times them as {@link #run(Workload, double, int, int, SelectedBackend,
     * boolean, int)} does; then drops that probe set and times the same distributions over a
     * vocabulary of {@link Workload#denseDim()} tokens (each listed key's probability on its token,
     * {@value TopKRows#OTHER}'s spread evenly over every token outside the support), on the same
     * engine and backend, which the run closes.
     */
    public static TopKResult runTopK(Workload workload, double scale, int warmup, int reps, SelectedBackend selected,
                                     boolean profile, int topK) {
        return runTopK(workload, scale, warmup, reps, selected, profile, topK, true);
    }

    /**
     * As {@link #runTopK(Workload, double, int, int, SelectedBackend, boolean, int)}, the dense run only
     * when {@code alsoDense}: without it the result's dense run is null, and the run needs little heap.
     */
    public static TopKResult runTopK(Workload workload, double scale, int warmup, int reps, SelectedBackend selected,
                                     boolean profile, int topK, boolean alsoDense) {
        return runTopK(workload, scale, warmup, () -> Pacing.fixed(reps), selected, profile, topK, alsoDense);
    }

    /**
     * As {@link #runTopK(Workload, double, int, int, SelectedBackend, boolean, int, boolean)}, each form's
     * timed calls started by a pacing from {@code pacing}.
     */
    public static TopKResult runTopK(Workload workload, double scale, int warmup, Supplier<Pacing> pacing,
                                     SelectedBackend selected, boolean profile, int topK, boolean alsoDense) {
        if (!workload.topK()) {
            throw new IllegalArgumentException(workload + " is not a top-k workload");
        }
        int m = workload.references(scale);
        TopKData data = TopKData.generate(workload, m);
        String name = "bench-" + workload.name().toLowerCase(Locale.ROOT);
        TimedBackend timed = new TimedBackend(selected.backend());
        try (ImprintEngine engine = ImprintEngine.open(new MemoryOnlyStore(),
                new SelectedBackend(timed, selected.reason()))) {
            ProbeSet compactSet = ProbeSet.fromRequest(name + "-compact", workload.probes(), workload.dim(),
                    ProbeSetKind.DISTRIBUTION, 0, "benchmark " + workload + ", compact top-k rows");
            List<Suspect> suspects = populate(engine, compactSet, data, m, data::compact);
            Result compact = time(engine, timed, workload, "compact", compactSet, m, suspects, warmup, pacing.get(),
                    profile, topK, null);
            if (!alsoDense) {
                return new TopKResult(compact, null);
            }
            engine.deleteProbeSet(compactSet.id(), true);

            ProbeSet denseSet = ProbeSet.fromRequest(name + "-dense", workload.probes(), workload.denseDim(),
                    ProbeSetKind.DISTRIBUTION, 0, "benchmark " + workload + ", the same distributions dense");
            suspects = populate(engine, denseSet, data, m, data::dense);
            Result dense = time(engine, timed, workload, "dense", denseSet, m, suspects, warmup, pacing.get(), profile,
                    topK, compact);
            return new TopKResult(compact, dense);
        }
    }

    /**
     * Creates {@code set} with {@code m} references and returns the S suspects, each model's rows
     * (references 0..m-1, then suspects m..m+S-1) taken from {@code rows}.
     */
    private static List<Suspect> populate(ImprintEngine engine, ProbeSet set, TopKData data, int m,
                                          IntFunction<float[]> rows) {
        engine.createProbeSet(set);
        for (int i = 0; i < m; i++) {
            engine.putReference(set.id(), String.format(Locale.ROOT, "ref-%05d", i),
                    Map.of("family", "f" + (i % 8)), rows.apply(i), false);
        }
        List<Suspect> suspects = new ArrayList<>(data.suspects());
        for (int s = 0; s < data.suspects(); s++) {
            suspects.add(Suspect.of(set, set.numProbes(), set.dim(), rows.apply(m + s), null));
        }
        return suspects;
    }

    /**
     * Scores {@code warmup} batches untimed, then times the calls {@code pacing} starts, then profiles
     * as many more when asked; {@code compact} is the compact run a dense run is compared with, else null.
     */
    private static Result time(ImprintEngine engine, TimedBackend timed, Workload workload, String form,
                               ProbeSet set, int m, List<Suspect> suspects, int warmup, Pacing pacing,
                               boolean profile, int topK, Result compact) {
        ScoreQuery query = workload.attribution() ? query(set, topK).withAttribution(Workload.ATTRIBUTION_ALPHA)
                : query(set, topK);
        // At least three seconds of warm-up too: a small workload's thirty calls end before the JIT
        // has compiled its per-probe code, and would time the interpreter; W5 reaches its steady
        // speed after some 8000 calls (2 s), a second in it still ran 1.5x slower. Then on until the
        // JIT has settled: a compiler thread still at work takes one of two cores from the scoring.
        boolean warm = warmup > 0;
        double[] seconds = timedCalls(engine, set, suspects, query, warmup, warm ? MIN_WARMUP_NANOS : 0,
                warm ? JitSettling.ofThisJvm() : null, pacing);
        if (seconds.length == 0) {
            throw new IllegalStateException("the pace ended before the first timed call of " + workload);
        }
        int reps = seconds.length;
        double median = CudaStages.median(seconds);
        List<String> lines = List.of();
        if (profile) {
            try {
                lines = profile(engine, timed, set, suspects, query, reps);
            } catch (RuntimeException e) {
                // The profile is a diagnostic: its failure is reported, and the timing above still stands.
                lines = List.of("stage=failed reason=" + String.valueOf(e).replace('\n', ' '));
            }
        }
        String prefix = String.format(Locale.ROOT, "profile workload=%s%s backend=%s ", workload,
                form == null ? "" : " form=" + form, engine.backendName());
        return new Result(workload, form, engine.backendName(), m, set.dim(), query.metrics(), topK, reps, seconds[0],
                median, seconds[reps - 1], compact == null ? Double.NaN : median / compact.medianS(),
                lines.stream().map(l -> prefix + l).toList());
    }

    /**
     * Seconds of the calls {@code pacing} starts, sorted, after {@code warmup} untimed calls and more
     * until {@code minWarmupNanos} have passed and, given {@code jit}, it has settled; those further
     * calls stop at {@value #MAX_WARMUP_CALLS} calls in all or {@link #MAX_WARMUP_NANOS} from the start.
     */
    static double[] timedCalls(ImprintEngine engine, ProbeSet set, List<Suspect> suspects, ScoreQuery query,
                               int warmup, long minWarmupNanos, JitSettling jit, Pacing pacing) {
        long warmStart = System.nanoTime();
        for (int i = 0; i < warmup; i++) {
            engine.scoreAll(set, suspects, query);
        }
        for (int i = warmup; i < MAX_WARMUP_CALLS; i++) {
            long warm = System.nanoTime() - warmStart;
            boolean settled = jit == null || jit.settled();
            if (warm >= MAX_WARMUP_NANOS || (warm >= minWarmupNanos && settled)) {
                break;
            }
            engine.scoreAll(set, suspects, query);
        }
        // The references' registration left gigabytes of garbage (each growth of a set copies its
        // arrays; in a sweep, the last point's engine too) that G1 otherwise collects in mixed pauses
        // of 60-150 ms in the middle of the timed calls (W4, -Xlog:gc). A running server paid for
        // that long before; collected here, the timed calls collect only their own garbage, as the
        // server's calls do.
        System.gc();
        DoubleStream.Builder seconds = DoubleStream.builder();
        pacing.ready();
        while (pacing.next()) {
            long warmNanos = pacing.untimedNanosBefore();
            if (warmNanos > 0) {
                long turnStart = System.nanoTime();
                do {
                    engine.scoreAll(set, suspects, query);
                } while (System.nanoTime() - turnStart < warmNanos);
            }
            long start = System.nanoTime();
            engine.scoreAll(set, suspects, query);
            double s = (System.nanoTime() - start) / 1e9;
            seconds.add(s);
            pacing.timed(s);
        }
        return seconds.build().sorted().toArray();
    }

    /** The workload's query: the kind's default metrics and order, the best {@code topK} matches (0: all). */
    static ScoreQuery query(ProbeSet set, int topK) {
        return ScoreQuery.resolve(set, Set.of(), null, topK, List.of(), Map.of(), false);
    }

    /** The probe set of {@code workload}. */
    static ProbeSet probeSet(Workload workload) {
        return ProbeSet.fromRequest("bench-" + workload.name().toLowerCase(Locale.ROOT), workload.probes(),
                workload.dim(), workload.kind(), 0, "benchmark " + workload);
    }

    /**
     * Creates {@code set} in {@code engine} with {@code m} seeded references, and returns the
     * workload's S suspects, each part copy of the first reference.
     */
    static List<Suspect> populate(ImprintEngine engine, ProbeSet set, Workload workload, int m) {
        ProbeSetKind kind = set.kind();
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
            float[] rows = near(first, rows(kind, set.numProbes(), set.dim(), rng), 0.1 + 0.8 * s
                    / Math.max(1, workload.suspects()));
            suspects.add(Suspect.of(set, set.numProbes(), set.dim(), rows, null));
        }
        return suspects;
    }

    /**
     * Creates {@code set} in {@code engine} with the references of {@link Workload#A1}'s synthetic
     * scenario, labelled as {@code imprint synth} labels them, and returns its suspects.
     */
    static List<Suspect> populateScenario(ImprintEngine engine, ProbeSet set) {
        engine.createProbeSet(set);
        SynthScenario scenario = SynthScenario.generate(set, Workload.ATTRIBUTION_SEED, Workload.ATTRIBUTION_SPEC,
                SynthParams.defaults());
        for (SynthScenario.SyntheticModel model : scenario.references()) {
            engine.putReference(set.id(), model.modelId(), model.labels(), model.rows(), false);
        }
        List<Suspect> suspects = new ArrayList<>();
        for (SynthScenario.SyntheticModel model : scenario.suspects()) {
            suspects.add(Suspect.of(set, set.numProbes(), set.dim(), model.rows(), null));
        }
        return suspects;
    }

    /** Scores {@code calls} batches with every stage timed; one line per stage, without the prefix. */
    private static List<String> profile(ImprintEngine engine, TimedBackend timed, ProbeSet set,
                                        List<Suspect> suspects, ScoreQuery query, int calls) {
        CudaStages stages = timed.inner() instanceof CudaBackend cuda ? cuda.stages() : null;
        if (stages != null) {
            stages.reset();
            stages.enable(true);
        }
        double[] total = new double[calls];
        double[] backend = new double[calls];
        try {
            for (int i = 0; i < calls; i++) {
                timed.scoreNanos = 0;
                long start = System.nanoTime();
                engine.scoreAll(set, suspects, query);
                total[i] = (System.nanoTime() - start) / 1e6;
                backend[i] = timed.scoreNanos / 1e6;
            }
        } finally {
            if (stages != null) {
                stages.enable(false);
            }
        }
        double[] outside = new double[calls];
        for (int i = 0; i < calls; i++) {
            outside[i] = total[i] - backend[i];
        }
        List<String> lines = new ArrayList<>();
        lines.add(hostLine("engine_score_all_total", total));
        lines.add(hostLine("backend_score_total", backend));
        lines.add(hostLine("engine_outside_backend", outside));
        if (stages != null) {
            stages.summary().forEach(s -> lines.add(CudaStages.line(s)));
        }
        return lines;
    }

    private static String hostLine(String name, double[] ms) {
        return CudaStages.line(new CudaStages.Stage(name, ms.length, CudaStages.median(ms), Double.NaN));
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
    static float[] near(float[] base, float[] other, double w) {
        float[] out = new float[base.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) ((1 - w) * base[i] + w * other[i]);
        }
        return out;
    }

    /** The backend the engine was given, with the time its resident sets spend in score summed. */
    private static final class TimedBackend extends ForwardingBackend {
        /** Nanoseconds spent in score since last cleared; the benchmark scores from one thread. */
        long scoreNanos;

        TimedBackend(ScoringBackend inner) {
            super(inner);
        }

        ScoringBackend inner() {
            return delegate;
        }

        @Override
        public ResidentReferences createResidentSet(ProbeSet set) {
            return new ForwardingResidentReferences(delegate.createResidentSet(set)) {
                @Override
                public BatchScores score(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics,
                                         boolean perProbe) {
                    return timed(() -> delegate.score(batch, modelIds, metrics, perProbe));
                }

                @Override
                public BatchScores scoreClosest(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics,
                                                boolean perProbe, Metric orderBy, int k) {
                    return timed(() -> delegate.scoreClosest(batch, modelIds, metrics, perProbe, orderBy, k));
                }
            };
        }

        private BatchScores timed(Supplier<BatchScores> call) {
            long start = System.nanoTime();
            try {
                return call.get();
            } finally {
                scoreNanos += System.nanoTime() - start;
            }
        }
    }
}
