package dev.imprint.spark;

import dev.imprint.core.Metric;
import dev.imprint.io.FingerprintSchema;
import dev.imprint.io.ResultTable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.MetadataBuilder;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The result table ({@link ResultTable}, README "File formats") as Spark rows: the same columns in
 * the same order and types ({@code suspect_id}, {@code model_id}, {@code rank}, {@code probes_used},
 * a nullable float64 per metric, {@code verdict}, {@code verdict_model_id}, {@code p_value},
 * {@code q_value}). While scoring, each row also carries {@value #SUSPECT_P}, its suspect's
 * {@link ResultTable#suspectPValue}, which the q-values are computed from and which is not written.
 */
final class ResultRows {
    /** The internal column with the suspect's p-value (NaN without attribution). */
    static final String SUSPECT_P = "imprint_suspect_p";

    private ResultRows() {}

    /**
     * The written schema. The {@code suspect_id} field's metadata carries the Arrow table's schema
     * metadata ({@code imprint.format=imprint-results}, {@code imprint.format_version},
     * {@code imprint.probe_set_id}), which Spark keeps in the Parquet files' schema.
     */
    static StructType schema(String probeSetId) {
        Metadata tableMetadata = new MetadataBuilder()
                .putString(FingerprintSchema.KEY_FORMAT, ResultTable.FORMAT)
                .putString(FingerprintSchema.KEY_FORMAT_VERSION, FingerprintSchema.FORMAT_VERSION)
                .putString(FingerprintSchema.KEY_PROBE_SET_ID, probeSetId)
                .build();
        List<StructField> fields = new ArrayList<>();
        for (String name : ResultTable.COLUMNS) {
            boolean notNull = name.equals(ResultTable.SUSPECT_ID) || name.equals(ResultTable.MODEL_ID)
                    || name.equals(ResultTable.RANK) || name.equals(ResultTable.PROBES_USED);
            fields.add(new StructField(name, typeOf(name), !notNull,
                    name.equals(ResultTable.SUSPECT_ID) ? tableMetadata : Metadata.empty()));
        }
        return new StructType(fields.toArray(new StructField[0]));
    }

    /** {@link #schema} and the internal {@value #SUSPECT_P} column. */
    static StructType scoringSchema(String probeSetId) {
        return schema(probeSetId).add(SUSPECT_P, DataTypes.DoubleType, false);
    }

    /** One scored row: the result columns, {@code q_value} null, then the suspect's p-value. */
    static Row scored(ResultTable.Row row, double suspectP) {
        Object[] values = new Object[ResultTable.COLUMNS.size() + 1];
        int i = 0;
        values[i++] = row.suspectId();
        values[i++] = row.modelId();
        values[i++] = row.rank();
        values[i++] = row.probesUsed();
        for (Metric m : Metric.values()) {
            values[i++] = row.values().get(m);
        }
        values[i++] = row.verdict();
        values[i++] = row.verdictModelId();
        values[i++] = row.pValue();
        values[i++] = null;
        values[i] = suspectP;
        return RowFactory.create(values);
    }

    /** A scored row as written: {@code q_value} set ({@code NaN}: null), the internal column dropped. */
    static Row withQValue(Row scored, double qValue) {
        int columns = ResultTable.COLUMNS.size();
        Object[] values = new Object[columns];
        for (int i = 0; i < columns - 1; i++) {
            values[i] = scored.get(i);
        }
        values[columns - 1] = Double.isNaN(qValue) ? null : qValue;
        return RowFactory.create(values);
    }

    /** The index of the internal p-value column in a scored row. */
    static int suspectPIndex() {
        return ResultTable.COLUMNS.size();
    }

    /** The index of {@code rank} in a scored row. */
    static int rankIndex() {
        return ResultTable.COLUMNS.indexOf(ResultTable.RANK);
    }

    static int verdictIndex() {
        return ResultTable.COLUMNS.indexOf(ResultTable.VERDICT);
    }

    private static DataType typeOf(String column) {
        return switch (column) {
            case ResultTable.SUSPECT_ID, ResultTable.MODEL_ID, ResultTable.VERDICT, ResultTable.VERDICT_MODEL_ID ->
                    DataTypes.StringType;
            case ResultTable.RANK, ResultTable.PROBES_USED -> DataTypes.IntegerType;
            default -> DataTypes.DoubleType;
        };
    }
}
