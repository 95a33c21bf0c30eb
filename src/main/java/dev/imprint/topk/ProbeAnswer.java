package dev.imprint.topk;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A model's top-k answer to one probe of a set.
 *
 * @param probe   the probe's index in the set
 * @param entries the answer's entries, as the endpoint listed them
 */
public record ProbeAnswer(int probe, List<TopKEntry> entries) {
    public ProbeAnswer {
        entries = List.copyOf(entries);
    }

    /** The answers of a map from probe index to entries, in the map's order. */
    public static List<ProbeAnswer> of(Map<Integer, List<TopKEntry>> answers) {
        List<ProbeAnswer> out = new ArrayList<>(answers.size());
        answers.forEach((probe, entries) -> out.add(new ProbeAnswer(probe, entries)));
        return out;
    }
}
