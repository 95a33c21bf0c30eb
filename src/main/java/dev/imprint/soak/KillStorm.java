package dev.imprint.soak;

import dev.imprint.client.ImprintClient;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ScoreResult;
import dev.imprint.io.ReferenceFile;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * The kill-9 storm: forks {@code imprint serve} on a data directory, runs concurrent clients that
 * put, replace, delete and score references through {@link ImprintClient}, SIGKILLs the server at a
 * random moment, and checks what survived; then restarts it on the same directory, and again.
 *
 * <p>Each client owns its own model ids and runs one operation at a time on them, so every model has
 * a well-defined last acknowledged state and at most one operation in flight when the kill lands.
 * Every put carries label {@code write=<n>} and rows generated from seed n; the ledger keeps the
 * SHA-256 of the rows sent under each n.
 *
 * <p>Checks after every kill, with the server down, on the files themselves ({@link ReferenceFile}
 * reads and verifies each one): every model holds its last acknowledged value or, when an operation
 * was in flight, that operation's outcome, never anything else ("lost" otherwise); every file's rows
 * hash to what the client sent under its {@code write} label ("half-visible" otherwise); no file
 * fails to read and none is set aside as {@code *.corrupt}. Then, on restart: the time from fork to
 * the first successful call is at most {@link Settings#maxStartup}, the server quarantined nothing,
 * left no temporary file, and lists exactly the references found on disk. While it runs, a client's
 * score of its own acknowledged rows against that model must give COSINE 1 (to 1e-4).
 */
public final class KillStorm {
    /** The storm's probe set: EMBEDDING, 64 probes × 1024, so a reference is 256 KiB. */
    static final ProbeSet SET = new ProbeSet("storm", 64, 1024, ProbeSetKind.EMBEDDING, 0, "kill-9 storm");
    private static final String WRITE = "write";
    private static final long ABSENT = -1;
    private static final long DELETE = -2;
    private static final long NONE = Long.MIN_VALUE;

    /**
     * @param jar           the shaded jar to run {@code serve} from
     * @param dataDir       the server's data directory (created; its log goes beside it)
     * @param kills         how many times to SIGKILL the server
     * @param clients       concurrent clients, each with {@code modelsPerClient} model ids of its own
     * @param maxStartup    the bound asserted on fork-to-first-successful-call after every restart
     * @param killAfterMin  a kill comes between this and {@code killAfterMax} after the clients start
     */
    public record Settings(Path jar, Path dataDir, int kills, int clients, int modelsPerClient, long seed,
                           Duration maxStartup, Duration killAfterMin, Duration killAfterMax) {
        public Settings {
            if (kills < 1 || clients < 1 || modelsPerClient < 1) {
                throw new IllegalArgumentException("kills=" + kills + ", clients=" + clients + ", modelsPerClient="
                        + modelsPerClient + "; expected at least 1 each");
            }
        }
    }

    /**
     * What a storm found.
     *
     * @param ackedPuts      puts the server acknowledged
     * @param ackedDeletes   deletes the server acknowledged
     * @param checkedStates  (model, restart) pairs whose state an acknowledged operation fixed and
     *                       that were checked against the files
     * @param inFlightLanded operations in flight at a kill whose outcome was found on disk
     * @param inFlightLost   operations in flight at a kill that left no trace (allowed: never acknowledged)
     * @param killsMidWrite  kills that left a temporary file behind: they landed inside a write
     * @param lost           acknowledged states not found (must be 0)
     * @param halfVisible    files whose rows are not what was sent under their label, or that name no sent write
     * @param corrupt        files that failed to read, {@code *.corrupt} files, and files the server quarantined
     * @param startupMillis  per start, fork to first successful call
     * @param problems       the first failures, in words
     */
    public record Report(int kills, long ackedPuts, long ackedDeletes, long scoreChecks, long checkedStates,
                         long inFlightLanded, long inFlightLost, long killsMidWrite, long lost, long halfVisible,
                         long corrupt, List<Long> startupMillis, Duration maxStartup, List<String> problems) {
        public boolean passed() {
            return lost == 0 && halfVisible == 0 && corrupt == 0 && problems.isEmpty()
                    && maxStartupMillis() <= maxStartup.toMillis();
        }

        public long maxStartupMillis() {
            return startupMillis.stream().mapToLong(Long::longValue).max().orElse(0);
        }

        public long medianStartupMillis() {
            List<Long> sorted = startupMillis.stream().sorted().toList();
            return sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2);
        }

        /** One line per figure, as the storm prints them. */
        public String summary() {
            return String.format("kills=%d acked_puts=%d acked_deletes=%d score_checks=%d checked_states=%d%n"
                            + "in_flight_landed=%d in_flight_lost=%d kills_mid_write=%d%n"
                            + "lost=%d half_visible=%d corrupt=%d%n"
                            + "starts=%d startup_ms_median=%d startup_ms_max=%d (bound %d)%n"
                            + "problems=%d%s%n%s",
                    kills, ackedPuts, ackedDeletes, scoreChecks, checkedStates, inFlightLanded, inFlightLost,
                    killsMidWrite, lost, halfVisible, corrupt, startupMillis.size(), medianStartupMillis(),
                    maxStartupMillis(), maxStartup.toMillis(), problems.size(),
                    problems.isEmpty() ? "" : ": " + problems, passed() ? "storm passed" : "storm FAILED");
        }
    }

    /** One model's place in the ledger; only its owning client writes it while the server runs. */
    private static final class ModelState {
        final String modelId;
        volatile long acked = ABSENT;
        volatile long pending = NONE;
        volatile boolean everAcked;

        ModelState(String modelId) {
            this.modelId = modelId;
        }
    }

    private final Settings settings;
    private final SplittableRandom random;
    private final Map<Long, String> sentChecksums = new ConcurrentHashMap<>();
    private final AtomicLong nextWrite = new AtomicLong(1);
    private final List<List<ModelState>> models = new ArrayList<>();
    private final AtomicLong ackedPuts = new AtomicLong();
    private final AtomicLong ackedDeletes = new AtomicLong();
    private final AtomicLong scoreChecks = new AtomicLong();
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> startupMillis = new ArrayList<>();
    private long checkedStates;
    private long inFlightLanded;
    private long inFlightLost;
    private long killsMidWrite;
    private long lost;
    private long halfVisible;
    private long corrupt;
    private volatile boolean killIssued;

    private KillStorm(Settings settings) {
        this.settings = settings;
        this.random = new SplittableRandom(settings.seed());
        for (int c = 0; c < settings.clients(); c++) {
            List<ModelState> own = new ArrayList<>();
            for (int m = 0; m < settings.modelsPerClient(); m++) {
                own.add(new ModelState("c" + c + "-m" + m));
            }
            models.add(own);
        }
    }

    /** Runs the storm described by {@code settings} and reports; it never throws for a failed check. */
    public static Report run(Settings settings) throws IOException, InterruptedException {
        return new KillStorm(settings).storm();
    }

    private Report storm() throws IOException, InterruptedException {
        Files.createDirectories(settings.dataDir());
        Path log = settings.dataDir().resolveSibling(settings.dataDir().getFileName() + "-server.log");
        Map<String, Long> onDisk = Map.of();
        for (int kill = 0; kill <= settings.kills() && problems.size() < 20; kill++) {
            ServerProcess server = ServerProcess.start(settings.jar(), settings.dataDir(), log, List.of("-Xmx512m"));
            try {
                ImprintClient probe = connectTimed(server);
                try {
                    checkServerView(probe, onDisk, kill);
                    if (kill == 0) {
                        probe.createProbeSet(SET);
                    }
                } finally {
                    probe.close();
                }
                if (kill == settings.kills()) {
                    break; // the last start only checks what the server loaded
                }
                killIssued = false;
                List<Thread> workers = new ArrayList<>();
                List<ImprintClient> clients = new ArrayList<>();
                String target = "127.0.0.1:" + server.awaitPort(Duration.ZERO);
                for (int c = 0; c < settings.clients(); c++) {
                    ImprintClient client = ImprintClient.connect(target);
                    clients.add(client);
                    List<ModelState> own = models.get(c);
                    long seed = random.nextLong();
                    Thread worker = new Thread(() -> work(client, own, seed), "storm-client-" + c);
                    worker.start();
                    workers.add(worker);
                }
                long span = settings.killAfterMax().toMillis() - settings.killAfterMin().toMillis();
                Thread.sleep(settings.killAfterMin().toMillis() + (span > 0 ? random.nextLong(span) : 0));
                killIssued = true;
                server.kill();
                for (Thread w : workers) {
                    w.join(60_000);
                    if (w.isAlive()) {
                        problems.add(w.getName() + " still running 60 s after the kill");
                    }
                }
                for (ImprintClient c : clients) {
                    c.close();
                }
                onDisk = checkFiles(kill + 1);
            } finally {
                server.close();
            }
        }
        return new Report(settings.kills(), ackedPuts.get(), ackedDeletes.get(), scoreChecks.get(), checkedStates,
                inFlightLanded, inFlightLost, killsMidWrite, lost, halfVisible, corrupt, List.copyOf(startupMillis),
                settings.maxStartup(), List.copyOf(problems));
    }

    /** Waits for the first successful call and records how long after the fork it came. */
    private ImprintClient connectTimed(ServerProcess server) throws IOException, InterruptedException {
        int port = server.awaitPort(settings.maxStartup().plusSeconds(60));
        ImprintClient client = ImprintClient.connect("127.0.0.1:" + port);
        long deadline = server.startNanos() + settings.maxStartup().plusSeconds(60).toNanos();
        while (true) {
            try {
                client.awaitServer("127.0.0.1:" + port, Duration.ofSeconds(5));
                startupMillis.add((System.nanoTime() - server.startNanos()) / 1_000_000);
                return client;
            } catch (RuntimeException e) {
                if (System.nanoTime() > deadline) {
                    client.close();
                    throw e;
                }
                Thread.sleep(5);
            }
        }
    }

    /** One client's loop until the kill: operations on its own models, each awaited before the next. */
    private void work(ImprintClient client, List<ModelState> own, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        ScoreOptions cosine = ScoreOptions.defaults().withMetrics(Set.of(Metric.COSINE));
        try {
            while (!killIssued) {
                ModelState m = own.get(r.nextInt(own.size()));
                int roll = r.nextInt(10);
                if (m.acked == ABSENT || roll < 5) {
                    long write = nextWrite.getAndIncrement();
                    float[] rows = rows(write);
                    sentChecksums.put(write, sha256(rows));
                    m.pending = write;
                    client.putReference(SET.id(), m.modelId, Map.of(WRITE, Long.toString(write)), rows,
                            m.acked != ABSENT);
                    m.acked = write;
                    m.pending = NONE;
                    m.everAcked = true;
                    ackedPuts.incrementAndGet();
                } else if (roll < 7) {
                    m.pending = DELETE;
                    client.deleteReference(SET.id(), m.modelId);
                    m.acked = ABSENT;
                    m.pending = NONE;
                    m.everAcked = true;
                    ackedDeletes.incrementAndGet();
                } else {
                    ScoreResult result = client.score(SET.id(), rows(m.acked), new int[0],
                            cosine.withModelIds(List.of(m.modelId)));
                    Match match = result.matches().isEmpty() ? null : result.matches().get(0);
                    Double value = match == null ? null : match.values().get(Metric.COSINE);
                    if (match == null || !m.modelId.equals(match.modelId()) || value == null
                            || Math.abs(value - 1) > 1e-4) {
                        problems.add("score of " + m.modelId + "'s acknowledged rows (write " + m.acked
                                + ") gave " + result.matches());
                    }
                    scoreChecks.incrementAndGet();
                }
            }
        } catch (StatusRuntimeException | ImprintException e) {
            if (!killIssued) {
                problems.add(Thread.currentThread().getName() + " failed before any kill: " + e);
            }
        } catch (RuntimeException e) {
            problems.add(Thread.currentThread().getName() + " failed: " + e);
        }
    }

    /**
     * With the server down: reads every reference file, checks it against the ledger, and moves the
     * ledger to what is on disk. Returns model id → write label found.
     */
    private Map<String, Long> checkFiles(int kill) throws IOException {
        Map<String, Long> found = new TreeMap<>();
        Path refs = settings.dataDir().resolve(SET.id()).resolve("refs");
        try (BufferAllocator allocator = new RootAllocator();
             Stream<Path> files = Files.exists(refs) ? Files.list(refs) : Stream.empty()) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".arrow")).sorted().toList()) {
                ReferenceFile.Contents contents;
                try {
                    contents = ReferenceFile.read(allocator, f);
                } catch (RuntimeException e) {
                    corrupt++;
                    problem("after kill " + kill + ": " + f + " does not read: " + e.getMessage());
                    continue;
                }
                String modelId = contents.reference().meta().modelId();
                String label = contents.reference().meta().labels().get(WRITE);
                Long write = label == null ? null : Long.valueOf(label);
                String sent = write == null ? null : sentChecksums.get(write);
                if (sent == null || !sent.equals(sha256(contents.reference().rows()))
                        || !f.getFileName().toString().equals(modelId + ".arrow")) {
                    halfVisible++;
                    problem("after kill " + kill + ": " + f + " holds rows that are not those sent as write "
                            + label + " of " + modelId);
                    continue;
                }
                found.put(modelId, write);
            }
        }
        corrupt += countCorruptFiles(kill);
        try (Stream<Path> walk = Files.walk(settings.dataDir())) {
            if (walk.anyMatch(p -> p.getFileName().toString().endsWith(".tmp"))) {
                killsMidWrite++;
            }
        }
        for (List<ModelState> own : models) {
            for (ModelState m : own) {
                long observed = found.getOrDefault(m.modelId, ABSENT);
                long pendingOutcome = m.pending == NONE ? NONE : m.pending == DELETE ? ABSENT : m.pending;
                if (m.everAcked) {
                    checkedStates++;
                }
                if (observed == m.acked && pendingOutcome != NONE && pendingOutcome != m.acked) {
                    inFlightLost++;
                } else if (observed != m.acked && observed == pendingOutcome) {
                    inFlightLanded++;
                } else if (observed != m.acked) {
                    lost++;
                    problem("after kill " + kill + ": " + m.modelId + " acknowledged as " + describe(m.acked)
                            + (pendingOutcome == NONE ? "" : " (in flight: " + describe(pendingOutcome) + ")")
                            + " but found " + describe(observed));
                }
                m.acked = observed;
                m.pending = NONE;
                found.remove(m.modelId);
                if (observed != ABSENT) {
                    found.put(m.modelId, observed);
                }
            }
        }
        return found;
    }

    /** {@code *.corrupt*} files anywhere under the data directory; each is a problem. */
    private long countCorruptFiles(int kill) throws IOException {
        try (Stream<Path> walk = Files.walk(settings.dataDir())) {
            List<Path> set = walk.filter(p -> p.getFileName().toString().contains(".corrupt")).toList();
            for (Path p : set) {
                problem("after kill " + kill + ": set aside as corrupt: " + p);
            }
            return set.size();
        }
    }

    /** After a start: nothing quarantined, no temporary file left, the same references as on disk. */
    private void checkServerView(ImprintClient client, Map<String, Long> onDisk, int kill) throws IOException {
        var info = client.getServerInfo();
        if (info.getQuarantinedFilesCount() > 0) {
            corrupt += info.getQuarantinedFilesCount();
            problem("start after kill " + kill + " quarantined " + info.getQuarantinedFilesList());
        }
        try (Stream<Path> walk = Files.walk(settings.dataDir())) {
            List<Path> tmp = walk.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
            if (!tmp.isEmpty()) {
                problem("start after kill " + kill + " left temporary files " + tmp);
            }
        }
        if (kill == 0) {
            return;
        }
        Map<String, Long> listed = new TreeMap<>();
        for (ReferenceMeta meta : client.listReferences(SET.id(), Map.of())) {
            listed.put(meta.modelId(), Long.valueOf(meta.labels().get(WRITE)));
        }
        if (!listed.equals(onDisk)) {
            problem("start after kill " + kill + " lists " + listed + " but the files hold " + onDisk);
        }
    }

    private void problem(String p) {
        if (problems.size() < 50) {
            problems.add(p);
        }
    }

    private static String describe(long state) {
        return state == ABSENT ? "absent" : "write " + state;
    }

    /** The rows of write {@code n}: seeded, finite, never all zero. */
    static float[] rows(long write) {
        SplittableRandom r = new SplittableRandom(write * 0x9E3779B97F4A7C15L);
        float[] rows = new float[SET.numProbes() * SET.dim()];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return rows;
    }

    /** SHA-256 of {@code rows} as little-endian float32 bytes, the bits stored. */
    static String sha256(float[] rows) {
        ByteBuffer bytes = ByteBuffer.allocate(rows.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : rows) {
            bytes.putInt(Float.floatToRawIntBits(v));
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
