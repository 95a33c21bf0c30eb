package dev.imprint.engine.cuda;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.ScoringBackend;
import dev.imprint.engine.SuspectBatch;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.testing.TestFingerprints;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * The workloads W1-W4 run straight against a backend's resident references, for
 * scripts/gpu-check.sh on a GPU host: one line per workload,
 * {@code bench backend=B workload=W refs=M probes=P dim=D suspects=S median_s=T gbps=G tflops=F},
 * where gbps counts the reference bytes a scoring pass must read once (unit rows, plus logs for
 * DISTRIBUTION) and tflops the multiply-adds of its products (two flops each).
 *
 * <p>Usage: {@code BackendBench --backend cuda|cpu [--scale N] [--reps N] [--workloads W1,W3]}.
 * {@code --scale} multiplies the reference counts so a pass lasts well past launch overhead.
 */
public final class BackendBench {
    private record Workload(String name, ProbeSetKind kind, int refs, int probes, int dim, int suspects,
                            Set<Metric> metrics, int products) {
    }

    private BackendBench() {}

    public static void main(String[] args) {
        String backendName = "cuda";
        int scale = 1;
        int reps = 7;
        List<String> names = List.of("W1", "W2", "W3", "W4");
        for (int i = 0; i < args.length; i += 2) {
            String value = i + 1 < args.length ? args[i + 1] : "";
            switch (args[i]) {
                case "--backend" -> backendName = value;
                case "--scale" -> scale = Integer.parseInt(value);
                case "--reps" -> reps = Integer.parseInt(value);
                case "--workloads" -> names = Arrays.asList(value.split(","));
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; expected --backend, --scale, --reps or --workloads");
            }
        }
        Set<Metric> distribution = Metric.defaultsFor(ProbeSetKind.DISTRIBUTION);
        // Products per default DISTRIBUTION pass: cosine, the KL(r~||s~) cross term, KL(s~||r~).
        List<Workload> all = List.of(
                new Workload("W1", ProbeSetKind.DISTRIBUTION, 200 * scale, 256, 1024, 1, distribution, 3),
                new Workload("W2", ProbeSetKind.DISTRIBUTION, 200 * scale, 256, 1024, 64, distribution, 3),
                new Workload("W3", ProbeSetKind.EMBEDDING, 1000 * scale, 128, 768, 1, Set.of(Metric.COSINE), 1),
                new Workload("W4", ProbeSetKind.EMBEDDING, 1000 * scale, 128, 768, 64, Set.of(Metric.COSINE), 1));
        try (ScoringBackend backend = open(backendName)) {
            for (Workload w : all) {
                if (names.contains(w.name())) {
                    run(backend, w, reps);
                }
            }
        }
    }

    private static ScoringBackend open(String name) {
        if (name.equals("cpu")) {
            return new CpuBackend();
        }
        if (name.equals("cuda")) {
            CudaBackend b = CudaBackend.open(CudaOptions.defaults());
            System.out.println("device " + b.describe());
            return b;
        }
        throw new IllegalArgumentException("backend=" + name + "; expected cpu or cuda");
    }

    private static void run(ScoringBackend backend, Workload w, int reps) {
        ProbeSet set = new ProbeSet("bench-" + w.name(), w.probes(), w.dim(), w.kind(),
                w.kind() == ProbeSetKind.DISTRIBUTION ? 1e-6 : 0, "");
        TestFingerprints gen = new TestFingerprints(w.name().hashCode());
        // A pool of distinct fingerprints reused under many ids: the work per reference is the same.
        List<float[]> pool = IntStream.range(0, 8).mapToObj(i -> gen.rows(w.kind(), w.probes(), w.dim())).toList();
        List<String> ids = new ArrayList<>(w.refs());
        try (ResidentReferences resident = backend.createResidentSet(set)) {
            for (int r = 0; r < w.refs(); r++) {
                String id = "m" + r;
                resident.put(id, pool.get(r % pool.size()));
                ids.add(id);
            }
            List<float[]> suspects = IntStream.range(0, w.suspects())
                    .mapToObj(s -> gen.near(w.kind(), pool.get(s % pool.size()), w.dim(), 0.1)).toList();
            SuspectBatch batch = new SuspectBatch(IntStream.range(0, w.probes()).toArray(), suspects);
            for (int i = 0; i < 2; i++) {
                resident.score(batch, ids, w.metrics(), false);
            }
            double[] seconds = new double[Math.max(5, reps)];
            for (int i = 0; i < seconds.length; i++) {
                long t0 = System.nanoTime();
                resident.score(batch, ids, w.metrics(), false);
                seconds[i] = (System.nanoTime() - t0) / 1e9;
            }
            Arrays.sort(seconds);
            double median = seconds[seconds.length / 2];
            long ld = (w.dim() + 3) & ~3;
            double bytes = (double) w.refs() * w.probes() * ld * Float.BYTES
                    * (w.kind() == ProbeSetKind.DISTRIBUTION ? 2 : 1);
            double flops = 2.0 * w.refs() * w.suspects() * w.probes() * w.dim() * w.products();
            System.out.println(String.format(Locale.ROOT,
                    "bench backend=%s workload=%s refs=%d probes=%d dim=%d suspects=%d median_s=%.6f gbps=%.1f tflops=%.3f",
                    backend.name(), w.name(), w.refs(), w.probes(), w.dim(), w.suspects(), median, bytes / median / 1e9,
                    flops / median / 1e12));
        }
    }
}
