package dev.imprint.core;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The compact per-probe supports of a DISTRIBUTION probe set built from top-k answers: for each
 * probe, the keys (token strings mapped by {@link VocabularyMode#key}) that its rows' values stand
 * for, in row order, the last always {@value #OTHER}. Kept with the probe set so that top-k answers
 * sent later land on the same supports as the references.
 *
 * @param mode how an answer's token strings become keys
 * @param keys one support per probe, in probe order; row value i of probe p is the probability of
 *             {@code keys.get(p).get(i)}, and values past the support's end are 0
 */
public record Supports(VocabularyMode mode, List<List<String>> keys) {
    /** Every support's last key: everything the probe's support does not name. */
    public static final String OTHER = "<other>";

    public Supports {
        if (mode == null) {
            throw ImprintException.invalidArgument("supports.vocabulary is unspecified; expected EXACT, NORMALISED or "
                    + "FIRST_CHARACTER");
        }
        if (keys == null || keys.isEmpty()) {
            throw ImprintException.invalidArgument("supports has no probes; expected one support per probe");
        }
        List<List<String>> copy = new ArrayList<>(keys.size());
        for (int p = 0; p < keys.size(); p++) {
            List<String> support = keys.get(p);
            if (support == null || support.isEmpty() || !OTHER.equals(support.get(support.size() - 1))) {
                throw ImprintException.invalidArgument("supports.probes[%d] does not end with %s; every support "
                        + "ends with it", p, OTHER);
            }
            Set<String> seen = new HashSet<>();
            for (String key : support) {
                if (key == null || !seen.add(key)) {
                    throw ImprintException.invalidArgument("supports.probes[%d] lists key '%s' twice", p, key);
                }
            }
            copy.add(List.copyOf(support));
        }
        keys = List.copyOf(copy);
    }

    /** The largest support: the least dim a probe set carrying these supports may have. */
    public int largest() {
        return keys.stream().mapToInt(List::size).max().orElse(0);
    }

    /**
     * Checks these supports fit a set of {@code numProbes} probes of {@code dim} values.
     *
     * @throws ImprintException INVALID_ARGUMENT naming the first misfit
     */
    void requireFits(int numProbes, int dim) {
        if (keys.size() != numProbes) {
            throw ImprintException.invalidArgument("%d supports for num_probes=%d; expected one per probe",
                    keys.size(), numProbes);
        }
        for (int p = 0; p < keys.size(); p++) {
            if (keys.get(p).size() > dim) {
                throw ImprintException.invalidArgument("supports.probes[%d] has %d keys but dim=%d; a support "
                        + "holds at most dim keys", p, keys.get(p).size(), dim);
            }
        }
    }
}
