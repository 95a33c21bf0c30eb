package dev.imprint.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.engine.BackendProvider;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.ScoreBatching;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.engine.cuda.CudaOptions;
import dev.imprint.io.ResultTable;
import dev.imprint.server.ServerHarness;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Spark job on {@code local[2,4]} (two task threads, a task tried up to four times) against a
 * real Imprint server over the same data directory: a few thousand suspects of each kind, from
 * Parquet and from Arrow, from the shared data directory and from broadcast references. Every
 * metric, p_value, q_value and verdict must equal the server's bit for bit (doubles compared with
 * {@link Double#compare}, never a tolerance).
 */
class RescoreJobTest {
    private static final int SUSPECTS = 1200;
    private static final int PARTITIONS = 4;

    @TempDir
    static Path root;

    private static SparkSession spark;
    private static BulkScenario distribution;
    private static BulkScenario embedding;
    /** Outputs of earlier tests, by name, for tests that compare against them. */
    private static final Map<String, List<Row>> outputs = new ConcurrentHashMap<>();
    /** The server's lone answers per probe set, asked once. */
    private static final Map<String, Map<String, Row>> aloneAnswers = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws IOException {
        spark = SparkSession.builder().master("local[2,4]").appName("RescoreJobTest")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", String.valueOf(PARTITIONS))
                .getOrCreate();
        distribution = BulkScenario.create(spark, root.resolve("distribution"), ProbeSetKind.DISTRIBUTION, SUSPECTS, 11);
        embedding = BulkScenario.create(spark, root.resolve("embedding"), ProbeSetKind.EMBEDDING, SUSPECTS, 12);
    }

    @AfterAll
    static void stop() {
        ExecutorEngines.closeAll();
        if (spark != null) {
            spark.stop();
        }
    }

    @AfterEach
    void noFaults() {
        ScorePartition.faults = (partition, attempt) -> { };
    }

    @Test
    void parquetFromTheDataDirectoryScoredAloneEqualsTheServerBitForBit() throws Exception {
        BulkScenario s = distribution;
        Path out = root.resolve("out-dist-parquet-alone");
        long straddling = spark.read().parquet(s.parquetDir.toString())
                .selectExpr("model_id", "_metadata.file_path AS file").distinct()
                .groupBy("model_id").count().filter("count > 1").count();
        assertTrue(straddling > 0, "some suspect's rows are in two files");
        BulkRescore.Summary summary = BulkRescore.run(spark, settings(s.parquetDir, s.dataDir, null, out, 1));
        assertEquals(SUSPECTS, summary.suspects());
        assertEquals(SUSPECTS * 12L, summary.rows());
        assertEquals(12, summary.references());
        assertEqualBitForBit(serverAnswersAlone(s), read(out));
        org.apache.spark.sql.types.Metadata metadata = spark.read().parquet(out.toString()).schema()
                .apply(ResultTable.SUSPECT_ID).metadata();
        assertEquals(ResultTable.FORMAT, metadata.getString("imprint.format"));
        assertEquals(s.set.id(), metadata.getString("imprint.probe_set_id"));
    }

    @Test
    void arrowFromTheDataDirectoryScoredAloneEqualsTheServerBitForBit() throws Exception {
        BulkScenario s = embedding;
        Path out = root.resolve("out-emb-arrow-alone");
        BulkRescore.run(spark, settings(s.arrowDir, s.dataDir, null, out, 1));
        assertEqualBitForBit(serverAnswersAlone(s), read(out));
    }

    @Test
    void batchesOfBroadcastReferencesEqualTheServersEngineScoringTheSameBatches() throws Exception {
        for (BulkScenario s : List.of(distribution, embedding)) {
            Path arrowOut = root.resolve("out-" + s.set.id() + "-arrow-batched");
            BulkRescore.run(spark, settings(s.arrowDir, null, s.referencesDir, arrowOut, 64));
            List<Row> arrow = read(arrowOut);
            assertEqualBitForBit(serverEngineInJobBatches(s, 64), arrow);
            // The same suspects from Parquet make the same partitions and batches, so the same bits.
            Path parquetOut = root.resolve("out-" + s.set.id() + "-parquet-batched");
            BulkRescore.run(spark, settings(s.parquetDir, s.dataDir, null, parquetOut, 64));
            assertEqualBitForBit(byKey(arrow), read(parquetOut));
            outputs.put(s.set.id(), arrow);
            report(s, serverAnswersAlone(s), arrow);
        }
    }

    /** Prints how far batched values are from lone ones, the float rounding README "Bulk jobs" states. */
    private static void report(BulkScenario s, Map<String, Row> alone, List<Row> batched) {
        double metric = 0;
        double metricRelative = 0;
        double p = 0;
        int verdicts = 0;
        for (Row b : batched) {
            Row a = alone.get(key(b.getString(0), b.getString(1)));
            for (int c = 4; c < 9; c++) {
                if (!b.isNullAt(c)) {
                    double d = Math.abs(b.getDouble(c) - a.getDouble(c));
                    metric = Math.max(metric, d);
                    metricRelative = Math.max(metricRelative, d / Math.max(1e-300, Math.abs(a.getDouble(c))));
                }
            }
            if (!b.isNullAt(11)) {
                p = Math.max(p, Math.abs(b.getDouble(11) - a.getDouble(11)));
            }
            if (!java.util.Objects.equals(b.get(9), a.get(9))) {
                verdicts++;
            }
        }
        System.out.printf("%s batch 64 vs alone: max |metric difference| %.3g (relative %.3g), max |p difference| %.3g, "
                + "%d rows with another verdict%n", s.set.id(), metric, metricRelative, p, verdicts);
    }

    @Test
    void aTaskThatFailsIsRetriedBySparkAndTheOutputIsComplete() throws Exception {
        BulkScenario s = distribution;
        List<String> attempts = Collections.synchronizedList(new ArrayList<>());
        ScorePartition.faults = (partition, attempt) -> {
            attempts.add(partition + "/" + attempt);
            if (partition == 1 && attempt == 0) {
                throw new IllegalStateException("injected fault in partition 1, attempt 0");
            }
        };
        Path out = root.resolve("out-retried");
        BulkRescore.Summary summary = BulkRescore.run(spark, settings(s.parquetDir, s.dataDir, null, out, 64));
        assertTrue(attempts.contains("1/0") && attempts.contains("1/1"), "partition 1 ran twice: " + attempts);
        assertEquals(SUSPECTS, summary.suspects());
        assertEqualBitForBit(serverEngineInJobBatches(s, 64), read(out));
    }

    @Test
    void aPartitionThatFailsEveryAttemptFailsTheJobAndLeavesNoOutput() throws IOException {
        BulkScenario s = distribution;
        ScorePartition.faults = (partition, attempt) -> {
            if (partition == 1) {
                throw new IllegalStateException("injected fault in partition 1, attempt " + attempt);
            }
        };
        Path table = root.resolve("failing.arrow");
        try (var allocator = new org.apache.arrow.memory.RootAllocator()) {
            BulkScenario.writeArrow(allocator, table, s.set, s.suspects.subList(0, 80));
        }
        Path out = root.resolve("out-failed");
        ImprintException e = assertThrows(ImprintException.class,
                () -> BulkRescore.run(spark, settings(table, s.dataDir, null, out, 64)));
        assertTrue(e.getMessage().startsWith("the Spark job failed: ") && e.getMessage().contains("failed 4 times")
                && e.getMessage().contains("injected fault in partition 1, attempt 3"), e.getMessage());
        assertNoOutput(out);
    }

    @Test
    void aParquetTableWithoutValuesIsRefusedNamingTheFileAndNothingIsWritten() throws IOException {
        Path table = root.resolve("no-values.parquet");
        spark.read().parquet(distribution.parquetDir.toString()).select("model_id", "probe").write()
                .parquet(table.toString());
        Path out = root.resolve("out-no-values");
        ImprintException e = assertThrows(ImprintException.class,
                () -> BulkRescore.run(spark, settings(table, distribution.dataDir, null, out, 64)));
        assertEquals(table + ": no column values; a suspect table has columns model_id, probe and values "
                + "(README \"File formats\")", e.getMessage());
        assertNoOutput(out);
    }

    @Test
    void parquetRowsOfTheWrongWidthAreRefusedInOneLineNamingTheFile() throws IOException {
        BulkScenario s = distribution;
        Path table = root.resolve("narrow.parquet");
        List<BulkScenario.Suspect> narrow = new ArrayList<>();
        for (BulkScenario.Suspect x : s.suspects.subList(0, 30)) {
            float[] rows = new float[x.probes().length * 40];
            for (int r = 0; r < x.probes().length; r++) {
                System.arraycopy(x.rows(), r * BulkScenario.DIM, rows, r * 40, 40);
            }
            narrow.add(new BulkScenario.Suspect(x.id(), x.probes(), rows));
        }
        BulkScenario.writeParquet(spark, table, narrow);
        Path out = root.resolve("out-narrow");
        ImprintException e = assertThrows(ImprintException.class,
                () -> BulkRescore.run(spark, settings(table, s.dataDir, null, out, 64)));
        assertTrue(e.getMessage().matches("file:" + table + "/part-\\S+\\.parquet: row \\d+: values has 40 entries "
                + "but probe set bulk-distribution has dim=48"), e.getMessage());
        assertNoOutput(out);
    }

    @Test
    void anArrowTableOfTheWrongWidthIsRefusedBeforeAnythingRuns() throws IOException {
        ProbeSet other = new ProbeSet(distribution.set.id(), BulkScenario.PROBES, 40, ProbeSetKind.DISTRIBUTION,
                ProbeSet.DEFAULT_SMOOTHING_EPSILON, "");
        Path table = root.resolve("narrow.arrow");
        float[] rows = new float[BulkScenario.PROBES * 40];
        java.util.Arrays.fill(rows, 1f / 40);
        try (var allocator = new org.apache.arrow.memory.RootAllocator()) {
            BulkScenario.writeArrow(allocator, table, other, List.of(new BulkScenario.Suspect("narrow",
                    java.util.stream.IntStream.range(0, BulkScenario.PROBES).toArray(), rows)));
        }
        Path out = root.resolve("out-narrow-arrow");
        ImprintException e = assertThrows(ImprintException.class,
                () -> BulkRescore.run(spark, settings(table, distribution.dataDir, null, out, 64)));
        assertEquals(table + " has rows of 40 values but probe set bulk-distribution has dim=48", e.getMessage());
        assertNoOutput(out);
    }

    @Test
    void backendCudaOnAnExecutorWithoutAGpuFailsTheJobInOneLine() throws IOException {
        SelectedBackend probe = BackendProvider.select(BackendProvider.Choice.AUTO, CudaOptions.defaults());
        probe.backend().close();
        assumeTrue(probe.backend().name().equals("cpu"), "this host has a usable GPU: " + probe.reason());
        BulkScenario s = embedding;
        Path out = root.resolve("out-cuda");
        RescoreSettings settings = new RescoreSettings(s.arrowDir.toString(), RescoreSettings.InputFormat.AUTO,
                s.dataDir.toString(), List.of(), null, out.toString(), false, 64, PARTITIONS, List.of(), null, 0.01, true,
                new RescoreSettings.EngineSettings(BackendProvider.Choice.CUDA, null, false, 0, false));
        ImprintException e = assertThrows(ImprintException.class, () -> BulkRescore.run(spark, settings));
        assertEquals(ImprintException.Code.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().startsWith("--backend cuda, but no usable CUDA device: ")
                && !e.getMessage().contains("\n"), e.getMessage());
        assertNoOutput(out);
    }

    @Test
    void anUnknownProbeSetIsRefusedNamingTheDataDirectory() throws IOException {
        Path out = root.resolve("out-unknown");
        RescoreSettings settings = new RescoreSettings(distribution.parquetDir.toString(),
                RescoreSettings.InputFormat.AUTO, distribution.dataDir.toString(), List.of(), "no-such-set",
                out.toString(), false, 64, PARTITIONS, List.of(), null, 0.01, true, RescoreSettings.EngineSettings.cpu());
        ImprintException e = assertThrows(ImprintException.class, () -> BulkRescore.run(spark, settings));
        assertEquals(ImprintException.Code.NOT_FOUND, e.code());
        assertEquals("probe set no-such-set does not exist in data directory " + distribution.dataDir, e.getMessage());
        assertNoOutput(out);
    }

    @Test
    void theCommandLineScoresPrintsTheVerdictsAndRefusesBadInputInOneLine() throws IOException {
        BulkScenario s = distribution;
        Path table = root.resolve("cli.arrow");
        try (var allocator = new org.apache.arrow.memory.RootAllocator()) {
            BulkScenario.writeArrow(allocator, table, s.set, s.suspects.subList(0, 40));
        }
        Path out = root.resolve("out-cli");
        java.io.StringWriter stdout = new java.io.StringWriter();
        java.io.StringWriter stderr = new java.io.StringWriter();
        int code = RescoreJob.execute(new String[] {"--suspects", table.toString(), "--data-dir", s.dataDir.toString(),
                "--out", out.toString(), "--partitions", "2", "--backend", "cpu"}, new java.io.PrintWriter(stdout, true),
                new java.io.PrintWriter(stderr, true));
        assertEquals(0, code, stderr.toString());
        assertTrue(stdout.toString().startsWith("scored 40 suspects against 12 references (data directory "
                + s.dataDir + " (probe set bulk-distribution), version "), stdout.toString());
        assertTrue(stdout.toString().contains("480 result rows written to " + out), stdout.toString());
        assertTrue(stdout.toString().contains("verdicts at alpha 0.01: "), stdout.toString());
        assertEquals(480, read(out).size());

        stdout.getBuffer().setLength(0);
        code = RescoreJob.execute(new String[] {"--suspects", table.toString(), "--data-dir", s.dataDir.toString(),
                "--out", out.toString()}, new java.io.PrintWriter(stdout, true), new java.io.PrintWriter(stderr, true));
        assertEquals(1, code);
        assertEquals("imprint-spark: " + out + " already exists; pass --overwrite to replace it once the run succeeds",
                stderr.toString().trim());

        stderr.getBuffer().setLength(0);
        code = RescoreJob.execute(new String[] {"--suspects", table.toString(), "--out", out.toString()},
                new java.io.PrintWriter(stdout, true), new java.io.PrintWriter(stderr, true));
        assertEquals(1, code);
        assertEquals("imprint-spark: give either --data-dir (a shared data directory) or --references (reference files "
                + "to broadcast), not neither", stderr.toString().trim());

        stderr.getBuffer().setLength(0);
        code = RescoreJob.execute(new String[] {"--suspects", table.toString(), "--batch", "many"},
                new java.io.PrintWriter(stdout, true), new java.io.PrintWriter(stderr, true));
        assertEquals(2, code, "a command-line mistake");
    }

    /**
     * The job over {@code suspects}; {@code --probe-set} is given for Parquet (which names none) and
     * left to the Arrow table's metadata otherwise.
     */
    private static RescoreSettings settings(Path suspects, Path dataDir, Path references, Path out, int batch) {
        boolean parquet = !suspects.toString().endsWith(".arrow") && !suspects.getFileName().toString().equals("arrow");
        return new RescoreSettings(suspects.toString(), RescoreSettings.InputFormat.AUTO,
                dataDir == null ? null : dataDir.toString(), references == null ? List.of() : List.of(references.toString()),
                parquet ? probeSetOf(dataDir) : null, out.toString(), false, batch, PARTITIONS, List.of(), null, 0.01,
                true, RescoreSettings.EngineSettings.cpu());
    }

    private static String probeSetOf(Path dataDir) {
        return dataDir.equals(embedding.dataDir) ? embedding.set.id() : distribution.set.id();
    }

    /**
     * What a server over the scenario's data directory answers to one Score call per suspect (each
     * then scored alone), as rescore turns answers into rows and q-values.
     */
    static Map<String, Row> serverAnswersAlone(BulkScenario s) throws Exception {
        Map<String, Row> known = aloneAnswers.get(s.set.id());
        if (known != null) {
            return known;
        }
        Map<String, ScoreResult> results = new HashMap<>();
        try (ServerHarness server = ServerHarness.start(s.dataDir, CpuBackend::new, ScoreBatching.off())) {
            ScoreOptions options = ScoreOptions.defaults().withAttribution(0.01);
            for (BulkScenario.Suspect suspect : s.suspects) {
                results.put(suspect.id(), server.client().score(s.set.id(), suspect.rows(), suspect.probes(),
                        options));
            }
        }
        Map<String, Row> rows = expectedRows(results);
        aloneAnswers.put(s.set.id(), rows);
        return rows;
    }

    /**
     * What the engine of a server over the scenario's data directory gives when it scores the job's
     * batches: each partition's suspects (the job's own plan) in runs of {@code batch}.
     */
    static Map<String, Row> serverEngineInJobBatches(BulkScenario s, int batch) throws Exception {
        Map<String, BulkScenario.Suspect> byId = s.suspects.stream()
                .collect(Collectors.toMap(BulkScenario.Suspect::id, x -> x));
        List<List<String>> partitions = BulkRescore.plannedSuspects(
                SuspectInput.of(s.arrowDir.toString(), RescoreSettings.InputFormat.AUTO).rows(spark, s.set), PARTITIONS);
        Map<String, ScoreResult> results = new HashMap<>();
        try (ServerHarness server = ServerHarness.start(s.dataDir, CpuBackend::new, ScoreBatching.off())) {
            ImprintEngine engine = server.engine();
            ProbeSet set = engine.getProbeSet(s.set.id());
            ScoreQuery query = ScoreQuery.resolve(set, Set.of(), null, 0, List.of(), Map.of(), false)
                    .withAttribution(0.01);
            for (List<String> ids : partitions) {
                for (int from = 0; from < ids.size(); from += batch) {
                    List<String> chunk = ids.subList(from, Math.min(ids.size(), from + batch));
                    List<Suspect> suspects = chunk.stream().map(byId::get)
                            .map(x -> Suspect.of(set, x.probes().length, set.dim(), x.rows(), x.probes())).toList();
                    List<ScoreResult> scored = engine.scoreAll(set, suspects, query);
                    for (int i = 0; i < chunk.size(); i++) {
                        results.put(chunk.get(i), scored.get(i));
                    }
                }
            }
        }
        return expectedRows(results);
    }

    /** The result rows {@code rescore} writes for these results: its row function and its q-values. */
    static Map<String, Row> expectedRows(Map<String, ScoreResult> results) {
        List<String> ids = new ArrayList<>(results.keySet());
        Collections.shuffle(ids, new java.util.Random(5));
        double[] p = ids.stream().mapToDouble(id -> ResultTable.suspectPValue(results.get(id))).toArray();
        double[] q = ResultTable.qValues(p);
        Map<String, Row> rows = new HashMap<>();
        for (int i = 0; i < ids.size(); i++) {
            for (ResultTable.Row row : ResultTable.rows(ids.get(i), results.get(ids.get(i)))) {
                rows.put(key(row.suspectId(), row.modelId()), ResultRows.withQValue(ResultRows.scored(row, p[i]), q[i]));
            }
        }
        return rows;
    }

    static List<Row> read(Path out) {
        assertTrue(Files.exists(out.resolve("_SUCCESS")), out + " has no _SUCCESS");
        return spark.read().parquet(out.toString()).collectAsList();
    }

    static Map<String, Row> byKey(List<Row> rows) {
        Map<String, Row> out = new HashMap<>();
        for (Row r : rows) {
            out.put(key(r.getString(0), r.getString(1)), r);
        }
        return out;
    }

    private static String key(String suspect, String model) {
        return suspect + "\u0000" + model;
    }

    /** Every row of {@code actual} equals the expected row of its (suspect, model), every column bit for bit. */
    static void assertEqualBitForBit(Map<String, Row> expected, List<Row> actual) {
        assertEquals(expected.size(), actual.size(), "rows");
        assertEquals(ResultTable.COLUMNS.size(), actual.get(0).size());
        int verdicts = 0;
        for (Row a : actual) {
            String k = key(a.getString(0), a.getString(1));
            Row e = expected.get(k);
            if (e == null) {
                throw new AssertionError("unexpected row " + a);
            }
            for (int c = 0; c < ResultTable.COLUMNS.size(); c++) {
                Object ev = e.get(c);
                Object av = a.get(c);
                String what = ResultTable.COLUMNS.get(c) + " of " + k.replace('\u0000', '/');
                if (ev instanceof Double ed && av instanceof Double ad) {
                    assertEquals(0, Double.compare(ed, ad), what + ": expected " + ed + " but was " + ad);
                } else {
                    assertEquals(ev, av, what);
                }
            }
            if (a.get(ResultRows.verdictIndex()) != null) {
                verdicts++;
            }
        }
        assertEquals(actual.size(), verdicts, "every row carries its suspect's verdict");
        assertTrue(actual.stream().anyMatch(r -> "DISTILLED_FROM".equals(r.get(ResultRows.verdictIndex()))),
                "some suspect is called distilled");
        assertTrue(actual.stream().anyMatch(r -> !r.isNullAt(ResultTable.COLUMNS.indexOf(Metric.values()[0].name()
                .toLowerCase(java.util.Locale.ROOT)))), "cosine is there");
    }

    static void assertNoOutput(Path out) throws IOException {
        assertFalse(Files.exists(out), out + " must not exist");
        try (var siblings = Files.list(out.getParent())) {
            List<Path> left = siblings.filter(p -> p.getFileName().toString().startsWith("." + out.getFileName()))
                    .toList();
            assertEquals(List.of(), left, "no staging directory is left behind");
        }
    }
}
