package dev.imprint.bench;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.Suspect;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cuda.CudaStages;
import dev.imprint.store.LoadReport;
import dev.imprint.store.MemoryOnlyStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * Cost curves: time per suspect and memory per reference as one dimension of a scoring shape
 * grows, the others held at the family's base, through the product path
 * ({@link ImprintEngine#scoreAll}) as {@link Bench} times it.
 *
 * <p>Each point scores the family's default metrics and keeps the best {@value #MATCHES} matches of
 * each suspect; along M it is also timed with a verdict ({@link ScoreQuery#withAttribution}), whose
 * cost per suspect must not grow faster than M. Each point reports what it reads and multiplies, so that its rate can be set
 * against the machine's {@link MachineLimits}.
 */
public final class Sweep {
    private static final long WARMUP_NANOS = 500_000_000L;
    /**
     * The first point of a curve warms up longer: it may be the first to run a path (a family's
     * kernels, the verdict) at all, and a small call reaches its steady speed only after thousands
     * of calls (as {@code bench}'s workloads do), which half a second left the M=10 verdict 4x slow.
     */
    private static final long FIRST_WARMUP_NANOS = 3_000_000_000L;
    /**
     * Matches each call keeps, as a search asks for them: ranking and returning all M (what the
     * workloads W1-W6 do) would add a sort and M results per suspect, and a verdict's p-values for
     * all M matches cost M² by design (each tests its match against every control).
     */
    static final int MATCHES = 10;

    private Sweep() {}

    /** The dimension a curve varies. */
    public enum Axis {
        /** References in the probe set. */
        M,
        /** Probes. */
        P,
        /** Values per row: embedding width, vocabulary, or a top-k row's support. */
        D,
        /** Suspects scored per call. */
        S
    }

    /**
     * A scoring shape a curve starts from. Bases are small enough that the largest M of each
     * (100,000 embeddings; 10,000 distributions) fits a few GiB of heap with the attribution forms.
     */
    public enum Family {
        /** Answer embeddings, scored by COSINE. */
        EMBEDDING(ProbeSetKind.EMBEDDING, 1000, 32, 256, 100_000, new int[] {16, 4096}),
        /** Next-token distributions over a vocabulary: COSINE, both KLs and TOP1. */
        DISTRIBUTION(ProbeSetKind.DISTRIBUTION, 200, 32, 1024, 10_000, new int[] {16, 8192}),
        /** Top-k answers as compact rows over each probe's support of D keys (what `topk build` makes). */
        TOPK(ProbeSetKind.DISTRIBUTION, 200, 256, 64, 10_000, new int[] {8, 512});

        private final ProbeSetKind kind;
        private final int m;
        private final int p;
        private final int d;
        private final int maxM;
        private final int[] dRange;

        Family(ProbeSetKind kind, int m, int p, int d, int maxM, int[] dRange) {
            this.kind = kind;
            this.m = m;
            this.p = p;
            this.d = d;
            this.maxM = maxM;
            this.dRange = dRange;
        }

        public ProbeSetKind kind() {
            return kind;
        }

        /** The shape with every dimension at its base, S=1. */
        public Shape base() {
            return new Shape(m, p, d, 1);
        }

        /** The values {@code axis} takes, at most {@code mCap} for M: powers of about √10 for M, of 2 elsewhere. */
        public int[] values(Axis axis, int mCap) {
            return switch (axis) {
                case M -> IntStream.of(10, 30, 100, 300, 1000, 3000, 10_000, 30_000, 100_000)
                        .filter(v -> v <= Math.min(maxM, mCap)).toArray();
                case P -> powersOfTwo(4, 512);
                case D -> powersOfTwo(dRange[0], dRange[1]);
                case S -> powersOfTwo(1, 256);
            };
        }

        private static int[] powersOfTwo(int from, int to) {
            return IntStream.iterate(from, v -> v <= to, v -> v * 2).toArray();
        }
    }

    /** M references of P probes × D, scored S suspects a call. */
    public record Shape(int m, int p, int d, int s) {
        Shape with(Axis axis, int value) {
            return switch (axis) {
                case M -> new Shape(value, p, d, s);
                case P -> new Shape(m, value, d, s);
                case D -> new Shape(m, p, value, s);
                case S -> new Shape(m, p, d, value);
            };
        }

        int get(Axis axis) {
            return switch (axis) {
                case M -> m;
                case P -> p;
                case D -> d;
                case S -> s;
            };
        }
    }

    /**
     * One measured point.
     *
     * @param batchSeconds            seconds of one call scoring S suspects: the median of its
     *                                calls, and over several rounds the median of the rounds' medians
     * @param bytesPerReference       what the engine holds per reference, every form together
     * @param attributionBatchSeconds the same for the call with a verdict; NaN off the M axis
     * @param verdictTooLarge         the panel was too large to attribute, so the verdict was
     *                                INCONCLUSIVE without its regression (see ScoreResult's reason)
     * @param roundSeconds            each round's median call without a verdict, in the order run
     */
    public record Point(Family family, Axis axis, Shape shape, double batchSeconds, double bytesPerReference,
                        double attributionBatchSeconds, boolean verdictTooLarge, double[] roundSeconds) {

        /**
         * One point of several rounds of the same shape: the median of their medians, with and
         * without a verdict. A burst of outside load on a shared machine lasts seconds, as long as a
         * point's calls, so it can move one round's median of a point by a factor of two; rounds
         * run a curve apart, and their median leaves out a round that fell into one.
         */
        static Point ofRounds(List<Point> rounds) {
            Point last = rounds.get(rounds.size() - 1);
            double[] seconds = rounds.stream().mapToDouble(Point::batchSeconds).toArray();
            double verdict = CudaStages.median(rounds.stream().mapToDouble(Point::attributionBatchSeconds).toArray());
            return new Point(last.family, last.axis, last.shape, CudaStages.median(seconds), last.bytesPerReference,
                    verdict, last.verdictTooLarge, seconds);
        }

        public double secondsPerSuspect() {
            return batchSeconds / shape.s();
        }

        /** Bytes of reference forms one call reads: the unit rows, and for distributions their logs too. */
        public double bytesRead() {
            return (double) shape.m() * shape.p() * shape.d() * Float.BYTES * (distribution() ? 2 : 1);
        }

        /**
         * Floating-point operations of one call's products: 2·M·P·D per column, one column per
         * suspect for embeddings, three (cosine, and each KL's cross term) for distributions.
         */
        public double flops() {
            return 2.0 * shape.m() * shape.p() * shape.d() * shape.s() * (distribution() ? 3 : 1);
        }

        private boolean distribution() {
            return family.kind() == ProbeSetKind.DISTRIBUTION;
        }

        /**
         * One line; the read and compute rates are per call, against {@link MachineLimits}'s. Over
         * several rounds it ends in {@code rounds=N spread=LO-HI}: the fastest and slowest round's
         * median over the point's.
         */
        public String line() {
            String spread = "";
            if (roundSeconds.length > 1) {
                double[] sorted = roundSeconds.clone();
                Arrays.sort(sorted);
                spread = String.format(Locale.ROOT, " rounds=%d spread=%.2f-%.2f", sorted.length,
                        sorted[0] / batchSeconds, sorted[sorted.length - 1] / batchSeconds);
            }
            return String.format(Locale.ROOT,
                    "sweep family=%s axis=%s M=%d P=%d D=%d S=%d s_per_suspect=%.3e bytes_per_reference=%.0f "
                            + "read_gbps=%.2f gflops=%.2f%s%s",
                    family, axis, shape.m(), shape.p(), shape.d(), shape.s(), secondsPerSuspect(), bytesPerReference,
                    bytesRead() / batchSeconds / 1e9, flops() / batchSeconds / 1e9,
                    Double.isNaN(attributionBatchSeconds) ? ""
                            : String.format(Locale.ROOT, " with_verdict_s_per_suspect=%.3e verdict=%s",
                                    attributionBatchSeconds / shape.s(), verdictTooLarge ? "panel_too_large"
                                            : "regressed"),
                    spread);
        }
    }

    /** A curve: its points, the fits of time per suspect (and along M, with a verdict), and what was skipped. */
    public record Curve(Family family, Axis axis, List<Point> points, CostFit time, CostFit withVerdict,
                        List<String> skipped) {

        /** The fit lines, after the points' own. */
        public List<String> fitLines() {
            List<String> out = new ArrayList<>();
            skipped.forEach(s -> out.add(String.format(Locale.ROOT, "skipped family=%s axis=%s %s", family, axis, s)));
            if (time != null) {
                out.add(fitLine(axis == Axis.S ? "s_per_call" : "s_per_suspect", time, points.size()));
            }
            if (withVerdict != null) {
                out.add(fitLine("with_verdict_s_per_suspect", withVerdict,
                        (int) points.stream().filter(p -> !p.verdictTooLarge()).count()));
            }
            return out;
        }

        private String fitLine(String measure, CostFit fit, int fitted) {
            return String.format(Locale.ROOT, "fit family=%s axis=%s measure=%s points=%d exponent=%.2f "
                    + "tail_exponent=%.2f knee=%s", family, axis, measure, fitted, fit.exponent(),
                    fit.tailExponent(), Double.isNaN(fit.knee()) ? "none" : String.format(Locale.ROOT, "%.3g",
                            fit.knee()));
        }
    }

    /**
     * Measures one curve: every value of {@code axis} up to {@code mCap} references, each timed
     * as {@code reps} calls after {@code warmup}, each on an engine of its own with a backend from
     * {@code backends}, the whole curve {@code rounds} times over; a point is the median of its
     * rounds ({@link Point#ofRounds}). Each round's point goes to {@code progress} as it is
     * measured, as {@code round R/N } and its line, and then, over more than one round, each
     * point's own line. A point whose forms would not fit the heap left is skipped, and so is every
     * larger one.
     *
     * <p>Each engine finds its references in its store at start, as a server restarting on a data
     * directory does, so their attribution forms are derived once; a put derives them again for
     * every reference held, which would make building M references cost M² (README, Performance).
     */
    public static Curve run(Family family, Axis axis, int mCap, int warmup, int reps, int rounds,
                            Supplier<SelectedBackend> backends, Consumer<String> progress) {
        if (rounds < 1) {
            throw new IllegalArgumentException("rounds=" + rounds + "; expected at least 1");
        }
        // Round 1 measures every value whose forms fit the heap; later rounds measure those again.
        List<List<Point>> byValue = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        double bytesPerElement = Double.NaN;
        for (int value : family.values(axis, mCap)) {
            Shape shape = family.base().with(axis, value);
            System.gc(); // so that the heap left counts the last point's engine as free
            long needed = Double.isNaN(bytesPerElement) ? 0
                    : (long) (bytesPerElement * shape.m() * shape.p() * shape.d());
            if (needed > 0.7 * freeHeap()) {
                skipped.add(String.format(Locale.ROOT, "%s=%d and larger: the forms need about %.1f GiB, "
                        + "more than 70%% of the %.1f GiB of heap left (raise -Xmx through IMPRINT_JAVA_OPTS)",
                        axis, value, needed / 1073741824.0, freeHeap() / 1073741824.0));
                break;
            }
            long warmupNanos = byValue.isEmpty() ? FIRST_WARMUP_NANOS : WARMUP_NANOS;
            Point point = measure(family, axis, shape, warmup, warmupNanos, reps, backends);
            bytesPerElement = point.bytesPerReference() / ((double) shape.p() * shape.d());
            byValue.add(new ArrayList<>(List.of(point)));
            progress.accept(roundLine(1, rounds, point));
        }
        for (int round = 2; round <= rounds; round++) {
            for (List<Point> measured : byValue) {
                Point point = measure(family, axis, measured.get(0).shape(), warmup, WARMUP_NANOS, reps, backends);
                measured.add(point);
                progress.accept(roundLine(round, rounds, point));
            }
        }
        List<Point> points = byValue.stream().map(Point::ofRounds).toList();
        if (rounds > 1) {
            points.forEach(p -> progress.accept(p.line()));
        }
        return new Curve(family, axis, points, fit(points, axis, false), axis == Axis.M ? fit(points, axis, true) : null,
                skipped);
    }

    /** A round's point as progress: its line, after {@code round R/N } when there are several rounds. */
    private static String roundLine(int round, int rounds, Point point) {
        return rounds == 1 ? point.line() : String.format(Locale.ROOT, "round %d/%d %s", round, rounds, point.line());
    }

    /** One round of one point: its median call on an engine of its own, with a verdict too along M. */
    private static Point measure(Family family, Axis axis, Shape shape, int warmup, long warmupNanos, int reps,
                                 Supplier<SelectedBackend> backends) {
        // The same seed in every round and at every point, so the first M references of a larger M are the same.
        long seed = 20261206L + 31L * family.ordinal() + axis.ordinal();
        GeneratedReferences generated = new GeneratedReferences(family, shape, seed);
        try (ImprintEngine engine = ImprintEngine.open(generated, backends.get())) {
            List<Suspect> suspects = generated.suspects(shape.s());
            ProbeSet set = generated.set;
            double plain = medianSeconds(engine, set, suspects, Bench.query(set, MATCHES), warmup, warmupNanos, reps);
            double verdict = Double.NaN;
            boolean tooLarge = false;
            if (axis == Axis.M) {
                ScoreQuery withVerdict = Bench.query(set, MATCHES).withAttribution(0.01);
                verdict = medianSeconds(engine, set, suspects, withVerdict, warmup, warmupNanos, reps);
                String reason = engine.scoreAll(set, suspects.subList(0, 1), withVerdict).get(0)
                        .attribution().reason();
                tooLarge = reason != null && reason.contains("too large to attribute");
            }
            double bytes = (double) engine.info().referenceBytes() / shape.m();
            return new Point(family, axis, shape, plain, bytes, verdict, tooLarge, new double[] {plain});
        }
    }

    /**
     * The fit along {@code axis} of the time per suspect, or along S of the time per call (whose
     * knee is where the suspects' own work equals the read of the references they share); with a
     * verdict, over the points whose panel was regressed.
     */
    private static CostFit fit(List<Point> all, Axis axis, boolean withVerdict) {
        List<Point> points = withVerdict ? all.stream().filter(p -> !p.verdictTooLarge()).toList() : all;
        if (points.size() < 2) {
            return null;
        }
        double[] x = points.stream().mapToDouble(p -> p.shape().get(axis)).toArray();
        double[] t = points.stream().mapToDouble(p -> (withVerdict ? p.attributionBatchSeconds() : p.batchSeconds())
                / (axis == Axis.S ? 1 : p.shape().s())).toArray();
        return CostFit.of(x, t);
    }

    private static double freeHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    /**
     * The median of {@code reps} timed calls, after {@code warmup} untimed ones and more until
     * {@code warmupNanos} have gone by: the first points of a curve would otherwise time the JIT
     * compiler, not the code.
     */
    private static double medianSeconds(ImprintEngine engine, ProbeSet set, List<Suspect> suspects, ScoreQuery query,
                                        int warmup, long warmupNanos, int reps) {
        return CudaStages.median(Bench.timedCalls(engine, set, suspects, query, warmup, warmupNanos, null,
                Pacing.fixed(reps)));
    }

    /**
     * A store that holds one probe set of a point's shape and its M references, generated from a
     * seed as the engine loads them (so the first M of a larger M are the same), and keeps nothing
     * written to it.
     */
    private static final class GeneratedReferences extends MemoryOnlyStore {
        private final ProbeSet set;
        private final int m;
        private final SplittableRandom rng;
        private float[] first;

        GeneratedReferences(Family family, Shape shape, long seed) {
            this.set = ProbeSet.fromRequest(String.format(Locale.ROOT, "sweep-%s-p%d-d%d",
                    family.name().toLowerCase(Locale.ROOT), shape.p(), shape.d()), shape.p(), shape.d(),
                    family.kind(), 0, "cost sweep " + family);
            this.m = shape.m();
            this.rng = new SplittableRandom(seed);
        }

        @Override
        public LoadReport load(LoadVisitor visitor) {
            visitor.probeSet(set);
            long created = System.currentTimeMillis();
            for (int i = 0; i < m; i++) {
                float[] rows = Bench.rows(set.kind(), set.numProbes(), set.dim(), rng);
                if (first == null) {
                    first = rows;
                }
                ReferenceMeta meta = new ReferenceMeta(set.id(), String.format(Locale.ROOT, "ref-%06d", i),
                        Map.of("family", "f" + (i % 8)), set.numProbes(), set.dim(), created);
                visitor.reference(new Reference(meta, rows));
            }
            return new LoadReport(1, m, List.of(), 0);
        }

        /** S suspects, each part copy of the first reference, from near to far; after {@link #load}. */
        List<Suspect> suspects(int s) {
            List<Suspect> out = new ArrayList<>(s);
            for (int i = 0; i < s; i++) {
                float[] rows = Bench.near(first, Bench.rows(set.kind(), set.numProbes(), set.dim(), rng),
                        0.1 + 0.8 * i / s);
                out.add(Suspect.of(set, set.numProbes(), set.dim(), rows, null));
            }
            return out;
        }

        @Override
        public String location() {
            return "(generated for the cost sweep)";
        }
    }
}
