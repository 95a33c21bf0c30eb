package dev.imprint.io;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The Arrow columns and schema metadata that reference files, probe-set files and suspect tables
 * share: column {@code probe} int32 and column {@code values} fixed_size_list&lt;float32&gt;[dim],
 * one row per probe, with the probe set definition in {@code imprint.*} schema metadata keys.
 */
public final class FingerprintSchema {
    /** Column holding the probe number of each row, int32. */
    public static final String PROBE = "probe";
    /** Column holding each row's values, fixed_size_list&lt;float32&gt;[dim]. */
    public static final String VALUES = "values";
    /** Name of the list item field, as pyarrow names it. */
    public static final String VALUE_ITEM = "item";

    /** The only file layout version this code writes and reads. */
    public static final String FORMAT_VERSION = "1";

    public static final String KEY_FORMAT = "imprint.format";
    public static final String KEY_FORMAT_VERSION = "imprint.format_version";
    public static final String KEY_PROBE_SET_ID = "imprint.probe_set_id";
    public static final String KEY_KIND = "imprint.kind";
    public static final String KEY_NUM_PROBES = "imprint.num_probes";
    public static final String KEY_DIM = "imprint.dim";
    public static final String KEY_SMOOTHING_EPSILON = "imprint.smoothing_epsilon";
    public static final String KEY_DESCRIPTION = "imprint.description";
    public static final String KEY_MODEL_ID = "imprint.model_id";
    public static final String KEY_CREATED_UNIX_MS = "imprint.created_unix_ms";
    /** {@code protected} or {@code background}; see {@link dev.imprint.core.ReferenceRole}. */
    public static final String KEY_ROLE = "imprint.role";
    /** Each label {@code k=v} is stored as key {@code imprint.label.k}, value {@code v}. */
    public static final String LABEL_PREFIX = "imprint.label.";
    /** {@code crc32c:<8 lowercase hex digits>}; see {@link FingerprintCodec} for what it covers. */
    public static final String KEY_CHECKSUM = "imprint.checksum";

    private FingerprintSchema() {}

    /** The non-null int32 {@code probe} column. */
    public static Field probeField() {
        return new Field(PROBE, FieldType.notNullable(new ArrowType.Int(32, true)), null);
    }

    /** The non-null {@code values} column: fixed_size_list&lt;item: float32&gt;[dim]. */
    public static Field valuesField(int dim) {
        Field item = new Field(VALUE_ITEM,
                FieldType.notNullable(new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)), null);
        return new Field(VALUES, FieldType.notNullable(new ArrowType.FixedSizeList(dim)), List.of(item));
    }

    /** Schema {@code probe, values[dim]} carrying {@code metadata}. */
    public static Schema referenceSchema(int dim, Map<String, String> metadata) {
        return new Schema(List.of(probeField(), valuesField(dim)), metadata);
    }

    /** The metadata entries that define {@code set}: id, kind, num_probes, dim, epsilon, description. */
    public static Map<String, String> probeSetMetadata(ProbeSet set) {
        Map<String, String> m = new TreeMap<>();
        m.put(KEY_PROBE_SET_ID, set.id());
        m.put(KEY_KIND, set.kind().name());
        m.put(KEY_NUM_PROBES, Integer.toString(set.numProbes()));
        m.put(KEY_DIM, Integer.toString(set.dim()));
        m.put(KEY_SMOOTHING_EPSILON, Double.toString(set.smoothingEpsilon()));
        m.put(KEY_DESCRIPTION, set.description());
        return m;
    }

    /**
     * Rebuilds the probe set that {@link #probeSetMetadata} described; INVALID_ARGUMENT if it does
     * not parse. A file a user wrote may leave out the smoothing epsilon (the default for a
     * DISTRIBUTION set, none for an EMBEDDING one) and the description.
     */
    public static ProbeSet probeSetFromMetadata(Map<String, String> metadata) {
        String kindName = require(metadata, KEY_KIND);
        ProbeSetKind kind;
        try {
            kind = ProbeSetKind.valueOf(kindName);
        } catch (IllegalArgumentException e) {
            throw ImprintException.invalidArgument("metadata %s='%s'; expected EMBEDDING or DISTRIBUTION",
                    KEY_KIND, kindName);
        }
        return new ProbeSet(require(metadata, KEY_PROBE_SET_ID), parseInt(metadata, KEY_NUM_PROBES),
                parseInt(metadata, KEY_DIM), kind, metadata.containsKey(KEY_SMOOTHING_EPSILON)
                        ? parseDouble(metadata, KEY_SMOOTHING_EPSILON)
                        : kind == ProbeSetKind.DISTRIBUTION ? ProbeSet.DEFAULT_SMOOTHING_EPSILON : 0,
                metadata.getOrDefault(KEY_DESCRIPTION, ""));
    }

    /**
     * Checks that {@code schema} has a {@code values} column of fixed_size_list&lt;float32&gt; (or,
     * as numpy's default float64 gives it, &lt;float64&gt;, read as float32) and returns its list
     * size; INVALID_ARGUMENT otherwise.
     */
    public static int valuesDim(Schema schema) {
        Field values = field(schema, VALUES);
        if (!(values.getType() instanceof ArrowType.FixedSizeList list)) {
            throw ImprintException.invalidArgument("column %s has type %s; expected fixed_size_list<float32>[dim]",
                    VALUES, values.getType());
        }
        List<Field> children = values.getChildren();
        if (children.size() != 1 || !(children.get(0).getType() instanceof ArrowType.FloatingPoint fp)
                || (fp.getPrecision() != FloatingPointPrecision.SINGLE
                && fp.getPrecision() != FloatingPointPrecision.DOUBLE)) {
            throw ImprintException.invalidArgument("column %s has items of type %s; expected float32 (or float64)",
                    VALUES, children.isEmpty() ? "none" : children.get(0).getType());
        }
        return list.getListSize();
    }

    /**
     * Checks that {@code schema} has an int32 {@code name} column, or an int64 one (what pyarrow
     * infers from numpy's default integers), whose values are range-checked as they are read;
     * INVALID_ARGUMENT otherwise.
     */
    public static void requireInt32(Schema schema, String name) {
        Field f = field(schema, name);
        if (!(f.getType() instanceof ArrowType.Int i) || (i.getBitWidth() != 32 && i.getBitWidth() != 64)
                || !i.getIsSigned()) {
            throw ImprintException.invalidArgument("column %s has type %s; expected int32 (or int64)", name,
                    f.getType());
        }
    }

    /** Checks that {@code schema} has a utf8 (or large_utf8) {@code name} column; INVALID_ARGUMENT otherwise. */
    public static void requireUtf8(Schema schema, String name) {
        Field f = field(schema, name);
        if (!(f.getType() instanceof ArrowType.Utf8) && !(f.getType() instanceof ArrowType.LargeUtf8)) {
            throw ImprintException.invalidArgument("column %s has type %s; expected utf8 (string)", name, f.getType());
        }
    }

    /** The value of metadata key {@code key}; INVALID_ARGUMENT if absent. */
    public static String require(Map<String, String> metadata, String key) {
        String value = metadata.get(key);
        if (value == null) {
            throw ImprintException.invalidArgument("schema metadata lacks key %s", key);
        }
        return value;
    }

    /** Checks {@code imprint.format} and {@code imprint.format_version}; INVALID_ARGUMENT on a mismatch. */
    public static void requireFormat(Map<String, String> metadata, String format) {
        String found = require(metadata, KEY_FORMAT);
        if (!found.equals(format)) {
            throw ImprintException.invalidArgument("metadata %s='%s'; expected '%s'", KEY_FORMAT, found, format);
        }
        String version = require(metadata, KEY_FORMAT_VERSION);
        if (!version.equals(FORMAT_VERSION)) {
            throw ImprintException.invalidArgument("metadata %s='%s'; this version of Imprint reads version %s",
                    KEY_FORMAT_VERSION, version, FORMAT_VERSION);
        }
    }

    static int parseInt(Map<String, String> metadata, String key) {
        String value = require(metadata, key);
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw ImprintException.invalidArgument("metadata %s='%s'; expected an integer", key, value);
        }
    }

    static long parseLong(Map<String, String> metadata, String key) {
        String value = require(metadata, key);
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw ImprintException.invalidArgument("metadata %s='%s'; expected an integer", key, value);
        }
    }

    static double parseDouble(Map<String, String> metadata, String key) {
        String value = require(metadata, key);
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw ImprintException.invalidArgument("metadata %s='%s'; expected a number", key, value);
        }
    }

    static String describeColumns(Schema schema) {
        return schema.getFields().stream().map(f -> f.getName() + ":" + f.getType())
                .reduce((a, b) -> a + ", " + b).orElse("none").toLowerCase(Locale.ROOT);
    }

    private static Field field(Schema schema, String name) {
        return schema.getFields().stream().filter(f -> f.getName().equals(name)).findFirst()
                .orElseThrow(() -> ImprintException.invalidArgument("no column %s; the columns are %s",
                        name, describeColumns(schema)));
    }
}
