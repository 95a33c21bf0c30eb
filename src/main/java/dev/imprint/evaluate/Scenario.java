package dev.imprint.evaluate;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ReferenceRole;
import java.util.List;
import java.util.Map;

/**
 * A panel of references and the labelled suspects scored against it.
 *
 * @param name       e.g. "synth seed 1" or "realnet-a"
 * @param references the panel, registered before any suspect is scored
 */
public record Scenario(String name, ProbeSet probeSet, List<Reference> references, List<LabelledSuspect> suspects) {
    public Scenario {
        references = List.copyOf(references);
        suspects = List.copyOf(suspects);
    }

    /** A reference of the panel: rows are numProbes × dim, row-major. */
    public record Reference(String modelId, Map<String, String> labels, ReferenceRole role, float[] rows) {
        public Reference {
            labels = Map.copyOf(labels);
        }
    }
}
