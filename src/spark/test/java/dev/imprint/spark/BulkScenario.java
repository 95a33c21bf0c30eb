package dev.imprint.spark;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.io.SuspectTable;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.synth.FingerprintSynth;
import dev.imprint.synth.ModelRecipe;
import dev.imprint.synth.SynthParams;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A seeded bulk scenario on disk: a data directory holding one probe set and its references (four
 * families of three, built by the synth generator), and a suspect table of students of those
 * references, siblings and unrelated models, written both as Arrow IPC files and as Parquet. Every
 * fifth suspect answers one of three fixed subsets of the probes, in a shuffled order.
 */
final class BulkScenario {
    static final int PROBES = 32;
    static final int DIM = 48;

    final ProbeSet set;
    final Path dataDir;
    final Path referencesDir;
    final Path arrowDir;
    final Path parquetDir;
    final List<Suspect> suspects;

    /** One suspect as written: its id, probes (file order) and rows. */
    record Suspect(String id, int[] probes, float[] rows) {
    }

    private BulkScenario(ProbeSet set, Path dataDir, Path arrowDir, Path parquetDir, List<Suspect> suspects) {
        this.set = set;
        this.dataDir = dataDir;
        this.referencesDir = dataDir.resolve(set.id()).resolve(ArrowFingerprintStore.REFS_DIR);
        this.arrowDir = arrowDir;
        this.parquetDir = parquetDir;
        this.suspects = suspects;
    }

    static BulkScenario create(SparkSession spark, Path root, ProbeSetKind kind, int count, long seed)
            throws IOException {
        ProbeSet set = new ProbeSet("bulk-" + kind.name().toLowerCase(java.util.Locale.ROOT), PROBES, DIM, kind,
                kind == ProbeSetKind.DISTRIBUTION ? ProbeSet.DEFAULT_SMOOTHING_EPSILON : 0, "bulk scenario");
        FingerprintSynth synth = new FingerprintSynth(set, seed, SynthParams.defaults());
        Path dataDir = root.resolve("data");
        String[] families = {"alpha", "beta", "gamma", "delta"};
        List<ModelRecipe> references = new ArrayList<>();
        try (ImprintEngine engine = ImprintEngine.open(ArrowFingerprintStore.open(dataDir),
                new SelectedBackend(new CpuBackend(1), "cpu: the scenario's"))) {
            engine.createProbeSet(set);
            for (String family : families) {
                for (int m = 1; m <= 3; m++) {
                    ModelRecipe.Base recipe = synth.model(family + "-" + m, family);
                    references.add(recipe);
                    engine.putReference(set.id(), recipe.modelId(), Map.of("family", family), synth.fingerprint(recipe),
                            false);
                }
            }
        }
        Random rng = new Random(seed);
        int[][] subsets = new int[3][];
        for (int s = 0; s < subsets.length; s++) {
            List<Integer> all = new ArrayList<>();
            for (int p = 0; p < PROBES; p++) {
                all.add(p);
            }
            java.util.Collections.shuffle(all, rng);
            subsets[s] = all.subList(0, 20 + s).stream().mapToInt(Integer::intValue).toArray();
        }
        List<Suspect> suspects = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = String.format("suspect-%05d", i);
            ModelRecipe teacher = references.get(rng.nextInt(references.size()));
            ModelRecipe recipe = switch (i % 4) {
                case 0, 1 -> synth.student(id, teacher, "indie-" + i, 0.3 + 0.2 * rng.nextInt(3));
                case 2 -> synth.model(id, families[rng.nextInt(families.length)]);
                default -> synth.model(id, "outsider-" + i);
            };
            float[] full = synth.fingerprint(recipe);
            if (i % 5 == 4) {
                int[] probes = subsets[i % 3];
                float[] rows = new float[probes.length * DIM];
                for (int r = 0; r < probes.length; r++) {
                    System.arraycopy(full, probes[r] * DIM, rows, r * DIM, DIM);
                }
                suspects.add(new Suspect(id, probes, rows));
            } else {
                int[] probes = new int[PROBES];
                Arrays.setAll(probes, p -> p);
                suspects.add(new Suspect(id, probes, full));
            }
        }
        // Written in a shuffled order, so nothing relies on the input being sorted.
        List<Suspect> written = new ArrayList<>(suspects);
        java.util.Collections.shuffle(written, rng);
        Path arrowDir = Files.createDirectories(root.resolve("arrow"));
        try (BufferAllocator allocator = new RootAllocator()) {
            int half = written.size() / 2;
            writeArrow(allocator, arrowDir.resolve("suspects-1.arrow"), set, written.subList(0, half));
            writeArrow(allocator, arrowDir.resolve("suspects-2.arrow"), set, written.subList(half, written.size()));
        }
        Path parquetDir = root.resolve("parquet");
        writeParquet(spark, parquetDir, written);
        return new BulkScenario(set, dataDir, arrowDir, parquetDir, suspects);
    }

    static void writeArrow(BufferAllocator allocator, Path file, ProbeSet set, List<Suspect> suspects)
            throws IOException {
        try (SuspectTable.Writer writer = new SuspectTable.Writer(allocator, file, set.id(), set.dim())) {
            for (Suspect s : suspects) {
                writer.write(s.id(), s.probes(), s.rows());
            }
        }
    }

    /**
     * The suspect table as Parquet in files of 7000 rows, so suspects straddle files, with the schema
     * pyarrow gives the Arrow one (int32 probe, float values).
     */
    static void writeParquet(SparkSession spark, Path dir, List<Suspect> suspects) {
        List<Row> rows = new ArrayList<>();
        for (Suspect s : suspects) {
            int dim = s.rows().length / s.probes().length;
            for (int r = 0; r < s.probes().length; r++) {
                Float[] values = new Float[dim];
                for (int k = 0; k < dim; k++) {
                    values[k] = s.rows()[r * dim + k];
                }
                rows.add(RowFactory.create(s.id(), s.probes()[r], values));
            }
        }
        StructType schema = new StructType()
                .add("model_id", DataTypes.StringType, false)
                .add("probe", DataTypes.IntegerType, false)
                .add("values", DataTypes.createArrayType(DataTypes.FloatType, false), false);
        spark.createDataFrame(rows, schema).coalesce(1).write().option("maxRecordsPerFile", 7000)
                .parquet(dir.toString());
    }
}
