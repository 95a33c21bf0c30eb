package dev.imprint.soak;

import dev.imprint.api.v1.GetServerInfoRequest;
import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ScoreResponse;
import dev.imprint.client.ImprintClient;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.server.ProtoMapper;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The load soak: a real {@code imprint serve} (forked from the shaded jar) and {@code clients}
 * threads, each with its own {@link ImprintClient}, calling Score, ScoreStream, PutReference and
 * GetServerInfo in a seeded mix for a fixed duration, then stopping. It records every call's
 * latency, every error, the server's RSS (VmRSS, sampled) and its heap after each collection (from
 * the server's GC log, {@code -Xlog:gc}), and judges the memory flat when the last quarter's median
 * is within {@value #FLAT_GROWTH} times the second quarter's (the first quarter is warm-up).
 *
 * <p>{@link #stalledStream} checks ScoreStream's flow control: a client that sends requests and
 * never reads a response must stop being read from, without the server's memory growing or other
 * clients stalling.
 */
public final class LoadSoak {
    /** The soak's probe set: EMBEDDING, 128 probes × 256, so a fingerprint is 128 KiB. */
    static final ProbeSet SET = new ProbeSet("soak", 128, 256, ProbeSetKind.EMBEDDING, 0, "load soak");
    /** References loaded before the clients start and never replaced. */
    static final int FIXED_REFERENCES = 32;
    /** References PutReference replaces over and over, so the store's size stays fixed. */
    static final int REPLACED_REFERENCES = 8;
    /** Suspects per ScoreStream call. */
    static final int STREAM_SUSPECTS = 8;
    /** Largest allowed ratio of the last quarter's median memory to the second quarter's. */
    public static final double FLAT_GROWTH = 1.2;
    private static final Pattern GC_LINE = Pattern.compile(
            "^\\[(\\d+\\.\\d+)s\\].*GC\\(\\d+\\) Pause.* (\\d+)M->(\\d+)M\\((\\d+)M\\)");

    /** The methods the soak calls; a ScoreStream sample is one whole call of {@value #STREAM_SUSPECTS} suspects. */
    public enum Method { Score, ScoreStream, PutReference, GetServerInfo }

    /**
     * @param jar        the shaded jar to run {@code serve} from
     * @param dataDir    the server's data directory (its log and GC log go beside it)
     * @param duration   how long the clients run
     * @param clients    concurrent clients
     * @param sampleEvery how often the server's RSS is read
     */
    public record Settings(Path jar, Path dataDir, Duration duration, int clients, Duration sampleEvery, long seed) {}

    /** Latency quantiles of one method, in milliseconds. */
    public record MethodStats(Method method, long calls, long errors, double p50Ms, double p99Ms, double p999Ms) {}

    /** A memory reading {@code atSeconds} after the clients started. */
    public record Sample(double atSeconds, long bytes) {}

    /**
     * Whether a series stayed flat.
     *
     * @param secondQuarter median of the readings in the second quarter of the run
     * @param lastQuarter   median of the readings in the last quarter
     */
    public record Flatness(long secondQuarter, long lastQuarter, int readings) {
        public boolean flat() {
            return readings >= 4 && lastQuarter <= FLAT_GROWTH * secondQuarter;
        }

        @Override
        public String toString() {
            return String.format("q2_median=%.1fMiB q4_median=%.1fMiB readings=%d %s", secondQuarter / 1048576.0,
                    lastQuarter / 1048576.0, readings, flat() ? "flat" : "NOT FLAT");
        }
    }

    /**
     * What a soak measured.
     *
     * @param errorSamples the first few errors, in words
     * @param rss          the server's VmRSS over time
     * @param heapAfterGc  the server's heap occupancy after each collection, over time
     */
    public record Report(Duration ran, int clients, List<MethodStats> methods, List<String> errorSamples,
                         List<Sample> rss, List<Sample> heapAfterGc, Flatness rssFlatness, Flatness heapFlatness) {
        public long calls() {
            return methods.stream().mapToLong(MethodStats::calls).sum();
        }

        public long errors() {
            return methods.stream().mapToLong(MethodStats::errors).sum();
        }

        public double callsPerSecond() {
            return calls() / (ran.toMillis() / 1000.0);
        }

        public boolean passed() {
            return errors() == 0 && rssFlatness.flat() && heapFlatness.flat();
        }

        public String summary() {
            StringBuilder s = new StringBuilder(String.format("soak ran %.1f s with %d clients: %d calls, "
                    + "%.1f calls/s, %d errors%n", ran.toMillis() / 1000.0, clients, calls(), callsPerSecond(),
                    errors()));
            for (MethodStats m : methods) {
                s.append(String.format("  %-13s calls=%d (%.1f/s) errors=%d p50=%.2fms p99=%.2fms p99.9=%.2fms%n",
                        m.method(), m.calls(), m.calls() / (ran.toMillis() / 1000.0), m.errors(), m.p50Ms(), m.p99Ms(),
                        m.p999Ms()));
            }
            s.append("  rss: ").append(rssFlatness).append(", max ")
                    .append(String.format("%.1fMiB", rss.stream().mapToLong(Sample::bytes).max().orElse(0) / 1048576.0))
                    .append('\n');
            s.append("  heap after GC: ").append(heapFlatness).append(", max ")
                    .append(String.format("%.1fMiB", heapAfterGc.stream().mapToLong(Sample::bytes).max().orElse(0)
                            / 1048576.0)).append('\n');
            if (!errorSamples.isEmpty()) {
                s.append("  errors: ").append(errorSamples).append('\n');
            }
            return s.append(passed() ? "soak passed" : "soak FAILED").toString();
        }
    }

    /**
     * What {@link #stalledStream} saw.
     *
     * @param requestsAccepted  requests the stalled stream's transport took before it stopped taking more
     * @param suspectsScored    suspects the server scored for it (GetServerInfo.scored_suspects, less the bystander's)
     * @param stalled           whether the transport stopped taking requests (the server stopped reading)
     * @param scoredWhileStalled suspects the server scored in the quiet second half of the stall (must be 0)
     * @param rssBefore         the server's RSS before the stalled stream opened
     * @param rssStalled        the server's RSS when the stream stopped being read
     * @param rssAfter          the server's RSS at the end of the quiet second half
     * @param bystanderCalls    Score calls another client made while the stream was flooding
     * @param bystanderErrors   of which failed
     * @param bystanderMaxMs    the slowest of them
     */
    public record Backpressure(long requestsAccepted, long suspectsScored, boolean stalled, long scoredWhileStalled,
                               long rssBefore, long rssStalled, long rssAfter, long bystanderCalls,
                               long bystanderErrors, double bystanderMaxMs) {
        public String summary() {
            return String.format("stalled ScoreStream: transport took %d requests (%.1f MiB) then %s; server scored %d"
                            + " of them, then %d while stalled; server RSS %.1f -> %.1f -> %.1f MiB; bystander Score"
                            + " calls=%d errors=%d max=%.1fms",
                    requestsAccepted, requestsAccepted * SET.elements() * 4.0 / 1048576.0,
                    stalled ? "stopped taking more" : "DID NOT STOP", suspectsScored, scoredWhileStalled,
                    rssBefore / 1048576.0, rssStalled / 1048576.0, rssAfter / 1048576.0, bystanderCalls,
                    bystanderErrors, bystanderMaxMs);
        }
    }

    private LoadSoak() {}

    /** Starts a server for a soak, with its GC log beside the data directory. */
    public static ServerProcess startServer(Path jar, Path dataDir) throws IOException {
        Files.createDirectories(dataDir);
        return ServerProcess.start(jar, dataDir, sibling(dataDir, "-server.log"),
                List.of("-Xmx1g", "-Xlog:gc:file=" + sibling(dataDir, "-gc.log")));
    }

    /** Creates the soak's probe set and its fixed and replaced references on {@code client}'s server. */
    public static void load(ImprintClient client) {
        client.createProbeSet(SET);
        for (int i = 0; i < FIXED_REFERENCES; i++) {
            client.putReference(SET.id(), "fixed-" + i, Map.of("family", "f" + i % 4), rows(i), true);
        }
        for (int i = 0; i < REPLACED_REFERENCES; i++) {
            client.putReference(SET.id(), "replaced-" + i, Map.of(), rows(1000 + i), true);
        }
    }

    /** Runs the soak described by {@code settings} against a fresh server and reports. */
    public static Report run(Settings settings) throws IOException, InterruptedException {
        try (ServerProcess server = startServer(settings.jar(), settings.dataDir())) {
            String target = "127.0.0.1:" + server.awaitPort(Duration.ofSeconds(120));
            ImprintClient setup = ImprintClient.connect(target);
            try {
                setup.awaitServer(target, Duration.ofSeconds(30));
                load(setup);
            } finally {
                setup.close();
            }
            return soak(settings, server, target);
        }
    }

    private static Report soak(Settings settings, ServerProcess server, String target) throws InterruptedException {
        SplittableRandom seeds = new SplittableRandom(settings.seed());
        long start = System.nanoTime();
        long end = start + settings.duration().toNanos();
        double startUptime = (start - server.startNanos()) / 1e9;
        List<Sample> rss = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean done = new AtomicBoolean();
        Thread sampler = new Thread(() -> {
            while (!done.get()) {
                server.rssBytes().ifPresent(b -> rss.add(new Sample((System.nanoTime() - start) / 1e9, b)));
                try {
                    Thread.sleep(settings.sampleEvery().toMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "soak-sampler");
        sampler.start();
        List<Worker> workers = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < settings.clients(); c++) {
            Worker w = new Worker(ImprintClient.connect(target), seeds.nextLong(), end, c);
            workers.add(w);
            Thread t = new Thread(w, "soak-client-" + c);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        Duration ran = Duration.ofNanos(System.nanoTime() - start);
        done.set(true);
        sampler.interrupt();
        sampler.join();
        List<MethodStats> methods = new ArrayList<>();
        List<String> errorSamples = new ArrayList<>();
        for (Method m : Method.values()) {
            long[] all = workers.stream().flatMapToLong(w -> Arrays.stream(w.latencies.get(m).toArray())).toArray();
            Arrays.sort(all);
            long errors = workers.stream().mapToLong(w -> w.errors.get(m).get()).sum();
            methods.add(new MethodStats(m, all.length + errors, errors, quantile(all, 0.5), quantile(all, 0.99),
                    quantile(all, 0.999)));
        }
        for (Worker w : workers) {
            errorSamples.addAll(w.errorSamples);
            try {
                w.client.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        List<Sample> heap = heapAfterGc(sibling(settings.dataDir(), "-gc.log"), startUptime);
        double seconds = ran.toMillis() / 1000.0;
        return new Report(ran, settings.clients(), methods, errorSamples.subList(0, Math.min(10, errorSamples.size())),
                List.copyOf(rss), heap, flatness(rss, seconds), flatness(heap, seconds));
    }

    /** One client's loop: a seeded mix of the four methods until {@code endNanos}. */
    private static final class Worker implements Runnable {
        final ImprintClient client;
        final SplittableRandom random;
        final long endNanos;
        final int index;
        final Map<Method, LongList> latencies = new EnumMap<>(Method.class);
        final Map<Method, AtomicLong> errors = new EnumMap<>(Method.class);
        final List<String> errorSamples = new ArrayList<>();

        Worker(ImprintClient client, long seed, long endNanos, int index) {
            this.client = client;
            this.random = new SplittableRandom(seed);
            this.endNanos = endNanos;
            this.index = index;
            for (Method m : Method.values()) {
                latencies.put(m, new LongList());
                errors.put(m, new AtomicLong());
            }
        }

        @Override
        public void run() {
            ScoreOptions options = ScoreOptions.defaults().withTopK(5);
            long n = 0;
            while (System.nanoTime() < endNanos) {
                int roll = random.nextInt(100);
                Method m = roll < 55 ? Method.Score : roll < 70 ? Method.ScoreStream : roll < 80 ? Method.PutReference
                        : Method.GetServerInfo;
                long t0 = System.nanoTime();
                try {
                    switch (m) {
                        case Score -> client.score(SET.id(), suspect(random), new int[0], options);
                        case ScoreStream -> {
                            List<ImprintClient.SuspectInput> suspects = new ArrayList<>();
                            for (int i = 0; i < STREAM_SUSPECTS; i++) {
                                suspects.add(new ImprintClient.SuspectInput("c" + index + "-" + n + "-" + i,
                                        suspect(random), new int[0]));
                            }
                            int scored = client.scoreStream(SET.id(), suspects, options, (s, r) -> { });
                            if (scored != STREAM_SUSPECTS) {
                                throw new IllegalStateException("ScoreStream scored " + scored + " of "
                                        + STREAM_SUSPECTS);
                            }
                        }
                        case PutReference -> client.putReference(SET.id(), "replaced-" + random.nextInt(
                                REPLACED_REFERENCES), Map.of(), rows(random.nextLong(1 << 20)), true);
                        case GetServerInfo -> client.getServerInfo();
                    }
                    latencies.get(m).add(System.nanoTime() - t0);
                } catch (RuntimeException e) {
                    errors.get(m).incrementAndGet();
                    if (errorSamples.size() < 3) {
                        errorSamples.add(m + ": " + e);
                    }
                }
                n++;
            }
        }
    }

    /**
     * Opens a ScoreStream that sends requests (whole-set suspects of 128 KiB) for as long as its
     * transport takes them and never reads a response, while a second client keeps calling Score;
     * after {@code stall} without the transport taking one more request it cancels the stream.
     */
    public static Backpressure stalledStream(ServerProcess server, String target, Duration stall)
            throws InterruptedException {
        ManagedChannel channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
        ImprintClient bystander = ImprintClient.connect(target);
        try {
            var info = ImprintGrpc.newBlockingStub(channel);
            // Per-probe values make each response ~40 KiB, so unread responses fill the windows soon.
            ScoreRequest template = ScoreRequest.newBuilder().setProbeSetId(SET.id()).setIncludePerProbe(true)
                    .setSuspect(ProtoMapper.matrix(SET.numProbes(), SET.dim(), rows(7))).build();
            long rssBefore = server.rssBytes().orElse(0L);
            long scoredBefore = info.getServerInfo(GetServerInfoRequest.getDefaultInstance()).getScoredSuspects();
            UnreadResponses stream = new UnreadResponses();
            ClientCallStreamObserver<ScoreRequest> requests = (ClientCallStreamObserver<ScoreRequest>)
                    ImprintGrpc.newStub(channel).scoreStream(stream);
            AtomicBoolean stopBystander = new AtomicBoolean();
            AtomicLong bystanderCalls = new AtomicLong();
            AtomicLong bystanderErrors = new AtomicLong();
            AtomicLong bystanderMaxNanos = new AtomicLong();
            Thread other = new Thread(() -> {
                SplittableRandom r = new SplittableRandom(11);
                while (!stopBystander.get()) {
                    long t0 = System.nanoTime();
                    try {
                        bystander.score(SET.id(), suspect(r), new int[0], ScoreOptions.defaults().withTopK(5));
                    } catch (RuntimeException e) {
                        bystanderErrors.incrementAndGet();
                    }
                    bystanderCalls.incrementAndGet();
                    bystanderMaxNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
                }
            }, "soak-bystander");
            other.start();
            long sent = 0;
            long lastProgress = System.nanoTime();
            boolean stalled = false;
            while (sent < 100_000 && !stream.ended.get()) {
                if (requests.isReady()) {
                    requests.onNext(template.toBuilder().setRequestId("stalled-" + sent).build());
                    sent++;
                    lastProgress = System.nanoTime();
                } else if (System.nanoTime() - lastProgress > stall.toNanos()) {
                    stalled = true;
                    break;
                } else {
                    Thread.sleep(1);
                }
            }
            stopBystander.set(true);
            other.join();
            // Quiet: nothing else calls now, so whatever the server scores is the stalled stream's.
            long rssStalled = server.rssBytes().orElse(0L);
            long scoredStalled = info.getServerInfo(GetServerInfoRequest.getDefaultInstance()).getScoredSuspects();
            Thread.sleep(stall.toMillis());
            long scoredAfter = info.getServerInfo(GetServerInfoRequest.getDefaultInstance()).getScoredSuspects();
            long rssAfter = server.rssBytes().orElse(0L);
            requests.cancel("the stalled-stream check is over", null);
            return new Backpressure(sent, scoredStalled - scoredBefore - bystanderCalls.get() + bystanderErrors.get(),
                    stalled, scoredAfter - scoredStalled, rssBefore, rssStalled, rssAfter, bystanderCalls.get(),
                    bystanderErrors.get(), bystanderMaxNanos.get() / 1e6);
        } finally {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
            bystander.close();
        }
    }

    /** The response side of the stalled stream: asks for no response, ever. */
    private static final class UnreadResponses implements ClientResponseObserver<ScoreRequest, ScoreResponse> {
        final AtomicBoolean ended = new AtomicBoolean();

        @Override
        public void beforeStart(ClientCallStreamObserver<ScoreRequest> requestStream) {
            requestStream.disableAutoRequestWithInitial(0);
        }

        @Override
        public void onNext(ScoreResponse value) {
        }

        @Override
        public void onError(Throwable t) {
            ended.set(true);
        }

        @Override
        public void onCompleted() {
            ended.set(true);
        }
    }

    /** Heap occupancy after each pause in {@code gcLog}, from {@code startUptime} on, timed from then. */
    static List<Sample> heapAfterGc(Path gcLog, double startUptime) {
        List<Sample> samples = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(gcLog)) {
                Matcher m = GC_LINE.matcher(line);
                if (m.find() && Double.parseDouble(m.group(1)) >= startUptime) {
                    samples.add(new Sample(Double.parseDouble(m.group(1)) - startUptime,
                            Long.parseLong(m.group(3)) << 20));
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        return samples;
    }

    /** Medians of the readings in the second and the last quarter of {@code seconds}. */
    static Flatness flatness(List<Sample> samples, double seconds) {
        long[] q2 = samples.stream().filter(s -> s.atSeconds() >= seconds / 4 && s.atSeconds() < seconds / 2)
                .mapToLong(Sample::bytes).sorted().toArray();
        long[] q4 = samples.stream().filter(s -> s.atSeconds() >= seconds * 3 / 4)
                .mapToLong(Sample::bytes).sorted().toArray();
        return new Flatness(q2.length == 0 ? 0 : q2[q2.length / 2], q4.length == 0 ? 0 : q4[q4.length / 2],
                Math.min(q2.length, q4.length));
    }

    private static double quantile(long[] sortedNanos, double q) {
        if (sortedNanos.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.min(sortedNanos.length - 1, Math.ceil(q * sortedNanos.length) - 1);
        return sortedNanos[Math.max(0, i)] / 1e6;
    }

    /** Rows of fingerprint {@code seed}: seeded, finite, never all zero. */
    static float[] rows(long seed) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 1);
        float[] rows = new float[SET.numProbes() * SET.dim()];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return rows;
    }

    /** A suspect close to one of the fixed references. */
    private static float[] suspect(SplittableRandom r) {
        float[] rows = rows(r.nextInt(FIXED_REFERENCES));
        for (int i = 0; i < rows.length; i++) {
            rows[i] += (float) (r.nextDouble() * 0.2 - 0.1);
        }
        return rows;
    }

    private static Path sibling(Path dataDir, String suffix) {
        return dataDir.resolveSibling(dataDir.getFileName() + suffix);
    }

    /** A growable array of longs; one per worker and method, so recording takes no lock. */
    private static final class LongList {
        private long[] values = new long[1024];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
