package dev.imprint.engine;

import dev.imprint.core.Metric;
import java.util.List;
import java.util.Set;

/**
 * The references of one probe set, held in the backend's memory in whatever precomputed form its
 * scoring needs (unit rows, logs of smoothed rows, argmax indices...), like a FAISS index.
 *
 * <p>Threading: the engine never calls {@link #put} or {@link #remove} concurrently with anything
 * else on the same instance; {@link #score} may run concurrently with other {@code score} calls.
 * Inputs are already validated by the engine.
 */
public interface ResidentReferences extends AutoCloseable {

    /**
     * Adds the reference {@code modelId}, replacing any previous one of that id.
     *
     * @param rows numProbes × dim, row-major, validated for the set's kind
     */
    void put(String modelId, float[] rows);

    /** Removes {@code modelId}; no-op if absent. */
    void remove(String modelId);

    /** Number of references held. */
    int size();

    /** Bytes of backend memory held for these references, precomputed forms included. */
    long bytesHeld();

    /**
     * Scores every suspect of {@code batch} against each reference of {@code modelIds}, all of
     * which are held.
     *
     * @return values for every metric of {@code metrics}; per-probe values too when {@code perProbe}
     */
    BatchScores score(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe);

    /**
     * As {@link #score}, for a caller that keeps only each suspect's {@code k} closest references
     * under {@code orderBy} (one of {@code metrics}), closest first, ties to the earlier entry of
     * {@code modelIds}. A backend may rank on its side and fill in only the kept pairs, saying so
     * with {@link BatchScores#keep}; the default scores every pair and leaves ranking to the caller.
     *
     * @param k at least 1
     */
    default BatchScores scoreClosest(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe,
                                     Metric orderBy, int k) {
        return score(batch, modelIds, metrics, perProbe);
    }

    @Override
    void close();
}
