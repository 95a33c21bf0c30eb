package dev.imprint.cli;

import dev.imprint.bench.Bench;
import dev.imprint.bench.ConcurrentBench;
import dev.imprint.bench.MachineLimits;
import dev.imprint.bench.Pacing;
import dev.imprint.bench.Sweep;
import dev.imprint.bench.Workload;
import dev.imprint.engine.ScoreBatching;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code imprint bench}: runs the benchmark workloads in-process and prints one line per run. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Runs benchmark workloads in-process through the scoring engine and prints, per workload, "
                + "one line ending in median_s=<seconds per batch of S suspects>.",
            "W1: DISTRIBUTION M=200 P=256 D=1024 S=1; W2: same, S=64; W3: EMBEDDING M=1000 P=128 D=768 S=1 COSINE; "
                + "W4: same, S=64. DISTRIBUTION workloads score the default metrics.",
            "W5: top-k fingerprints, M=20 P=256 S=1, scored as compact rows over each probe's support (D=64) and "
                + "then as the same distributions over a vocabulary (D=32000): two lines, the dense one with "
                + "dense_over_compact=<ratio of the medians>; W6: same, S=64. The dense form of 20 references (with the "
                + "attribution forms the engine keeps beside it) needs about 14 GiB of heap (IMPRINT_JAVA_OPTS=-Xmx14g), "
                + "so W5 and W6 run only when named, not with all.",
            "A1: attribution, the scenario of 'synth --kind EMBEDDING --probes 128 --dim 512 --families 8 "
                + "--models-per-family 4 --students 4 --seed 11' (M=32, S=6), each suspect scored with a verdict and "
                + "every reference's p-value.",
            "With --sweep, measures cost curves instead: the machine's limits (memory read rate, SGEMM rate), then "
                + "per family and axis one 'sweep' line per point and 'fit' lines with the exponent and the knee "
                + "(see README, Performance)."})
public final class BenchCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--workload", split = ",", paramLabel = "W",
            description = "Workloads to run: W1 to W6, A1, or all (W1 to W4, and A1 at --scale 1); repeatable or "
                    + "comma-separated (default: ${DEFAULT-VALUE}).",
            defaultValue = "all")
    private List<String> workloads = new ArrayList<>();

    @Option(names = "--reps", paramLabel = "N", defaultValue = "7",
            description = "Timed repetitions per workload, at least 5 (default: ${DEFAULT-VALUE}).")
    private int reps;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "30",
            description = "Untimed batches scored first, and unless 0, more until three seconds have passed and the JIT "
                    + "compilers have settled (at most 5 ms of compiling in half a second; 20 s at most), so what is "
                    + "timed is the compiled code with no compiler thread taking a core (default: ${DEFAULT-VALUE}).")
    private int warmup;

    @Mixin
    private BackendOptions backendOptions;

    @Option(names = "--scale", paramLabel = "X", defaultValue = "1",
            description = "Multiplies the number of references M of every workload (default: ${DEFAULT-VALUE}).")
    private double scale;

    @Option(names = "--profile",
            description = "After the timed batches, score as many again with each stage timed (engine, backend, and on "
                    + "cuda every copy and kernel by CUDA events) and print one 'profile' line per stage with its median "
                    + "(default: off).")
    private boolean profile;

    @Option(names = "--concurrency", paramLabel = "N", defaultValue = "0",
            description = "When positive, N callers score at once instead (each --reps calls after --warmup, "
                    + "capped at 5, untimed ones), first through the dynamic batcher (up to 64 suspects), then with "
                    + "it off; prints both runs' throughput and latency and the speedup (default: ${DEFAULT-VALUE}).")
    private int concurrency;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0",
            description = "Matches kept per suspect; 0 keeps (and ranks) every reference, as the workloads are "
                    + "defined (default: ${DEFAULT-VALUE}).")
    private int topK;

    @Option(names = "--compact-only",
            description = "W5 and W6: time the compact rows only, not also the dense form, which needs about 14 GiB "
                    + "of heap (default: off).")
    private boolean compactOnly;

    @Option(names = "--paced",
            description = "Time one call per line read from standard input instead of --reps: prints 'ready' once "
                    + "warm, 'call_s=<seconds>' after each call, and the usual line at the end of input. For "
                    + "scripts/bench-compare.sh, which keeps every side of a comparison warm and starts their calls "
                    + "in turn. One workload; W5 and W6 with --compact-only; not with --profile or --concurrency "
                    + "(default: off).")
    private boolean paced;

    @Option(names = "--sweep", split = ",", paramLabel = "AXIS",
            description = "Measure cost curves along these axes instead of the workloads: M, P, D, S, or all; "
                    + "comma-separated. Each point scores --reps calls after --warmup (capped at 5).")
    private List<String> sweepAxes = new ArrayList<>();

    @Option(names = "--sweep-family", split = ",", paramLabel = "F", defaultValue = "all",
            description = "With --sweep, the base shapes: embedding (M=1000 P=32 D=256, M up to 100000), distribution "
                    + "(M=200 P=32 D=1024, M up to 10000), topk (M=200 P=256 and a support of D=64, M up to 10000), "
                    + "or all (default: ${DEFAULT-VALUE}).")
    private List<String> sweepFamilies = new ArrayList<>();

    @Option(names = "--sweep-max-m", paramLabel = "N", defaultValue = "100000",
            description = "With --sweep, the largest M measured (default: ${DEFAULT-VALUE}); points whose forms would "
                    + "not fit the heap are skipped and say so.")
    private int sweepMaxM;

    @Option(names = "--sweep-rounds", paramLabel = "N", defaultValue = "3",
            description = "With --sweep, how many times each curve is measured; each point is the median of its rounds, "
                    + "so a burst of other load on the machine moves one round of a point, not the point "
                    + "(default: ${DEFAULT-VALUE}).")
    private int sweepRounds;

    @Override
    public Integer call() {
        if (!sweepAxes.isEmpty()) {
            return sweep();
        }
        if (reps < 5) {
            throw new ParameterException(spec.commandLine(), "--reps=" + reps + "; expected at least 5");
        }
        if (warmup < 0) {
            throw new ParameterException(spec.commandLine(), "--warmup=" + warmup + "; expected 0 or more");
        }
        if (!(scale > 0) || Double.isInfinite(scale)) {
            throw new ParameterException(spec.commandLine(), "--scale=" + scale + "; expected a positive number");
        }
        if (topK < 0) {
            throw new ParameterException(spec.commandLine(), "--top-k=" + topK + "; expected 0 (all) or more");
        }
        if (concurrency < 0 || concurrency > 1024) {
            throw new ParameterException(spec.commandLine(), "--concurrency=" + concurrency + "; expected 0..1024");
        }
        if (concurrency > 0 && profile) {
            throw new ParameterException(spec.commandLine(), "--profile times single calls; it cannot go with --concurrency");
        }
        EnumSet<Workload> chosen = selected();
        if (concurrency > 0 && chosen.stream().anyMatch(w -> w.topK() || w.attribution())) {
            throw new ParameterException(spec.commandLine(), "--concurrency runs W1-W4; W5 and W6 time two "
                    + "forms of one workload, and A1 its scenario's suspects, one call at a time");
        }
        if (paced) {
            checkPaced(chosen);
        }
        if (scale != 1 && chosen.contains(Workload.A1)) {
            throw new ParameterException(spec.commandLine(), "--scale=" + scale + " multiplies M of W1-W6; A1 is a "
                    + "fixed scenario");
        }
        for (Workload w : chosen) {
            if (w.topK()) {
                Bench.runTopK(w, scale, warmup, this::pacing, backendOptions.select(), profile, topK, !compactOnly)
                        .lines().forEach(System.out::println);
                System.out.flush();
                continue;
            }
            if (concurrency > 0) {
                ConcurrentBench.run(w, scale, concurrency, Math.min(warmup, 5), reps, backendOptions.select(),
                        ScoreBatching.defaults(), topK).lines().forEach(System.out::println);
                System.out.flush();
                continue;
            }
            Bench.Result result = Bench.run(w, scale, warmup, pacing(), backendOptions.select(), profile, topK);
            System.out.println(result.line());
            result.profile().forEach(System.out::println);
            System.out.flush();
        }
        return 0;
    }

    /** With --paced, the one run a paced bench may make; each reason it cannot is the option's own error. */
    private void checkPaced(EnumSet<Workload> chosen) {
        if (chosen.size() != 1) {
            throw new ParameterException(spec.commandLine(), "--paced times one workload; --workload names "
                    + chosen.size());
        }
        if (profile || concurrency > 0) {
            throw new ParameterException(spec.commandLine(), "--paced times single calls as another process asks; "
                    + "it cannot go with " + (profile ? "--profile" : "--concurrency"));
        }
        Workload w = chosen.iterator().next();
        if (w.topK() && !compactOnly) {
            throw new ParameterException(spec.commandLine(), "--paced times one form; " + w
                    + " times two unless --compact-only");
        }
    }

    /** What starts a run's timed calls: standard input's lines with --paced, else --reps calls. */
    private Pacing pacing() {
        return paced ? Pacing.lines(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)),
                System.out) : Pacing.fixed(reps);
    }

    /** Prints the machine's limits, then every chosen curve's points and fits. */
    private int sweep() {
        if (reps < 5) {
            throw new ParameterException(spec.commandLine(), "--reps=" + reps + "; expected at least 5");
        }
        if (sweepMaxM < 10) {
            throw new ParameterException(spec.commandLine(), "--sweep-max-m=" + sweepMaxM + "; expected at least 10");
        }
        if (sweepRounds < 1) {
            throw new ParameterException(spec.commandLine(), "--sweep-rounds=" + sweepRounds + "; expected at least 1");
        }
        List<Sweep.Axis> axes = choices(sweepAxes, Sweep.Axis.class, "--sweep", "M, P, D, S or all");
        List<Sweep.Family> families = choices(sweepFamilies, Sweep.Family.class, "--sweep-family",
                "embedding, distribution, topk or all");
        System.out.println(MachineLimits.measure(Runtime.getRuntime().availableProcessors()).line());
        System.out.flush();
        for (Sweep.Family family : families) {
            for (Sweep.Axis axis : axes) {
                Sweep.Curve curve = Sweep.run(family, axis, sweepMaxM, Math.min(warmup, 5), reps, sweepRounds,
                        backendOptions::select, line -> {
                            System.out.println(line);
                            System.out.flush();
                        });
                curve.fitLines().forEach(System.out::println);
                System.out.flush();
            }
        }
        return 0;
    }

    /** The constants {@code names} picks ("all": every one), in declaration order. */
    private <E extends Enum<E>> List<E> choices(List<String> names, Class<E> type, String option, String expected) {
        EnumSet<E> chosen = EnumSet.noneOf(type);
        for (String name : names) {
            String n = name.trim().toUpperCase(Locale.ROOT);
            if (n.equals("ALL")) {
                chosen.addAll(EnumSet.allOf(type));
                continue;
            }
            try {
                chosen.add(Enum.valueOf(type, n));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), option + "=" + name + "; expected " + expected);
            }
        }
        return List.copyOf(chosen);
    }

    private EnumSet<Workload> selected() {
        EnumSet<Workload> chosen = EnumSet.noneOf(Workload.class);
        for (String name : workloads) {
            String w = name.trim().toUpperCase(Locale.ROOT);
            if (w.equals("ALL")) {
                // W5 and W6 hold a dense copy of a vocabulary-wide set: run only when named. A1 is a
                // fixed scenario, which --scale does not resize: it runs with all at scale 1 only.
                EnumSet.allOf(Workload.class).stream().filter(x -> !x.topK() && (!x.attribution() || scale == 1))
                        .forEach(chosen::add);
                continue;
            }
            try {
                chosen.add(Workload.valueOf(w));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(),
                        "--workload=" + name + "; expected W1, W2, W3, W4, W5, W6, A1 or all");
            }
        }
        return chosen;
    }
}
