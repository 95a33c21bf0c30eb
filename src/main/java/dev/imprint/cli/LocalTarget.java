package dev.imprint.cli;

import dev.imprint.client.ImprintClient.SuspectInput;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.engine.DeviceInfo;
import dev.imprint.engine.EngineInfo;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.topk.ProbeAnswer;
import dev.imprint.topk.SupportedRows;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/** The engine in-process over a data directory, opened for one command and closed after it. */
final class LocalTarget implements Target {
    /**
     * Suspects handed to the engine per call: large enough for batched scoring, small enough that
     * progress moves steadily.
     */
    static final int CHUNK = 64;

    private final ImprintEngine engine;
    private final Path dataDir;

    private LocalTarget(ImprintEngine engine, Path dataDir) {
        this.engine = engine;
        this.dataDir = dataDir;
    }

    /** Wraps an engine opened over {@code dataDir}; closing the target closes the engine. */
    static LocalTarget open(ImprintEngine engine, Path dataDir) {
        return new LocalTarget(engine, dataDir);
    }

    @Override
    public String describe() {
        return "data dir " + dataDir;
    }

    @Override
    public ProbeSet createProbeSet(ProbeSet set) {
        return engine.createProbeSet(set);
    }

    @Override
    public ProbeSet getProbeSet(String probeSetId) {
        return engine.getProbeSet(probeSetId);
    }

    @Override
    public ProbeSet getProbeSetWithTexts(String probeSetId) {
        return engine.getProbeSet(probeSetId);
    }

    @Override
    public List<ProbeSet> listProbeSets() {
        return engine.listProbeSets();
    }

    @Override
    public int referenceCount(String probeSetId) {
        return engine.referenceCount(probeSetId);
    }

    @Override
    public List<ReferenceMeta> listReferences(String probeSetId, Map<String, String> labelSelector,
                                              ReferenceRole role) {
        return engine.listReferences(probeSetId, labelSelector).stream()
                .filter(m -> role == null || m.role() == role).toList();
    }

    @Override
    public void deleteReference(String probeSetId, String modelId) {
        engine.deleteReference(probeSetId, modelId);
    }

    @Override
    public int deleteProbeSet(String probeSetId, boolean force) {
        return engine.deleteProbeSet(probeSetId, force);
    }

    @Override
    public ReferenceMeta putReference(String probeSetId, String modelId, Map<String, String> labels,
                                      ReferenceRole role, float[] rows, boolean replace) {
        return engine.putReference(probeSetId, modelId, labels, role, rows, replace);
    }

    @Override
    public ReferenceMeta putReferenceTopK(String probeSetId, String modelId, Map<String, String> labels,
                                          ReferenceRole role, List<ProbeAnswer> answers, boolean replace) {
        float[] rows = SupportedRows.reference(engine.getProbeSet(probeSetId), answers, "top_k");
        return engine.putReference(probeSetId, modelId, labels, role, rows, replace);
    }

    @Override
    public void scoreAll(ProbeSet set, Iterable<SuspectInput> suspects, ScoreOptions options,
                         BiConsumer<SuspectInput, ScoreResult> sink) {
        ScoreQuery resolved = ScoreQuery.resolve(set, options.metrics(), options.orderBy(), options.topK(),
                options.modelIds(), options.labelSelector(), options.includePerProbe());
        ScoreQuery query = options.attribution() ? resolved.withAttribution(options.alpha()) : resolved;
        List<SuspectInput> chunk = new ArrayList<>(CHUNK);
        for (SuspectInput s : suspects) {
            chunk.add(s);
            if (chunk.size() == CHUNK) {
                scoreChunk(set, chunk, query, sink);
                chunk.clear();
            }
        }
        scoreChunk(set, chunk, query, sink);
    }

    private void scoreChunk(ProbeSet set, List<SuspectInput> chunk, ScoreQuery query,
                            BiConsumer<SuspectInput, ScoreResult> sink) {
        if (chunk.isEmpty()) {
            return;
        }
        List<Suspect> validated = new ArrayList<>(chunk.size());
        for (SuspectInput s : chunk) {
            try {
                validated.add(s.topK() != null ? SupportedRows.suspect(set, s.topK(), "suspect_top_k")
                        : Suspect.of(set, s.rows().length / set.dim(), set.dim(), s.rows(), s.probeIndices()));
            } catch (ImprintException e) {
                throw new ImprintException(e.code(), "suspect " + s.requestId() + ": " + e.getMessage(), e);
            }
        }
        List<ScoreResult> results = engine.scoreAll(set, validated, query);
        for (int i = 0; i < chunk.size(); i++) {
            sink.accept(chunk.get(i), results.get(i));
        }
    }

    @Override
    public Map<String, String> info() {
        EngineInfo info = engine.info();
        Map<String, String> out = new LinkedHashMap<>();
        out.put("data_dir", info.storeLocation());
        out.put("backend", info.backend());
        out.put("backend_reason", info.backendReason());
        DeviceInfo d = info.device();
        out.put("device", d == null ? "none" : Target.deviceLine(d.name(), d.computeCapability(), d.driverVersion(),
                d.totalBytes(), d.freeBytes()));
        out.put("probe_sets", Integer.toString(info.probeSetCount()));
        out.put("references", Integer.toString(info.referenceCount()));
        out.put("reference_bytes", Long.toString(info.referenceBytes()));
        out.put("quarantined_files", info.quarantined().isEmpty() ? "none" : String.join(", ", info.quarantined()));
        out.put("scoring_batches", Long.toString(info.scoringBatches()));
        out.put("scored_suspects", Long.toString(info.scoredSuspects()));
        out.put("scoring_queued", Integer.toString(info.scoringQueued()));
        return out;
    }

    @Override
    public void close() {
        engine.close();
    }
}
