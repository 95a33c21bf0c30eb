package dev.imprint.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ScoreResult;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.junit.jupiter.api.Test;

class ResultTableTest extends ArrowFileTestBase {
    @Test
    void arrowTableHoldsOneRowPerSuspectAndReferenceAcrossBatches() throws IOException {
        SplittableRandom random = new SplittableRandom(3);
        Set<Metric> metrics = EnumSet.of(Metric.COSINE, Metric.KL_REF_SUSPECT, Metric.TOP1_AGREEMENT);
        List<ResultTable.Row> expected = new ArrayList<>();
        Path file = dir.resolve("results.arrow");
        try (ResultTable.Sink sink = ResultTable.arrow(allocator, file, "ps-9")) {
            for (int s = 0; s < 3; s++) {
                ScoreResult result = result(random, 1500 + s, metrics, 40 + s);
                sink.write("suspect-" + s, result);
                for (Match m : result.matches()) {
                    expected.add(new ResultTable.Row("suspect-" + s, m.modelId(), m.rank(), 40 + s, m.values()));
                }
            }
        }

        assertEquals(expected, ResultTable.readAll(allocator, file));
        try (FileChannel ch = FileChannel.open(file); ArrowFileReader reader = new ArrowFileReader(ch, allocator)) {
            assertEquals(2, reader.getRecordBlocks().size());
            assertEquals(ResultTable.COLUMNS, reader.getVectorSchemaRoot().getSchema().getFields().stream()
                    .map(f -> f.getName()).toList());
            assertEquals("ps-9", reader.getVectorSchemaRoot().getSchema().getCustomMetadata().get("imprint.probe_set_id"));
        }
    }

    @Test
    void csvHasTheSameColumnsWithEmptyCellsForMetricsNotComputed() throws IOException {
        Map<Metric, Double> values = new EnumMap<>(Metric.class);
        values.put(Metric.COSINE, 0.875);
        values.put(Metric.JS, 1.5e-7);
        ScoreResult result = new ScoreResult("ps", List.of(
                new Match("ref-a", Map.of(), 1, values, Map.of()),
                new Match("ref-b", Map.of(), 2, Map.of(Metric.COSINE, -0.25), Map.of())), 12, 2, "cpu", Metric.COSINE);
        Path file = dir.resolve("results.csv");
        try (ResultTable.Sink sink = ResultTable.csv(file)) {
            sink.write("sus,\"x\"", result);
        }

        assertEquals(List.of(
                "suspect_id,model_id,rank,probes_used,cosine,kl_ref_suspect,kl_suspect_ref,js,top1_agreement",
                "\"sus,\"\"x\"\"\",ref-a,1,12,0.875,,,1.5E-7,",
                "\"sus,\"\"x\"\"\",ref-b,2,12,-0.25,,,,"), Files.readAllLines(file));
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

    private static ScoreResult result(SplittableRandom random, int references, Set<Metric> metrics, int probesUsed) {
        List<Match> matches = new ArrayList<>();
        for (int r = 0; r < references; r++) {
            Map<Metric, Double> values = new EnumMap<>(Metric.class);
            for (Metric m : metrics) {
                values.put(m, random.nextDouble());
            }
            matches.add(new Match("ref-" + r, Map.of(), r + 1, values, Map.of()));
        }
        return new ScoreResult("ps-9", matches, probesUsed, references, "cpu", Metric.COSINE);
    }
}
