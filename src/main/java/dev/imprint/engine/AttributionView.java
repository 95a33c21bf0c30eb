package dev.imprint.engine;

import dev.imprint.attribution.Panel;
import dev.imprint.attribution.PanelNull;
import dev.imprint.attribution.PanelRegression;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Tempering;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;
import java.util.stream.IntStream;

/**
 * One {@link FormKind} of a probe set's attribution: the references' forms on the host
 * ({@link AttributionForms}) and on the backend, and each panel's regression and null, cached per
 * forms snapshot.
 *
 * <p>Threading is the owning {@link ProbeSetState}'s: writes ({@link #install}, {@link #swap},
 * {@link #close}) run under its visibility write lock, {@link #score} under its read lock.
 */
final class AttributionView implements AutoCloseable {
    /** Distinct truncations whose nulls one snapshot keeps; past it they are computed per batch. */
    private static final int MAX_CACHED_TRUNCATIONS = 64;

    private final FormKind kind;
    /** The forms as an EMBEDDING set of the backend. */
    private final ResidentReferences resident;
    /** Replaced whole together with {@code resident}'s rows. */
    private AttributionForms forms;
    /** References installed by a load, whose forms are derived once when it finishes. */
    private List<AttributionForms.Input> pending = new ArrayList<>();
    /** Cleared whenever the forms change: a panel's model belongs to one snapshot. */
    private volatile ModelCache modelCache = new ModelCache(null, Map.of(), Map.of(), Map.of());

    AttributionView(ProbeSet set, FormKind kind, ResidentReferences resident) {
        this.kind = kind;
        this.resident = resident;
        this.forms = AttributionForms.empty(set, kind);
    }

    /** The probe set a view's forms live in on the backend: an EMBEDDING set of the same shape. */
    static ProbeSet residentSet(ProbeSet set, FormKind kind) {
        return new ProbeSet(set.id(), set.numProbes(), set.dim(), ProbeSetKind.EMBEDDING, 0,
                kind.name().toLowerCase(java.util.Locale.ROOT) + " attribution forms of " + set.id());
    }

    FormKind kind() {
        return kind;
    }

    /** Adds a reference read back from the store; only before the state is shared, then {@link #finishLoad}. */
    void install(String modelId, float[] rows) {
        float[] form = forms.formOf(rows, forms.set().numProbes());
        resident.put(modelId, AttributionForms.resident(forms.set(), form));
        pending.add(new AttributionForms.Input(modelId, form));
    }

    /** Makes the forms of everything {@link #install} added one snapshot (derived at its first read). */
    void finishLoad() {
        forms = AttributionForms.of(forms.set(), kind, pending);
        pending = null;
    }

    /**
     * A write prepared ahead of the switch (the form, and the next snapshot, whose dot products with
     * the new mean its first reader computes once), so the switch itself is only {@link #swap}.
     */
    record Change(String modelId, float[] form, AttributionForms next) {
    }

    /** The change that puts (or replaces) {@code modelId} with {@code rows}. */
    Change put(String modelId, float[] rows) {
        float[] form = forms.formOf(rows, forms.set().numProbes());
        return new Change(modelId, form, forms.with(modelId, form));
    }

    /** The change that deletes {@code modelId}. */
    Change delete(String modelId) {
        return new Change(modelId, null, forms.without(modelId));
    }

    /** Makes {@code change} visible; under the owner's write lock. */
    void swap(Change change) {
        if (change.form() == null) {
            resident.remove(change.modelId());
        } else {
            resident.put(change.modelId(), AttributionForms.resident(forms.set(), change.form()));
        }
        forms = change.next();
    }

    long bytesHeld() {
        return resident.bytesHeld();
    }

    @Override
    public void close() {
        resident.close();
    }

    /**
     * One batch in this view: per suspect, its coefficients ([M][N]) and the {@link PanelNull}
     * values it is judged against.
     */
    record Scored(double[][][] coefficients, double[][] nulls) {
    }

    /** The references' {@link SuspectConditions#slope}s on some probes and truncation: their mean and range. */
    record Slopes(double mean, double lowest, double highest) {
    }

    /**
     * Every reference's {@link SuspectConditions#slope} on the consensus over its own top
     * {@code kept[j]} tokens (all, when null): what models at the references' temperatures get
     * when truncated so. LOG_RATIO views only; O(M·N·D·log D), once per snapshot, probes and
     * truncation.
     */
    Slopes referenceSlopes(int[] probes, int[] kept) {
        ModelCache cache = cache();
        AttributionForms snapshot = cache.forms();
        Truncated key = new Truncated(Arrays.stream(probes).boxed().toList(),
                kept == null ? List.of() : Arrays.stream(kept).boxed().toList());
        Slopes cached = cache.slopes().get(key);
        if (cached != null) {
            return cached;
        }
        int[] at = Arrays.stream(probes).map(p -> p * snapshot.set().dim()).toArray();
        double[] slopes = snapshot.ids().parallelStream()
                .mapToDouble(id -> SuspectConditions.slope(snapshot, snapshot.row(id).form(), at, probes, kept))
                .toArray();
        Slopes built = new Slopes(Arrays.stream(slopes).average().orElse(1), Arrays.stream(slopes).min().orElse(1),
                Arrays.stream(slopes).max().orElse(1));
        if (cache.slopes().size() < MAX_CACHED_TRUNCATIONS) {
            cache.slopes().put(key, built);
        }
        return built;
    }

    /** The current snapshot; under the owner's read lock. */
    AttributionForms forms() {
        return forms;
    }

    /**
     * Scores {@code batch} on {@code panel}, every member held; under the owner's read lock.
     *
     * @param conditions per suspect, as {@link SuspectConditions#measure} found them
     */
    Scored score(Panel panel, SuspectBatch batch, SuspectConditions[] conditions) {
        PanelModel model = modelOf(panel, batch.probeIndices());
        SuspectBatch seen = kind.blindToTemperature() ? batch : atReferenceTemperature(batch, conditions);
        return new Scored(AttributionScorer.score(forms, resident, panel, model.regression(), seen),
                nullsOf(panel, model, batch.probeIndices(), conditions));
    }

    /**
     * The batch with each suspect brought back within the references' temperatures, for a form
     * that is not blind to them: a sibling flatter than every reference would otherwise lean on
     * whichever is flattest.
     */
    private SuspectBatch atReferenceTemperature(SuspectBatch batch, SuspectConditions[] conditions) {
        int dim = forms.set().dim();
        List<float[]> rows = new ArrayList<>(batch.size());
        for (int s = 0; s < batch.size(); s++) {
            float[] own = batch.suspects().get(s);
            double t = conditions[s].excess();
            if (t == 1) {
                rows.add(own);
                continue;
            }
            float[] cooled = own.clone();
            for (int base = 0; base < cooled.length; base += dim) {
                Tempering.apply(cooled, base, dim, 1 / t);
            }
            rows.add(cooled);
        }
        return new SuspectBatch(batch.probeIndices(), rows);
    }

    /** One panel on one list of probes, for one forms snapshot. */
    private record PanelKey(List<String> modelIds, List<Integer> probes) {
        static PanelKey of(Panel panel, int[] probes) {
            return new PanelKey(panel.members().stream().map(Panel.Member::modelId).toList(),
                    Arrays.stream(probes).boxed().toList());
        }
    }

    /** A panel's regression on some probes and its {@link PanelNull} values there. */
    private record PanelModel(PanelRegression regression, double[] nullValues) {
    }

    /** A panel's null for suspects truncated to {@code kept} tokens on each of the key's probes. */
    private record TruncatedKey(PanelKey panel, List<Integer> kept) {
    }

    /** Probes and, per probe, how many tokens a suspect keeps (empty for full rows). */
    private record Truncated(List<Integer> probes, List<Integer> kept) {
    }

    private record ModelCache(AttributionForms forms, Map<PanelKey, PanelModel> models,
                              Map<TruncatedKey, double[]> truncatedNulls, Map<Truncated, Slopes> slopes) {
    }

    /** The cache of the current snapshot, started afresh when the forms changed. */
    private ModelCache cache() {
        ModelCache cache = modelCache;
        if (cache.forms() != forms) {
            cache = new ModelCache(forms, new ConcurrentHashMap<>(), new ConcurrentHashMap<>(), new ConcurrentHashMap<>());
            modelCache = cache;
        }
        return cache;
    }

    /**
     * The regression and model-level null of {@code panel} on {@code probes}. Computed once per
     * snapshot, panel and probe list: the Gram matrices (O(M²·N·D)), their factors (O(M³·N)), for
     * a panel larger than D the dual's (O(M·D²·N + D³·N), {@link AttributionScorer#regression}) and
     * each pseudo-suspect's leave-one-out coefficients from them (O(M²·N) each), with no backend
     * call.
     */
    private PanelModel modelOf(Panel panel, int[] probes) {
        ModelCache cache = cache();
        AttributionForms snapshot = cache.forms();
        return cache.models().computeIfAbsent(PanelKey.of(panel, probes), k -> {
            PanelRegression regression = AttributionScorer.regression(snapshot, panel, probes);
            return new PanelModel(regression, nullValues(panel, regression::withoutMember));
        });
    }

    /**
     * Per suspect of the batch, the {@link PanelNull} values it is judged against: the panel's own
     * for a full row, and for a top-k truncated one (DISTRIBUTION sets) those of the pseudo-suspects
     * truncated the same way on every probe, since truncation changes how far ahead a model gets
     * and a null of full rows would not know it. Those cost O(K·M·N·D) for K pseudo-suspects, once
     * per snapshot, panel and truncation.
     */
    private double[][] nullsOf(Panel panel, PanelModel model, int[] probes, SuspectConditions[] conditions) {
        double[][] out = new double[conditions.length][];
        for (int s = 0; s < conditions.length; s++) {
            int[] kept = conditions[s].kept();
            out[s] = kept == null ? model.nullValues() : truncatedNull(panel, model, probes, kept);
        }
        return out;
    }

    private double[] truncatedNull(Panel panel, PanelModel model, int[] probes, int[] kept) {
        ModelCache cache = cache();
        TruncatedKey key = new TruncatedKey(PanelKey.of(panel, probes), Arrays.stream(kept).boxed().toList());
        double[] cached = cache.truncatedNulls().get(key);
        if (cached != null) {
            return cached;
        }
        AttributionForms snapshot = cache.forms();
        double[] values = nullValues(panel, k -> {
            AttributionScorer.Products truncated = AttributionScorer.truncatedProducts(snapshot, panel, k, probes, kept);
            return model.regression().withoutMember(k, truncated.products(), truncated.norm2());
        });
        if (cache.truncatedNulls().size() < MAX_CACHED_TRUNCATIONS) {
            cache.truncatedNulls().put(key, values);
        }
        return values;
    }

    /**
     * T of each {@link PanelNull#pseudoSuspects pseudo-suspect}, from its coefficients on the
     * panel without it.
     */
    private static double[] nullValues(Panel panel, IntFunction<double[][]> leftOut) {
        int[] pseudo = PanelNull.pseudoSuspects(panel);
        return IntStream.range(0, pseudo.length).parallel().mapToDouble(i -> {
            List<Panel.Member> rest = new ArrayList<>(panel.members());
            rest.remove(pseudo[i]);
            Panel without = new Panel(rest);
            return without.candidateCount() == 0 || without.size() < 2 ? Double.NaN
                    : PanelNull.statistic(PanelNull.candidateStatistics(without, leftOut.apply(pseudo[i])));
        }).toArray();
    }
}
