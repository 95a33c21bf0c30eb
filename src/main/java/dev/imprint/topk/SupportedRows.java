package dev.imprint.topk;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Suspect;
import dev.imprint.core.Supports;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Top-k answers as fingerprint rows over the supports a probe set carries, by {@link TopKRows}:
 * what the server does with top-k answers sent to it, and what a command does with them in-process,
 * so that both give the very rows {@code imprint topk build} writes.
 *
 * <p>Rows are dim wide, float32, row-major; a row is 0 beyond its probe's support.
 */
public final class SupportedRows {
    private SupportedRows() {}

    /**
     * A suspect answering the probes of {@code answers}, its rows in the answers' order.
     *
     * @param field names the answers in errors, e.g. "suspect_top_k"
     * @throws ImprintException FAILED_PRECONDITION if {@code set} carries no supports; INVALID_ARGUMENT
     *     naming the probe for no answers, a probe out of range or answered twice, a missing logprob
     *     or listed mass over 1 + {@value TopKRows#OVERSHOOT}
     */
    public static Suspect suspect(ProbeSet set, List<ProbeAnswer> answers, String field) {
        if (answers.isEmpty()) {
            throw ImprintException.invalidArgument("%s holds no rows; a suspect answers at least one probe", field);
        }
        float[] rows = rows(set, answers, field);
        int[] probes = answers.stream().mapToInt(ProbeAnswer::probe).toArray();
        return Suspect.of(set, probes.length, set.dim(), rows, probes);
    }

    /**
     * A reference's numProbes × dim rows from answers to every probe of {@code set}, in any order.
     *
     * @param field names the answers in errors, e.g. "top_k"
     * @throws ImprintException as {@link #suspect}, and INVALID_ARGUMENT naming the missing probes
     *     when some probe is not answered
     */
    public static float[] reference(ProbeSet set, List<ProbeAnswer> answers, String field) {
        float[] byRow = rows(set, answers, field);
        if (answers.size() != set.numProbes()) {
            boolean[] answered = new boolean[set.numProbes()];
            answers.forEach(a -> answered[a.probe()] = true);
            List<Integer> missing = new ArrayList<>();
            for (int p = 0; p < answered.length && missing.size() < 5; p++) {
                if (!answered[p]) {
                    missing.add(p);
                }
            }
            throw ImprintException.invalidArgument("%s answers %d of the %d probes (missing probe %s%s); a "
                    + "reference answers every probe", field, answers.size(), set.numProbes(), missing,
                    set.numProbes() - answers.size() > missing.size() ? "..." : "");
        }
        int d = set.dim();
        float[] rows = new float[set.elements()];
        for (int i = 0; i < answers.size(); i++) {
            System.arraycopy(byRow, i * d, rows, answers.get(i).probe() * d, d);
        }
        return rows;
    }

    /** One row per answer, in the answers' order, after checking each probe is in range and new. */
    private static float[] rows(ProbeSet set, List<ProbeAnswer> answers, String field) {
        Supports supports = set.supports();
        if (supports == null) {
            throw ImprintException.failedPrecondition("probe set %s carries no supports, so it cannot map top-k "
                    + "answers; create it with supports (imprint probe-set create --supports FILE)", set.id());
        }
        int d = set.dim();
        float[] rows = new float[answers.size() * d];
        Map<Integer, Integer> seen = new HashMap<>();
        for (int i = 0; i < answers.size(); i++) {
            int p = answers.get(i).probe();
            if (p < 0 || p >= set.numProbes()) {
                throw ImprintException.invalidArgument("%s.rows[%d]: probe %d is out of range [0, %d)", field, i,
                        Integer.toUnsignedLong(p), set.numProbes());
            }
            Integer earlier = seen.putIfAbsent(p, i);
            if (earlier != null) {
                throw ImprintException.invalidArgument("%s.rows[%d]: probe %d is answered twice (also rows[%d])",
                        field, i, p, earlier);
            }
            double[] row = TopKRows.row(answers.get(i).entries(), supports.keys().get(p), supports.mode(),
                    field + " probe " + p);
            for (int k = 0; k < row.length; k++) {
                rows[i * d + k] = (float) row[k];
            }
        }
        return rows;
    }
}
