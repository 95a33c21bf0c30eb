package dev.imprint.core;

import java.util.List;

/**
 * The ranked answer for one suspect.
 *
 * @param matches          best first under {@code orderBy}, at most top_k of them
 * @param probesUsed       how many probes the suspect supplied
 * @param referencesScored how many references were compared, before top_k
 * @param backend          the name of the backend that computed the scores
 * @param attribution      the verdict, or null when the query did not ask for one
 */
public record ScoreResult(String probeSetId, List<Match> matches, int probesUsed, int referencesScored,
                          String backend, Metric orderBy, Attribution attribution) {
    /** A result without a verdict. */
    public ScoreResult(String probeSetId, List<Match> matches, int probesUsed, int referencesScored, String backend,
                       Metric orderBy) {
        this(probeSetId, matches, probesUsed, referencesScored, backend, orderBy, null);
    }
}
