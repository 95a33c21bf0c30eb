package dev.imprint.engine;

import dev.imprint.attribution.Attributor;
import dev.imprint.attribution.Panel;
import dev.imprint.core.Attribution;
import dev.imprint.core.Deadline;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Labels;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.core.Truncation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * One probe set as the engine holds it: its catalog of reference metadata and the backend's
 * resident references, kept consistent with each other.
 *
 * <p>Two locks: {@code writes} serialises puts and deletes end to end (disk I/O included), so
 * "exists?" checks and the durable write cannot interleave; {@code visibility} guards only the
 * in-memory switch, so scoring never waits on the disk.
 *
 * <p>Scoring calls go through one {@link DynamicBatcher}, so concurrent calls with the same query
 * but for top_k become one backend call; each suspect keeps its own call's top_k.
 */
final class ProbeSetState implements AutoCloseable {
    private final ProbeSet set;
    private final ResidentReferences resident;
    /** Attribution, one view per {@link FormKind} of the set's kind; changed under the visibility write lock. */
    private final List<AttributionView> views;
    private final String backendName;
    /** Keyed by the query without its top_k, which each suspect carries. */
    private final DynamicBatcher<ScoreQuery, Ask, ScoreResult> batcher;
    private final TreeMap<String, ReferenceMeta> catalog = new TreeMap<>();
    private final ReentrantLock writes = new ReentrantLock();
    private final ReentrantReadWriteLock visibility = new ReentrantReadWriteLock();
    private boolean retired;

    /**
     * @param batchesInFlight how many scoring batches may run at once (see
     *                        {@link ScoringBackend#batchesInFlight()})
     * @param totals          the engine's scoring totals, which this set's batches add to
     */
    ProbeSetState(ProbeSet set, ResidentReferences resident, List<AttributionView> views, String backendName,
                  ScoreBatching batching, int batchesInFlight, DynamicBatcher.Totals totals) {
        this.set = set;
        this.resident = resident;
        this.views = List.copyOf(views);
        this.backendName = backendName;
        this.batcher = new DynamicBatcher<>(this::scoreNow, batching.maxSuspects(),
                batching.maxQueueDelay().toNanos(), batchesInFlight, totals);
    }

    ProbeSet set() {
        return set;
    }

    /** Adds a reference read back from the store; only before the state is shared, then {@link #finishLoad}. */
    void install(ReferenceMeta meta, float[] rows) {
        resident.put(meta.modelId(), rows);
        views.forEach(v -> v.install(meta.modelId(), rows));
        catalog.put(meta.modelId(), meta);
    }

    /** Derives the attribution forms of everything {@link #install} added, once. */
    void finishLoad() {
        views.forEach(AttributionView::finishLoad);
    }

    /** Makes a new reference durable through {@code saver}, then visible. */
    ReferenceMeta put(ReferenceMeta meta, float[] rows, boolean replace, Consumer<Reference> saver) {
        writes.lock();
        try {
            ensureLive();
            if (!replace && catalogContains(meta.modelId())) {
                throw ImprintException.alreadyExists("reference %s already exists in probe set %s; set replace to overwrite it",
                        meta.modelId(), set.id());
            }
            saver.accept(new Reference(meta, rows));
            // Derived before the switch, so scoring waits only for the swap.
            List<AttributionView.Change> changes = views.stream().map(v -> v.put(meta.modelId(), rows)).toList();
            visibility.writeLock().lock();
            try {
                resident.put(meta.modelId(), rows);
                swap(changes);
                catalog.put(meta.modelId(), meta);
            } finally {
                visibility.writeLock().unlock();
            }
            return meta;
        } finally {
            writes.unlock();
        }
    }

    /** Deletes a reference durably through {@code remover}, then from memory. */
    void delete(String modelId, Runnable remover) {
        writes.lock();
        try {
            ensureLive();
            if (!catalogContains(modelId)) {
                throw ImprintException.notFound("reference %s does not exist in probe set %s", modelId, set.id());
            }
            remover.run();
            List<AttributionView.Change> changes = views.stream().map(v -> v.delete(modelId)).toList();
            visibility.writeLock().lock();
            try {
                catalog.remove(modelId);
                resident.remove(modelId);
                swap(changes);
            } finally {
                visibility.writeLock().unlock();
            }
        } finally {
            writes.unlock();
        }
    }

    /** Makes each view's change visible; under the visibility write lock. */
    private void swap(List<AttributionView.Change> changes) {
        for (int v = 0; v < views.size(); v++) {
            views.get(v).swap(changes.get(v));
        }
    }

    /**
     * Marks the set deleted after {@code deleter} removed it durably, so later writes find it gone.
     *
     * @return the number of references that went with it
     */
    int retire(boolean force, Runnable deleter) {
        writes.lock();
        try {
            ensureLive();
            int count = referenceCount();
            if (count > 0 && !force) {
                throw ImprintException.failedPrecondition("probe set %s still holds %d references; delete them first or set force",
                        set.id(), count);
            }
            deleter.run();
            visibility.writeLock().lock();
            try {
                retired = true;
                resident.close();
                views.forEach(AttributionView::close);
            } finally {
                visibility.writeLock().unlock();
            }
            return count;
        } finally {
            writes.unlock();
        }
    }

    ReferenceMeta meta(String modelId) {
        visibility.readLock().lock();
        try {
            ReferenceMeta meta = catalog.get(modelId);
            if (meta == null) {
                throw ImprintException.notFound("reference %s does not exist in probe set %s", modelId, set.id());
            }
            return meta;
        } finally {
            visibility.readLock().unlock();
        }
    }

    List<ReferenceMeta> list(Map<String, String> selector) {
        visibility.readLock().lock();
        try {
            return catalog.values().stream().filter(m -> Labels.matches(selector, m.labels())).toList();
        } finally {
            visibility.readLock().unlock();
        }
    }

    int referenceCount() {
        visibility.readLock().lock();
        try {
            return catalog.size();
        } finally {
            visibility.readLock().unlock();
        }
    }

    long bytesHeld() {
        visibility.readLock().lock();
        try {
            return resident.bytesHeld() + views.stream().mapToLong(AttributionView::bytesHeld).sum();
        } finally {
            visibility.readLock().unlock();
        }
    }

    /**
     * Scores {@code suspects} with {@code query}, batched with concurrent calls that share the
     * query, and ranks each suspect's matches.
     *
     * @return one result per suspect, in input order
     * @throws ImprintException DEADLINE_EXCEEDED when {@code deadline} passes before the answer
     */
    List<ScoreResult> score(List<Suspect> suspects, ScoreQuery query, Deadline deadline) {
        List<Ask> asks = suspects.stream().map(s -> new Ask(s, query.topK())).toList();
        return batcher.submit(query.withTopK(0), asks, deadline);
    }

    /** One suspect to score and how many matches it keeps (0: all). */
    private record Ask(Suspect suspect, int topK) {
    }

    /** Scoring calls waiting for a batch now. */
    int queuedScoring() {
        return batcher.queued();
    }

    /** Suspects of the scoring calls waiting for a batch now. */
    int queuedSuspects() {
        return batcher.queuedItems();
    }

    /**
     * Scores a batch now: suspects that answered the same probes go to the backend together, in
     * chunks of up to {@value ImprintEngine#MAX_BATCH}.
     */
    private List<ScoreResult> scoreNow(ScoreQuery query, List<Ask> asks) {
        ScoreResult[] results = new ScoreResult[asks.size()];
        Map<ProbeKey, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < asks.size(); i++) {
            groups.computeIfAbsent(new ProbeKey(asks.get(i).suspect().probeIndices()), k -> new ArrayList<>()).add(i);
        }
        for (Map.Entry<ProbeKey, List<Integer>> group : groups.entrySet()) {
            List<Integer> members = group.getValue();
            for (int from = 0; from < members.size(); from += ImprintEngine.MAX_BATCH) {
                List<Integer> chunk = members.subList(from, Math.min(members.size(), from + ImprintEngine.MAX_BATCH));
                List<float[]> rows = chunk.stream().map(i -> asks.get(i).suspect().rows()).toList();
                int[] topKs = chunk.stream().mapToInt(i -> asks.get(i).topK()).toArray();
                List<ScoreResult> scored = scoreBatch(new SuspectBatch(group.getKey().indices(), rows), query, topKs);
                for (int j = 0; j < chunk.size(); j++) {
                    results[chunk.get(j)] = scored.get(j);
                }
            }
        }
        return Arrays.asList(results);
    }

    /**
     * Scores one backend batch against the references the query selects and ranks each suspect's
     * matches, suspect s keeping {@code topKs[s]} (0: all).
     */
    private List<ScoreResult> scoreBatch(SuspectBatch batch, ScoreQuery query, int[] topKs) {
        // The backend may rank for the batch when every suspect keeps a few: the most any keeps.
        int keep = Arrays.stream(topKs).anyMatch(k -> k == 0) ? 0 : Arrays.stream(topKs).max().orElse(0);
        List<ReferenceMeta> selected;
        BatchScores scores;
        Panel panel = null;
        SuspectEvidence[] evidence = null;
        visibility.readLock().lock();
        try {
            if (retired) {
                throw ImprintException.notFound("probe set %s does not exist", set.id());
            }
            selected = select(query);
            List<String> ids = selected.stream().map(ReferenceMeta::modelId).toList();
            if (selected.isEmpty()) {
                scores = new BatchScores(batch.size(), 0, batch.probeCount());
            } else if (keep > 0 && keep < selected.size()) {
                scores = resident.scoreClosest(batch, ids, query.metrics(), query.includePerProbe(), query.orderBy(),
                        keep);
            } else {
                scores = resident.score(batch, ids, query.metrics(), query.includePerProbe());
            }
            if (query.attribution()) {
                Panel members = new Panel(selected.stream()
                        .map(m -> new Panel.Member(m.modelId(), m.family(), m.role())).toList());
                panel = members;
                evidence = selected.isEmpty() || tooLarge(panel, batch.probeIndices()) ? null
                        : evidenceOf(members, batch);
            }
        } finally {
            visibility.readLock().unlock();
        }
        Metric[] metrics = query.metrics().toArray(new Metric[0]);
        Panel attributed = panel;
        SuspectEvidence[] found = evidence;
        Map<String, Integer> indexOf = new java.util.HashMap<>();
        for (int r = 0; r < selected.size(); r++) {
            indexOf.put(selected.get(r).modelId(), r);
        }
        // Suspects rank independently; in parallel, a batch of 64 against 1000 references ranks in
        // half the time, which would otherwise keep every core but one idle after the products.
        return IntStream.range(0, batch.size()).parallel()
                .mapToObj(s -> {
                    List<Match> matches = rank(s, selected, scores, query, metrics, topKs[s]);
                    Attribution attribution = null;
                    if (query.attribution()) {
                        int[] wanted = matches.stream().mapToInt(m -> indexOf.get(m.modelId())).toArray();
                        Attributor.Outcome outcome;
                        if (found == null && !selected.isEmpty()) {
                            outcome = Attributor.inconclusive(attributed, batch.probeCount(), query.alpha(),
                                    tooLargeReason(attributed, batch.probeIndices()), views.get(0).kind().statistic());
                        } else {
                            // An empty selection has no coefficients; the attributor calls it inconclusive.
                            SuspectEvidence e = found == null ? SuspectEvidence.NONE : found[s];
                            outcome = Attributor.attribute(attributed, e.coefficients(),
                                    AttributionScorer.familySums(attributed, e.coefficients()), batch.probeIndices(),
                                    query.alpha(), wanted, e.form().statistic(), e.nullValues());
                        }
                        attribution = outcome.attribution();
                        matches = withPValues(matches, wanted, outcome.memberPValues());
                    }
                    return new ScoreResult(set.id(), matches, batch.probeCount(), selected.size(), backendName,
                            query.orderBy(), attribution);
                })
                .toList();
    }

    /**
     * One suspect's coefficients on the panel ([M][N]) in the form it is attributed in, and the
     * {@link dev.imprint.attribution.PanelNull} values it is judged against there.
     */
    private record SuspectEvidence(FormKind form, double[][] coefficients, double[] nullValues) {
        static final SuspectEvidence NONE = new SuspectEvidence(FormKind.UNIT, new double[0][], new double[0]);
    }

    /**
     * Each suspect of the batch in the form {@link FormKind#forSuspect} picks for it, under the
     * visibility read lock.
     */
    private SuspectEvidence[] evidenceOf(Panel panel, SuspectBatch batch) {
        int size = batch.size();
        SuspectConditions[] conditions = new SuspectConditions[size];
        AttributionView logView = views.stream().filter(v -> v.kind() == FormKind.LOG_RATIO).findFirst().orElse(null);
        FormKind[] forms = new FormKind[size];
        for (int s = 0; s < size; s++) {
            float[] rows = batch.suspects().get(s);
            int[] kept = logView == null ? null : Truncation.keptPerRow(rows, batch.probeCount(), set.dim());
            forms[s] = FormKind.forSuspect(set.kind(), kept);
            // Only a form that sees temperature needs it measured (a log form of every row, on the hot path).
            conditions[s] = logView == null || forms[s].blindToTemperature() ? SuspectConditions.truncatedOnly(kept)
                    : SuspectConditions.measure(logView, rows, batch.probeIndices(), kept);
        }
        SuspectEvidence[] out = new SuspectEvidence[size];
        for (AttributionView view : views) {
            int[] mine = IntStream.range(0, size).filter(s -> forms[s] == view.kind()).toArray();
            if (mine.length == 0) {
                continue;
            }
            SuspectBatch sub = new SuspectBatch(batch.probeIndices(),
                    Arrays.stream(mine).mapToObj(s -> batch.suspects().get(s)).toList());
            AttributionView.Scored scored = view.score(panel, sub,
                    Arrays.stream(mine).mapToObj(s -> conditions[s]).toArray(SuspectConditions[]::new));
            for (int i = 0; i < mine.length; i++) {
                out[mine[i]] = new SuspectEvidence(view.kind(), scored.coefficients()[i], scored.nulls()[i]);
            }
        }
        return out;
    }

    /**
     * The largest M²·N a panel's regression may hold: its Gram matrices and their inverses take
     * 16·M²·N bytes (256 MiB here), and factoring them O(M³·N).
     */
    static final long MAX_REGRESSION_ENTRIES = 1L << 24;

    private static boolean tooLarge(Panel panel, int[] probes) {
        return (long) panel.size() * panel.size() * probes.length > MAX_REGRESSION_ENTRIES;
    }

    private static String tooLargeReason(Panel panel, int[] probes) {
        long most = (long) Math.floor(Math.sqrt((double) MAX_REGRESSION_ENTRIES / probes.length));
        return String.format("a panel of %d references on %d probes is too large to attribute (M^2*N=%d; at most %d); "
                + "select at most %d references with model_ids, the candidates' families and the background",
                panel.size(), probes.length, (long) panel.size() * panel.size() * probes.length,
                MAX_REGRESSION_ENTRIES, most);
    }

    private static List<Match> withPValues(List<Match> matches, int[] indices, double[] pValues) {
        List<Match> out = new ArrayList<>(matches.size());
        for (int i = 0; i < matches.size(); i++) {
            Match m = matches.get(i);
            out.add(new Match(m.modelId(), m.labels(), m.rank(), m.values(), m.perProbe(), pValues[indices[i]]));
        }
        return Collections.unmodifiableList(out);
    }

    private List<ReferenceMeta> select(ScoreQuery query) {
        List<ReferenceMeta> candidates;
        if (query.modelIds().isEmpty()) {
            candidates = new ArrayList<>(catalog.values());
        } else {
            candidates = new ArrayList<>(query.modelIds().size());
            for (String id : new TreeSet<>(query.modelIds())) {
                ReferenceMeta meta = catalog.get(id);
                if (meta == null) {
                    throw ImprintException.notFound("model_ids names %s, which does not exist in probe set %s",
                            id, set.id());
                }
                candidates.add(meta);
            }
        }
        candidates.removeIf(m -> !Labels.matches(query.labelSelector(), m.labels()));
        return candidates;
    }

    private static List<Match> rank(int suspect, List<ReferenceMeta> refs, BatchScores scores, ScoreQuery query,
                                    Metric[] metrics, int topK) {
        int[] byRank = scores.kept(suspect);
        if (byRank != null) {
            // Closest first, for the batch's largest top_k: this suspect's are a prefix.
            byRank = Arrays.copyOf(byRank, Math.min(topK, byRank.length));
        } else {
            Metric order = query.orderBy();
            double[] closeness = new double[refs.size()];
            for (int r = 0; r < closeness.length; r++) {
                closeness[r] = scores.value(order, suspect, r);
            }
            // refs is in model id order, so ties keep ranking the same way on every backend.
            byRank = topK == 0 ? Ranking.order(closeness, order.higherIsCloser())
                    : Ranking.top(closeness, order.higherIsCloser(), topK);
        }
        int keep = byRank.length;
        List<Match> matches = new ArrayList<>(keep);
        for (int i = 0; i < keep; i++) {
            int r = byRank[i];
            Map<Metric, Double> values;
            if (metrics.length == 1) {
                // The common query: one map object per match, not an EnumMap, its table and a view.
                values = Map.of(metrics[0], scores.value(metrics[0], suspect, r));
            } else {
                values = new EnumMap<>(Metric.class);
                for (Metric m : metrics) {
                    values.put(m, scores.value(m, suspect, r));
                }
                values = Collections.unmodifiableMap(values);
            }
            Map<Metric, double[]> perProbe = Map.of();
            if (query.includePerProbe()) {
                perProbe = new EnumMap<>(Metric.class);
                for (Metric m : metrics) {
                    perProbe.put(m, scores.perProbe(m, suspect, r));
                }
                perProbe = Collections.unmodifiableMap(perProbe);
            }
            ReferenceMeta meta = refs.get(r);
            matches.add(new Match(meta.modelId(), meta.labels(), i + 1, values, perProbe));
        }
        return matches;
    }

    private boolean catalogContains(String modelId) {
        visibility.readLock().lock();
        try {
            return catalog.containsKey(modelId);
        } finally {
            visibility.readLock().unlock();
        }
    }

    private void ensureLive() {
        if (retired) {
            throw ImprintException.notFound("probe set %s does not exist", set.id());
        }
    }

    @Override
    public void close() {
        visibility.writeLock().lock();
        try {
            resident.close();
            views.forEach(AttributionView::close);
        } finally {
            visibility.writeLock().unlock();
        }
    }

    /** Probe indices as a map key: equal when the same probes were answered in the same order. */
    private record ProbeKey(int[] indices) {
        @Override
        public boolean equals(Object o) {
            return o instanceof ProbeKey k && Arrays.equals(indices, k.indices);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(indices);
        }
    }
}
