package dev.imprint.core;

import java.util.BitSet;

/**
 * Assembles a fingerprint from row chunks that arrive in any order, such as a streamed upload.
 * Every chunk is validated as it arrives; {@link #finish()} insists that rows 0..P-1 were each
 * covered exactly once.
 */
public final class RowAssembler {
    private final ProbeSet set;
    private final float[] rows;
    private final BitSet seen;

    public RowAssembler(ProbeSet set) {
        this.set = set;
        this.rows = new float[set.elements()];
        this.seen = new BitSet(set.numProbes());
    }

    /**
     * Adds {@code values.length / dim} whole rows starting at {@code firstRow}.
     *
     * @throws ImprintException INVALID_ARGUMENT for a partial row, rows past the end, a row sent
     *     twice, or a row that fails {@link RowValidator}
     */
    public void accept(int firstRow, float[] values) {
        int d = set.dim();
        if (values.length == 0) {
            throw ImprintException.invalidArgument("rows at first_row=%d hold no values (neither values nor data)",
                    firstRow);
        }
        if (values.length % d != 0) {
            throw ImprintException.invalidArgument("rows hold %d values at first_row=%d; expected a multiple of dim=%d",
                    values.length, firstRow, d);
        }
        int count = values.length / d;
        if (firstRow < 0 || (long) firstRow + count > set.numProbes()) {
            throw ImprintException.invalidArgument("rows %d..%d are out of range; the probe set has num_probes=%d",
                    firstRow, (long) firstRow + count - 1, set.numProbes());
        }
        int dup = seen.nextSetBit(firstRow);
        if (dup >= 0 && dup < firstRow + count) {
            throw ImprintException.invalidArgument("row %d was sent more than once", dup);
        }
        RowValidator.validate(set, "rows", values, 0, count, firstRow);
        System.arraycopy(values, 0, rows, firstRow * d, values.length);
        seen.set(firstRow, firstRow + count);
    }

    /** Returns the complete P×D row-major fingerprint. */
    public float[] finish() {
        int missing = seen.nextClearBit(0);
        if (missing < set.numProbes()) {
            throw ImprintException.invalidArgument("row %d was never sent; %d of %d rows received",
                    missing, seen.cardinality(), set.numProbes());
        }
        return rows;
    }
}
