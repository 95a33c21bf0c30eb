package dev.imprint.evaluate;

import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.engine.ImprintEngine;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * Runs a {@link Scenario} through an engine in-process: registers its panel, then scores every
 * suspect with attribution and the kind's default raw metric (KL_REF_SUSPECT for DISTRIBUTION,
 * COSINE for EMBEDDING) from the same call, so the baseline and the verdicts see identical inputs.
 */
public final class Evaluator {
    private static final int BATCH = 64;

    private Evaluator() {}

    /**
     * Scores the scenario on {@code engine}, which must not hold its probe set yet.
     *
     * @param progress told how many suspects are done after each batch
     */
    public static List<Scored> run(ImprintEngine engine, Scenario scenario, double alpha, IntConsumer progress) {
        engine.createProbeSet(scenario.probeSet());
        Set<String> candidates = new HashSet<>();
        for (Scenario.Reference r : scenario.references()) {
            engine.putReference(scenario.probeSet().id(), r.modelId(), r.labels(), r.role(), r.rows(), false);
            if (r.role() == ReferenceRole.PROTECTED) {
                candidates.add(r.modelId());
            }
        }
        ScoreQuery query = ScoreQuery.defaults(scenario.probeSet()).withAttribution(alpha);
        Metric raw = query.orderBy();
        int p = scenario.probeSet().numProbes();
        int d = scenario.probeSet().dim();
        List<Scored> out = new ArrayList<>();
        List<LabelledSuspect> all = scenario.suspects();
        for (int start = 0; start < all.size(); start += BATCH) {
            List<LabelledSuspect> chunk = all.subList(start, Math.min(all.size(), start + BATCH));
            List<Suspect> batch = chunk.stream().map(s -> Suspect.of(scenario.probeSet(), p, d, s.rows(), new int[0]))
                    .toList();
            List<ScoreResult> results = engine.scoreAll(scenario.probeSet(), batch, query);
            for (int i = 0; i < chunk.size(); i++) {
                out.add(scored(chunk.get(i), results.get(i), raw, candidates));
            }
            progress.accept(out.size());
        }
        return out;
    }

    static Scored scored(LabelledSuspect s, ScoreResult result, Metric raw, Set<String> candidates) {
        double teacherP = Double.NaN;
        double smallestP = Double.NaN;
        String rawFirst = "";
        double first = Double.NaN;
        double second = Double.NaN;
        double teacherRaw = Double.NaN;
        double bestOther = Double.NaN;
        // Matches come ranked by the raw metric, closest first.
        for (Match m : result.matches()) {
            if (!candidates.contains(m.modelId())) {
                continue;
            }
            double closeness = raw.higherIsCloser() ? m.values().get(raw) : -m.values().get(raw);
            if (rawFirst.isEmpty()) {
                rawFirst = m.modelId();
                first = closeness;
            } else if (Double.isNaN(second)) {
                second = closeness;
            }
            if (m.modelId().equals(s.teacher())) {
                teacherRaw = closeness;
                teacherP = m.pValue();
            } else if (Double.isNaN(bestOther)) {
                bestOther = closeness;
            }
            if (!Double.isNaN(m.pValue()) && !(m.pValue() >= smallestP)) {
                smallestP = m.pValue();
            }
        }
        double attributionScore = strength(s.teacher() != null ? teacherP : smallestP);
        double rawScore = s.teacher() != null ? teacherRaw - bestOther : first - second;
        return new Scored(s, result.attribution(), attributionScore, rawScore, result.attribution().modelId(),
                rawFirst);
    }

    /** −log10 p, 0 for no p-value; p-values below 1e-300 count as 1e-300. */
    private static double strength(double p) {
        return Double.isNaN(p) ? 0 : -Math.log10(Math.max(p, 1e-300));
    }
}
