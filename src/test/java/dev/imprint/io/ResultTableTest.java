package dev.imprint.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.Attribution;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Verdict;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.junit.jupiter.api.Test;

class ResultTableTest extends ArrowFileTestBase {
    @Test
    void arrowTableHoldsOneRowPerSuspectAndReferenceAcrossBatches() throws IOException {
        SplittableRandom random = new SplittableRandom(3);
        Set<Metric> metrics = EnumSet.of(Metric.COSINE, Metric.KL_REF_SUSPECT, Metric.TOP1_AGREEMENT);
        List<ResultTable.Row> expected = new ArrayList<>();
        Path file = dir.resolve("results.arrow");
        try (ResultTable.Writer table = ResultTable.create(allocator, file, null, "ps-9")) {
            for (int s = 0; s < 3; s++) {
                ScoreResult result = result(random, 1500 + s, metrics, 40 + s, null);
                table.write("suspect-" + s, result);
                for (Match m : result.matches()) {
                    expected.add(new ResultTable.Row("suspect-" + s, m.modelId(), m.rank(), 40 + s, m.values()));
                }
            }
            table.commit();
        }

        assertEquals(expected, ResultTable.readAll(allocator, file));
        try (FileChannel ch = FileChannel.open(file); ArrowFileReader reader = new ArrowFileReader(ch, allocator)) {
            assertEquals(2, reader.getRecordBlocks().size());
            assertEquals(ResultTable.COLUMNS, reader.getVectorSchemaRoot().getSchema().getFields().stream()
                    .map(f -> f.getName()).toList());
            assertEquals("ps-9", reader.getVectorSchemaRoot().getSchema().getCustomMetadata().get("imprint.probe_set_id"));
        }
        assertOnly(file);
    }

    @Test
    void csvHasTheSameColumnsWithEmptyCellsForWhatWasNotComputed() throws IOException {
        Map<Metric, Double> values = new EnumMap<>(Metric.class);
        values.put(Metric.COSINE, 0.875);
        values.put(Metric.JS, 1.5e-7);
        ScoreResult result = new ScoreResult("ps", List.of(
                new Match("ref-a", Map.of(), 1, values, Map.of()),
                new Match("ref-b", Map.of(), 2, Map.of(Metric.COSINE, -0.25), Map.of())), 12, 2, "cpu", Metric.COSINE);
        Path arrow = dir.resolve("results.arrow");
        Path csv = dir.resolve("results.csv");
        try (ResultTable.Writer table = ResultTable.create(allocator, arrow, csv, "ps")) {
            table.write("sus,\"x\"", result);
            table.commit();
        }

        assertEquals(List.of(
                "suspect_id,model_id,rank,probes_used,cosine,kl_ref_suspect,kl_suspect_ref,js,top1_agreement,"
                        + "verdict,verdict_model_id,p_value,q_value",
                "\"sus,\"\"x\"\"\",ref-a,1,12,0.875,,,1.5E-7,,,,,",
                "\"sus,\"\"x\"\"\",ref-b,2,12,-0.25,,,,,,,,"), Files.readAllLines(csv));
    }

    @Test
    void qValuesAreBenjaminiHochbergAcrossSuspectsOfEachSuspectsSmallestPValue() throws IOException {
        SplittableRandom random = new SplittableRandom(11);
        int suspects = 40;
        double[] smallest = new double[suspects];
        Path arrow = dir.resolve("results.arrow");
        Path csv = dir.resolve("results.csv");
        List<String> verdicts = new ArrayList<>();
        try (ResultTable.Writer table = ResultTable.create(allocator, arrow, csv, "ps")) {
            for (int s = 0; s < suspects; s++) {
                // Half the suspects look distilled (tiny p), half do not.
                double scale = s % 2 == 0 ? 1e-4 : 1;
                double[] p = {scale * random.nextDouble(), Double.NaN, Math.min(1, scale + random.nextDouble())};
                smallest[s] = Math.min(p[0], p[2]);
                Verdict v = smallest[s] <= 0.01 ? Verdict.DISTILLED_FROM : Verdict.INDEPENDENT;
                verdicts.add(v.name());
                List<Match> matches = new ArrayList<>();
                for (int r = 0; r < p.length; r++) {
                    matches.add(new Match("ref-" + r, Map.of(), r + 1, Map.of(Metric.COSINE, 0.5), Map.of(), p[r]));
                }
                Attribution a = new Attribution(v, "ref-0", "fam", smallest[s], 0.01, "because", 0.5, 64,
                        "residual_cosine", List.of());
                table.write("s" + s, new ScoreResult("ps", matches, 64, 3, "cpu", Metric.COSINE, a));
            }
            table.commit();
        }

        double[] expectedQ = bhByDefinition(smallest);
        List<ResultTable.Row> rows = ResultTable.readAll(allocator, arrow);
        assertEquals(3 * suspects, rows.size());
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        for (int i = 0; i < rows.size(); i++) {
            ResultTable.Row row = rows.get(i);
            int s = i / 3;
            assertEquals(verdicts.get(s), row.verdict());
            assertEquals(row.verdict().equals("DISTILLED_FROM") ? "ref-0" : null, row.verdictModelId());
            assertEquals(expectedQ[s], row.qValue(), 1e-12, "suspect " + s);
            if (row.modelId().equals("ref-1")) {
                assertNull(row.pValue(), "a candidate without a p-value has a null cell");
            }
            String[] cells = lines.get(i + 1).split(",", -1);
            assertEquals(row.qValue(), Double.parseDouble(cells[12]));
            assertEquals(row.verdict(), cells[9]);
        }
    }

    @Test
    void qValuesDependOnTheSuspectsPValuesNotOnTheirOrder() {
        SplittableRandom random = new SplittableRandom(17);
        double[] p = new double[2000];
        for (int i = 0; i < p.length; i++) {
            // Ties, exact zeros and ones, and untested suspects (NaN) among them.
            p[i] = switch (i % 7) {
                case 0 -> 0;
                case 1 -> 1;
                case 2 -> Double.NaN;
                case 3 -> 0.001 * random.nextInt(5);
                default -> random.nextDouble();
            };
        }
        double[] q = ResultTable.qValues(p);
        int[] order = random.ints(0, Integer.MAX_VALUE).limit(p.length).toArray();
        Integer[] permutation = new Integer[p.length];
        for (int i = 0; i < p.length; i++) {
            permutation[i] = i;
        }
        java.util.Arrays.sort(permutation, java.util.Comparator.comparingInt(i -> order[i]));
        double[] shuffled = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            shuffled[i] = p[permutation[i]];
        }
        double[] qShuffled = ResultTable.qValues(shuffled);
        for (int i = 0; i < p.length; i++) {
            assertEquals(0, Double.compare(q[permutation[i]], qShuffled[i]), "suspect " + permutation[i]);
        }
        assertTrue(Double.isNaN(q[2]), "an untested suspect has no q-value");
    }

    @Test
    void aWriterClosedWithoutCommitLeavesTheExistingOutputsAsTheyWere() throws IOException {
        Path arrow = dir.resolve("results.arrow");
        Path csv = dir.resolve("results.csv");
        Files.write(arrow, new byte[] {1, 2, 3});
        Files.writeString(csv, "old,table\n");
        try (ResultTable.Writer table = ResultTable.create(allocator, arrow, csv, "ps")) {
            table.write("s", result(new SplittableRandom(1), 10, EnumSet.of(Metric.COSINE), 8, null));
            // A run that fails here never commits.
        }
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(arrow));
        assertEquals("old,table\n", Files.readString(csv));
        assertOnly(arrow, csv);
    }

    @Test
    void readAllRejectsAFileThatIsNotAResultTable() throws IOException {
        Path file = dir.resolve("suspects.arrow");
        try (SuspectTable.Writer writer = new SuspectTable.Writer(allocator, file, "ps", 2)) {
            writer.write("a", new int[] {0}, new float[] {1, 2});
        }
        ImprintException e = assertThrows(ImprintException.class, () -> ResultTable.readAll(allocator, file));
        assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("imprint.format='imprint-suspects'; expected 'imprint-results'"),
                e.getMessage());
    }

    /** BH q-values from their definition, q_i = min over j with p_j >= p_i of n p_j / rank_j, capped at 1. */
    private static double[] bhByDefinition(double[] p) {
        int n = p.length;
        double[] q = new double[n];
        for (int i = 0; i < n; i++) {
            double best = 1;
            for (int j = 0; j < n; j++) {
                if (p[j] >= p[i]) {
                    int rank = 0;
                    for (double x : p) {
                        rank += x <= p[j] ? 1 : 0;
                    }
                    best = Math.min(best, n * p[j] / rank);
                }
            }
            q[i] = best;
        }
        return q;
    }

    /** The directory holds exactly these files: no draft or temporary is left behind. */
    private void assertOnly(Path... files) throws IOException {
        try (Stream<Path> listing = Files.list(dir)) {
            assertEquals(Set.of(files), Set.copyOf(listing.toList()));
        }
        for (Path f : files) {
            assertFalse(f.getFileName().toString().endsWith(".tmp"));
        }
    }

    private static ScoreResult result(SplittableRandom random, int references, Set<Metric> metrics, int probesUsed,
                                      Attribution attribution) {
        List<Match> matches = new ArrayList<>();
        for (int r = 0; r < references; r++) {
            Map<Metric, Double> values = new EnumMap<>(Metric.class);
            for (Metric m : metrics) {
                values.put(m, random.nextDouble());
            }
            matches.add(new Match("ref-" + r, Map.of(), r + 1, values, Map.of()));
        }
        return new ScoreResult("ps-9", matches, probesUsed, references, "cpu", Metric.COSINE, attribution);
    }
}
