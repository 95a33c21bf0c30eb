package dev.imprint.engine;

import dev.imprint.core.Deadline;
import dev.imprint.core.Ids;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Labels;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.RowValidator;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.store.FingerprintStore;
import dev.imprint.store.LoadReport;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Keeps the references of every probe set resident in a {@link ScoringBackend} and answers "score
 * these suspects", with a {@link FingerprintStore} beside it for durability.
 *
 * <p>A write is acknowledged (returns) only once the store has made it durable and the backend
 * holds it, so a reference that a put acknowledged is visible to every later score and survives a
 * restart. Writes to one probe set are serialised; scoring runs concurrently with other scoring
 * and waits only for the in-memory part of a write, never for its disk I/O.
 */
public final class ImprintEngine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ImprintEngine.class.getName());
    /** Largest number of suspects scored in one backend call; bounds the memory of a batch. */
    public static final int MAX_BATCH = 256;

    private final FingerprintStore store;
    private final SelectedBackend selected;
    private final ScoreBatching batching;
    private final ConcurrentHashMap<String, ProbeSetState> probeSets = new ConcurrentHashMap<>();
    /** Serialises creating and deleting probe sets. */
    private final Object catalogLock = new Object();
    private final List<String> quarantined;
    /** What every probe set's batcher has scored, deleted sets included. */
    private final DynamicBatcher.Totals scoringTotals;

    private ImprintEngine(FingerprintStore store, SelectedBackend selected, ScoreBatching batching,
                          DynamicBatcher.Totals scoringTotals, List<String> quarantined) {
        this.store = store;
        this.selected = selected;
        this.batching = batching;
        this.scoringTotals = scoringTotals;
        this.quarantined = quarantined;
    }

    /** As {@link #open(FingerprintStore, SelectedBackend, ScoreBatching)} with default batching. */
    public static ImprintEngine open(FingerprintStore store, SelectedBackend selected) {
        return open(store, selected, ScoreBatching.defaults());
    }

    /**
     * Opens an engine over {@code store}, loading every durable probe set and reference into the
     * backend. The engine owns both from here on and closes them. Concurrent scoring calls on a
     * probe set are merged as {@code batching} says.
     */
    public static ImprintEngine open(FingerprintStore store, SelectedBackend selected, ScoreBatching batching) {
        Map<String, ProbeSetState> loaded = new LinkedHashMap<>();
        ScoringBackend backend = selected.backend();
        DynamicBatcher.Totals totals = new DynamicBatcher.Totals();
        LoadReport report;
        try {
            report = store.load(new FingerprintStore.LoadVisitor() {
                @Override
                public void probeSet(ProbeSet set) {
                    loaded.put(set.id(), stateFor(set, backend, batching, totals));
                }

                @Override
                public void reference(Reference reference) {
                    ProbeSetState state = loaded.get(reference.meta().probeSetId());
                    if (state == null) {
                        throw new IllegalStateException("store handed reference " + reference.meta().modelId()
                                + " before its probe set " + reference.meta().probeSetId());
                    }
                    state.install(reference.meta(), reference.rows());
                }
            });
        } catch (RuntimeException e) {
            // Owned from the first line: a load that fails must not leave device memory or the store's lock held.
            loaded.values().forEach(ProbeSetState::close);
            backend.close();
            store.close();
            throw e;
        }
        loaded.values().forEach(ProbeSetState::finishLoad);
        for (String q : report.quarantined()) {
            LOG.warning("set aside corrupt file " + q);
        }
        LOG.info(String.format("loaded %d probe sets and %d references from %s",
                report.probeSets(), report.references(), store.location()));
        ImprintEngine engine = new ImprintEngine(store, selected, batching, totals, report.quarantined());
        engine.probeSets.putAll(loaded);
        return engine;
    }

    /** The name of the scoring backend, e.g. "cpu". */
    public String backendName() {
        return selected.backend().name();
    }

    /**
     * Creates a probe set. Creating one identical to an existing set returns it unchanged;
     * a different definition under the same id is ALREADY_EXISTS.
     */
    public ProbeSet createProbeSet(ProbeSet set) {
        synchronized (catalogLock) {
            ProbeSetState existing = probeSets.get(set.id());
            if (existing != null) {
                if (existing.set().sameDefinitionAs(set)) {
                    return existing.set();
                }
                if (existing.set().definition().equals(set.definition())) {
                    boolean textsDiffer = set.texts() != null && !set.texts().equals(existing.set().texts());
                    String what = textsDiffer ? "probe texts" : "supports";
                    throw ImprintException.alreadyExists("probe set %s already exists with %s %s; a set's probes "
                            + "and supports are fixed when it is created", set.id(),
                            (textsDiffer ? existing.set().texts() : existing.set().supports()) == null ? "no"
                                    : "different", what);
                }
                throw ImprintException.alreadyExists("probe set %s already exists with a different definition "
                        + "(num_probes=%d, dim=%d, kind=%s, smoothing_epsilon=%s)", set.id(),
                        existing.set().numProbes(), existing.set().dim(), existing.set().kind(),
                        existing.set().smoothingEpsilon());
            }
            store.saveProbeSet(set);
            probeSets.put(set.id(), stateFor(set, selected.backend(), batching, scoringTotals));
            return set;
        }
    }

    /** Returns probe set {@code id}, or NOT_FOUND. */
    public ProbeSet getProbeSet(String id) {
        return require(id).set();
    }

    /** All probe sets, ordered by id. */
    public List<ProbeSet> listProbeSets() {
        return probeSets.values().stream().map(ProbeSetState::set)
                .sorted(Comparator.comparing(ProbeSet::id)).toList();
    }

    /** How many references probe set {@code id} holds. */
    public int referenceCount(String id) {
        return require(id).referenceCount();
    }

    /**
     * Deletes a probe set. Refuses with FAILED_PRECONDITION while it holds references, unless
     * {@code force}, which deletes them too.
     *
     * @return how many references were deleted with it
     */
    public int deleteProbeSet(String id, boolean force) {
        synchronized (catalogLock) {
            ProbeSetState state = require(id);
            int deleted = state.retire(force, () -> store.deleteProbeSet(id));
            probeSets.remove(id);
            return deleted;
        }
    }

    /**
     * Stores a reference durably and makes it visible to scoring.
     *
     * @param rows numProbes × dim, row-major; validated here
     * @throws ImprintException ALREADY_EXISTS if the model exists and {@code replace} is false
     */
    public ReferenceMeta putReference(String probeSetId, String modelId, Map<String, String> labels,
                                      float[] rows, boolean replace) {
        return putReference(probeSetId, modelId, labels, ReferenceRole.PROTECTED, rows, replace);
    }

    /** As {@link #putReference(String, String, Map, float[], boolean)}, with the reference's attribution role. */
    public ReferenceMeta putReference(String probeSetId, String modelId, Map<String, String> labels,
                                      ReferenceRole role, float[] rows, boolean replace) {
        Ids.requireValid("model_id", modelId);
        ProbeSetState state = require(probeSetId);
        ProbeSet set = state.set();
        if (rows.length != set.elements()) {
            throw ImprintException.invalidArgument("reference has %d values; probe set %s expects num_probes*dim=%d",
                    rows.length, set.id(), set.elements());
        }
        RowValidator.validate(set, "rows", rows, 0, set.numProbes(), 0);
        ReferenceMeta meta = new ReferenceMeta(probeSetId, modelId, Labels.copyOf("labels", labels),
                set.numProbes(), set.dim(), System.currentTimeMillis(), role);
        return state.put(meta, rows, replace, store::saveReference);
    }

    /** Returns the metadata of one reference, or NOT_FOUND. */
    public ReferenceMeta getReference(String probeSetId, String modelId) {
        return require(probeSetId).meta(modelId);
    }

    /** References of a probe set carrying every label of {@code labelSelector}, ordered by model id. */
    public List<ReferenceMeta> listReferences(String probeSetId, Map<String, String> labelSelector) {
        return require(probeSetId).list(Labels.copyOf("label_selector", labelSelector));
    }

    /** Deletes a reference durably, or NOT_FOUND. */
    public void deleteReference(String probeSetId, String modelId) {
        require(probeSetId).delete(modelId, () -> store.deleteReference(probeSetId, modelId));
    }

    /**
     * Scores one suspect against the references of {@code set} that {@code query} selects.
     *
     * @param set the probe set the suspect and query were validated against
     */
    public ScoreResult score(ProbeSet set, Suspect suspect, ScoreQuery query) {
        return score(set, suspect, query, Deadline.none());
    }

    /** As {@link #score(ProbeSet, Suspect, ScoreQuery)}, given up with DEADLINE_EXCEEDED once {@code deadline} passes. */
    public ScoreResult score(ProbeSet set, Suspect suspect, ScoreQuery query, Deadline deadline) {
        return scoreAll(set, List.of(suspect), query, deadline).get(0);
    }

    /** As {@link #scoreAll(ProbeSet, List, ScoreQuery, Deadline)} without a deadline. */
    public List<ScoreResult> scoreAll(ProbeSet set, List<Suspect> suspects, ScoreQuery query) {
        return scoreAll(set, suspects, query, Deadline.none());
    }

    /**
     * Scores many suspects with one query. Suspects that answered the same probes are scored
     * together in batches of up to {@value #MAX_BATCH}, which is far cheaper than one by one, and
     * concurrent calls with the same query on the same probe set may share a batch (see
     * {@link ScoreBatching}).
     *
     * @return one result per suspect, in input order
     * @throws ImprintException DEADLINE_EXCEEDED when {@code deadline} passes before the answer;
     *                          nothing is scored for a call whose deadline passes while it waits
     */
    public List<ScoreResult> scoreAll(ProbeSet set, List<Suspect> suspects, ScoreQuery query, Deadline deadline) {
        ProbeSetState state = require(set.id());
        if (!state.set().sameDefinitionAs(set)) {
            throw ImprintException.failedPrecondition("probe set %s was redefined while the request was in flight",
                    set.id());
        }
        if (suspects.isEmpty()) {
            return List.of();
        }
        return state.score(suspects, query, deadline);
    }

    /** A snapshot of counts, memory and backend for GetServerInfo. */
    public EngineInfo info() {
        long bytes = 0;
        int refs = 0;
        int queued = 0;
        int queuedSuspects = 0;
        for (ProbeSetState state : probeSets.values()) {
            bytes += state.bytesHeld();
            refs += state.referenceCount();
            queued += state.queuedScoring();
            queuedSuspects += state.queuedSuspects();
        }
        DynamicBatcher.Stats stats = scoringTotals.snapshot();
        return new EngineInfo(backendName(), selected.reason(), bytes, probeSets.size(), refs,
                store.location(), quarantined, stats.batches(), stats.items(), queued, queuedSuspects, batching,
                selected.backend().deviceInfo());
    }

    /** Tells {@code listener} of every scoring batch from now on, on any probe set. */
    public void addBatchListener(BatchListener listener) {
        scoringTotals.listen(listener);
    }

    @Override
    public void close() {
        synchronized (catalogLock) {
            for (ProbeSetState state : probeSets.values()) {
                state.close();
            }
            probeSets.clear();
            selected.backend().close();
            store.close();
        }
    }

    /** A new, empty probe set held by {@code backend}, its batches counted in {@code totals}. */
    private static ProbeSetState stateFor(ProbeSet set, ScoringBackend backend, ScoreBatching batching,
                                          DynamicBatcher.Totals totals) {
        List<AttributionView> views = FormKind.of(set.kind()).stream()
                .map(kind -> new AttributionView(set, kind,
                        backend.createResidentSet(AttributionView.residentSet(set, kind))))
                .toList();
        return new ProbeSetState(set, backend.createResidentSet(set), views, backend.name(), batching,
                backend.batchesInFlight(), totals);
    }

    private ProbeSetState require(String probeSetId) {
        Ids.requireValid("probe_set_id", probeSetId);
        ProbeSetState state = probeSets.get(probeSetId);
        if (state == null) {
            throw ImprintException.notFound("probe set %s does not exist", probeSetId);
        }
        return state;
    }
}
