package dev.imprint.evaluate;

/**
 * One suspect of an evaluation and its ground truth.
 *
 * @param condition the condition it belongs to, e.g. "mixture beta=0.3" or "sibling"
 * @param rows      numProbes × dim, row-major, answering every probe of the set in order
 * @param teacher   the reference it was distilled from ({@link Truth#DISTILLED}), else null
 * @param family    the reference family whose base it shares, or its teacher's family; null if none
 * @param stress    how its outputs were degraded before scoring ("none", "top-5", "T=0.7"...):
 *                  students are compared with negatives under the same stress
 */
public record LabelledSuspect(String id, String condition, String stress, float[] rows, Truth truth, String teacher,
                              String family) {
    public LabelledSuspect {
        if ((truth == Truth.DISTILLED) != (teacher != null)) {
            throw new IllegalArgumentException("suspect " + id + ": a teacher is given exactly for distilled suspects");
        }
    }
}
