package dev.imprint.cli;

import dev.imprint.client.ImprintClient.SuspectInput;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreResult;
import dev.imprint.topk.ProbeAnswer;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * What a command works against: the engine in-process over a data directory
 * ({@link LocalTarget}) or a running server through the client ({@link RemoteTarget}). The
 * operations mirror {@code ImprintEngine} and {@code ImprintClient}, and errors pass through
 * unchanged (ImprintException for domain errors).
 */
interface Target extends AutoCloseable {

    /** For humans: "data dir ./imprint-data" or "server 127.0.0.1:50051". */
    String describe();

    /** Creates a probe set, or returns the identical existing one; ALREADY_EXISTS if it differs. */
    ProbeSet createProbeSet(ProbeSet set);

    ProbeSet getProbeSet(String probeSetId);

    /** Probe set {@code probeSetId} with its probes' texts and its supports, each if it carries them. */
    ProbeSet getProbeSetWithTexts(String probeSetId);

    /** All probe sets, ordered by id. */
    List<ProbeSet> listProbeSets();

    int referenceCount(String probeSetId);

    /** References of a probe set carrying every label of {@code labelSelector}, of {@code role} (null: any), by model id. */
    List<ReferenceMeta> listReferences(String probeSetId, Map<String, String> labelSelector, ReferenceRole role);

    /** Deletes a reference durably; NOT_FOUND if it does not exist. */
    void deleteReference(String probeSetId, String modelId);

    /**
     * Deletes a probe set durably, with its references only when {@code force}; FAILED_PRECONDITION
     * if it holds some and not {@code force}.
     *
     * @return how many references went with it
     */
    int deleteProbeSet(String probeSetId, boolean force);

    /** Stores a reference durably; rows are numProbes × dim, row-major. */
    ReferenceMeta putReference(String probeSetId, String modelId, Map<String, String> labels, ReferenceRole role,
                               float[] rows, boolean replace);

    /**
     * Stores a reference given as top-k answers to every probe, mapped onto the probe set's supports
     * ({@code topk.SupportedRows}); FAILED_PRECONDITION if the set carries none.
     */
    ReferenceMeta putReferenceTopK(String probeSetId, String modelId, Map<String, String> labels,
                                   ReferenceRole role, List<ProbeAnswer> answers, boolean replace);

    /**
     * Scores every suspect against the probe set's references and hands each result to
     * {@code sink}, in input order, as it is ready. {@code suspects} is iterated once, lazily, so a
     * table larger than memory streams through.
     */
    void scoreAll(ProbeSet set, Iterable<SuspectInput> suspects, ScoreOptions options,
                  BiConsumer<SuspectInput, ScoreResult> sink);

    /** Name and value of each fact {@code imprint info} shows about the engine or server, in order. */
    Map<String, String> info();

    @Override
    void close();

    /** The {@code device} line of {@link #info()}: "NVIDIA H200 (sm_90), driver 13.0, 139.8 GiB total, 139.3 GiB free". */
    static String deviceLine(String name, String computeCapability, String driverVersion, long totalBytes,
                             long freeBytes) {
        return String.format(java.util.Locale.ROOT, "%s (%s), driver %s, %.1f GiB total, %.1f GiB free", name,
                computeCapability, driverVersion, totalBytes / (double) (1L << 30), freeBytes / (double) (1L << 30));
    }
}
