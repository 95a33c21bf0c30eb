package dev.imprint.core;

import java.util.List;

/**
 * The ranked answer for one suspect.
 *
 * @param matches          best first under {@code orderBy}, at most top_k of them
 * @param probesUsed       how many probes the suspect supplied
 * @param referencesScored how many references were compared, before top_k
 * @param backend          the name of the backend that computed the scores
 */
public record ScoreResult(String probeSetId, List<Match> matches, int probesUsed, int referencesScored,
                          String backend, Metric orderBy) {
}
