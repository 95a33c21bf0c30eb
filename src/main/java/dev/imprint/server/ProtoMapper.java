package dev.imprint.server;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.imprint.api.v1.CreateProbeSetRequest;
import dev.imprint.api.v1.Evidence;
import dev.imprint.api.v1.Matrix;
import dev.imprint.api.v1.PerProbeValues;
import dev.imprint.api.v1.ProbeSupport;
import dev.imprint.api.v1.RowChunk;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ScoreResponse;
import dev.imprint.api.v1.TopKRow;
import dev.imprint.api.v1.TopKRows;
import dev.imprint.api.v1.TopKToken;
import dev.imprint.core.Attribution;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ChatMessage;
import dev.imprint.core.Probe;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeTexts;
import dev.imprint.core.VocabularyMode;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Supports;
import dev.imprint.core.Suspect;
import dev.imprint.core.Verdict;
import dev.imprint.engine.DeviceInfo;
import dev.imprint.topk.ProbeAnswer;
import dev.imprint.topk.SupportedRows;
import dev.imprint.topk.TopKEntry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Translation between the wire messages of {@code imprint.v1} and the domain types of
 * {@code dev.imprint.core}, in both directions: the server decodes requests and encodes replies,
 * the client does the reverse, and both share this one codec.
 *
 * <p>Matrix layout: {@code data} is little-endian float32, row-major, exactly rows*cols*4 bytes.
 * Every decoding error is an {@link ImprintException} INVALID_ARGUMENT naming the field.
 */
public final class ProtoMapper {
    /** The wire form of a backend's accelerator. */
    public static dev.imprint.api.v1.DeviceInfo toProto(DeviceInfo d) {
        return dev.imprint.api.v1.DeviceInfo.newBuilder().setName(d.name()).setComputeCapability(d.computeCapability())
                .setDriverVersion(d.driverVersion()).setMemoryTotalBytes(d.totalBytes())
                .setMemoryFreeBytes(d.freeBytes()).build();
    }

    private ProtoMapper() {}

    // ---- Matrix -------------------------------------------------------------------------------

    /**
     * Encodes {@code values} (rows × cols, row-major) as a Matrix.
     *
     * @throws IllegalArgumentException if {@code values.length != rows * cols}
     */
    public static Matrix matrix(int rows, int cols, float[] values) {
        if ((long) rows * cols != values.length) {
            throw new IllegalArgumentException("matrix of " + rows + "x" + cols + " needs " + (long) rows * cols
                    + " values, got " + values.length);
        }
        return Matrix.newBuilder().setRows(rows).setCols(cols).setData(littleEndian(values, 0, values.length)).build();
    }

    /** {@code count} values from {@code offset} as little-endian float32 bytes, as Matrix and RowChunk carry them. */
    static ByteString littleEndian(float[] values, int offset, int count) {
        byte[] bytes = new byte[count * Float.BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(values, offset, count);
        // The array is ours alone and never written again, so wrapping it without a copy is safe.
        return UnsafeByteOperations.unsafeWrap(bytes);
    }

    /** Little-endian float32 bytes as floats; the caller has checked the length is a multiple of 4. */
    static float[] floats(ByteString data) {
        float[] values = new float[data.size() / Float.BYTES];
        data.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }

    /**
     * Decodes the values of {@code m}, rows × cols, row-major.
     *
     * @param field the request field to name in errors, e.g. "suspect"
     * @throws ImprintException INVALID_ARGUMENT if data is not exactly rows*cols*4 bytes
     */
    public static float[] matrixValues(String field, Matrix m) {
        long rows = Integer.toUnsignedLong(m.getRows());
        long cols = Integer.toUnsignedLong(m.getCols());
        ByteString data = m.getData();
        if (rows * cols * Float.BYTES != data.size()) {
            throw ImprintException.invalidArgument(
                    "%s.data has %d bytes; expected rows*cols*4 = %d*%d*4 = %d (little-endian float32, row-major)",
                    field, data.size(), rows, cols, rows * cols * Float.BYTES);
        }
        return floats(data);
    }

    // ---- Probe sets and references ------------------------------------------------------------

    /** The probe set a create request describes, validated; an unset epsilon means the default. */
    public static ProbeSet probeSet(CreateProbeSetRequest req) {
        return ProbeSet.fromRequest(req.getProbeSetId(), toInt("num_probes", req.getNumProbes()),
                toInt("dim", req.getDim()), kind(req.getKind()), req.getSmoothingEpsilon(), req.getDescription())
                .withTexts(req.hasTexts() ? fromProto(req.getTexts()) : null)
                .withSupports(req.hasSupports() ? fromProto(req.getSupports()) : null);
    }

    /** The create request that describes {@code set}. */
    public static CreateProbeSetRequest createRequest(ProbeSet set) {
        CreateProbeSetRequest.Builder b = CreateProbeSetRequest.newBuilder().setProbeSetId(set.id())
                .setNumProbes(set.numProbes()).setDim(set.dim()).setKind(toProto(set.kind()))
                .setSmoothingEpsilon(set.smoothingEpsilon()).setDescription(set.description());
        if (set.texts() != null) {
            b.setTexts(toProto(set.texts()));
        }
        if (set.supports() != null) {
            b.setSupports(toProto(set.supports()));
        }
        return b.build();
    }

    /**
     * A probe set's message; its texts only when {@code includeTexts} and its supports only when
     * {@code includeSupports}, else just whether it has them.
     */
    public static dev.imprint.api.v1.ProbeSet toProto(ProbeSet set, int referenceCount, boolean includeTexts,
                                                      boolean includeSupports) {
        dev.imprint.api.v1.ProbeSet.Builder b = dev.imprint.api.v1.ProbeSet.newBuilder().setProbeSetId(set.id())
                .setNumProbes(set.numProbes()).setDim(set.dim()).setKind(toProto(set.kind()))
                .setSmoothingEpsilon(set.smoothingEpsilon()).setDescription(set.description())
                .setReferenceCount(referenceCount).setHasTexts(set.texts() != null)
                .setHasSupports(set.supports() != null);
        if (includeTexts && set.texts() != null) {
            b.setTexts(toProto(set.texts()));
        }
        if (includeSupports && set.supports() != null) {
            b.setSupports(toProto(set.supports()));
        }
        return b.build();
    }

    public static dev.imprint.api.v1.ProbeSet toProto(ProbeSet set, int referenceCount) {
        return toProto(set, referenceCount, false, false);
    }

    /** The probe set of a message, with the texts and supports it includes (not those it only says it has). */
    public static ProbeSet fromProto(dev.imprint.api.v1.ProbeSet p) {
        return new ProbeSet(p.getProbeSetId(), toInt("num_probes", p.getNumProbes()), toInt("dim", p.getDim()),
                kind(p.getKind()), p.getSmoothingEpsilon(), p.getDescription(),
                p.hasTexts() ? fromProto(p.getTexts()) : null, p.hasSupports() ? fromProto(p.getSupports()) : null);
    }

    public static dev.imprint.api.v1.Supports toProto(Supports supports) {
        dev.imprint.api.v1.Supports.Builder b = dev.imprint.api.v1.Supports.newBuilder()
                .setVocabulary(dev.imprint.api.v1.VocabularyMode.valueOf(supports.mode().name()));
        for (List<String> keys : supports.keys()) {
            b.addProbes(ProbeSupport.newBuilder().addAllKeys(keys));
        }
        return b.build();
    }

    /** The supports of a request, validated; INVALID_ARGUMENT naming the probe at fault. */
    public static Supports fromProto(dev.imprint.api.v1.Supports s) {
        List<List<String>> keys = new ArrayList<>(s.getProbesCount());
        for (ProbeSupport p : s.getProbesList()) {
            keys.add(p.getKeysList());
        }
        return new Supports(vocabulary("supports.vocabulary", s.getVocabulary(), s.getVocabularyValue()), keys);
    }

    /**
     * Top-k rows as the domain's answers, in row order; a token without a logprob becomes a NaN one,
     * which the mapping refuses naming the probe.
     */
    public static List<ProbeAnswer> fromProto(TopKRows rows) {
        List<ProbeAnswer> out = new ArrayList<>(rows.getRowsCount());
        for (TopKRow row : rows.getRowsList()) {
            List<TopKEntry> entries = new ArrayList<>(row.getTokensCount());
            for (TopKToken t : row.getTokensList()) {
                entries.add(new TopKEntry(t.getToken(), t.hasLogprob() ? t.getLogprob() : Double.NaN));
            }
            // Out-of-range uint32 values stay negative here and the mapping reports them unsigned.
            out.add(new ProbeAnswer(row.getProbe(), entries));
        }
        return out;
    }

    /** Answers as top-k rows; a NaN logprob is left unset, as a missing one. */
    public static TopKRows toProto(List<ProbeAnswer> answers) {
        TopKRows.Builder b = TopKRows.newBuilder();
        for (ProbeAnswer a : answers) {
            TopKRow.Builder row = TopKRow.newBuilder().setProbe(a.probe());
            for (TopKEntry e : a.entries()) {
                TopKToken.Builder t = TopKToken.newBuilder().setToken(e.token());
                if (!Double.isNaN(e.logprob())) {
                    t.setLogprob(e.logprob());
                }
                row.addTokens(t);
            }
            b.addRows(row);
        }
        return b.build();
    }

    public static dev.imprint.api.v1.ProbeTexts toProto(ProbeTexts texts) {
        dev.imprint.api.v1.ProbeTexts.Builder b = dev.imprint.api.v1.ProbeTexts.newBuilder()
                .setTemperature(texts.temperature()).setMaxTokens(texts.maxTokens());
        if (texts.vocabulary() != null) {
            b.setVocabulary(dev.imprint.api.v1.VocabularyMode.valueOf(texts.vocabulary().name()));
        }
        for (Probe p : texts.probes()) {
            dev.imprint.api.v1.Probe.Builder probe = dev.imprint.api.v1.Probe.newBuilder();
            if (p.prompt() != null) {
                probe.setPrompt(p.prompt());
            }
            for (ChatMessage m : p.messages()) {
                probe.addMessages(dev.imprint.api.v1.ChatMessage.newBuilder().setRole(m.role())
                        .setContent(m.content()));
            }
            b.addProbes(probe);
        }
        return b.build();
    }

    /** The texts of a request, validated; INVALID_ARGUMENT naming the probe at fault. */
    public static ProbeTexts fromProto(dev.imprint.api.v1.ProbeTexts t) {
        List<Probe> probes = new ArrayList<>(t.getProbesCount());
        for (int i = 0; i < t.getProbesCount(); i++) {
            dev.imprint.api.v1.Probe p = t.getProbes(i);
            try {
                probes.add(new Probe(p.getPrompt().isEmpty() ? null : p.getPrompt(), p.getMessagesList().stream()
                        .map(m -> new ChatMessage(m.getRole(), m.getContent())).toList()));
            } catch (ImprintException e) {
                throw ImprintException.invalidArgument("texts.probes[%d]: %s", i, e.getMessage());
            }
        }
        return new ProbeTexts(probes, t.getTemperature(), t.getMaxTokens(),
                vocabulary("texts.vocabulary", t.getVocabulary(), t.getVocabularyValue()));
    }

    /** The domain mode of a wire mode; null for unspecified. */
    private static VocabularyMode vocabulary(String field, dev.imprint.api.v1.VocabularyMode mode, int wireValue) {
        return switch (mode) {
            case VOCABULARY_MODE_UNSPECIFIED -> null;
            case EXACT -> VocabularyMode.EXACT;
            case NORMALISED -> VocabularyMode.NORMALISED;
            case FIRST_CHARACTER -> VocabularyMode.FIRST_CHARACTER;
            case UNRECOGNIZED -> throw ImprintException.invalidArgument("%s=%d is not a vocabulary mode", field,
                    wireValue);
        };
    }

    public static dev.imprint.api.v1.Reference toProto(ReferenceMeta meta) {
        return dev.imprint.api.v1.Reference.newBuilder().setProbeSetId(meta.probeSetId()).setModelId(meta.modelId())
                .putAllLabels(meta.labels()).setNumProbes(meta.numProbes()).setDim(meta.dim())
                .setCreatedUnixMs(meta.createdUnixMs()).setRole(toProto(meta.role())).build();
    }

    public static ReferenceMeta fromProto(dev.imprint.api.v1.Reference r) {
        return new ReferenceMeta(r.getProbeSetId(), r.getModelId(), r.getLabelsMap(),
                toInt("num_probes", r.getNumProbes()), toInt("dim", r.getDim()), r.getCreatedUnixMs(),
                role("role", r.getRoleValue(), ReferenceRole.PROTECTED));
    }

    /**
     * The values of a row chunk as a float array, from whichever encoding it carries.
     *
     * @throws ImprintException INVALID_ARGUMENT if it carries both, or bytes that are not whole floats
     */
    public static float[] chunkValues(RowChunk chunk) {
        ByteString data = chunk.getData();
        if (!data.isEmpty()) {
            if (chunk.getValuesCount() > 0) {
                throw ImprintException.invalidArgument("rows at first_row=%d set both values and data; send one",
                        chunk.getFirstRow());
            }
            if (data.size() % Float.BYTES != 0) {
                throw ImprintException.invalidArgument("rows.data at first_row=%d has %d bytes, not a whole number "
                        + "of little-endian float32 values", chunk.getFirstRow(), data.size());
            }
            return floats(data);
        }
        float[] values = new float[chunk.getValuesCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = chunk.getValues(i);
        }
        return values;
    }

    /**
     * A row chunk holding {@code count} values of {@code rows} from {@code offset}, starting at
     * {@code firstRow}, as little-endian bytes.
     */
    public static RowChunk rowChunk(int firstRow, float[] rows, int offset, int count) {
        return RowChunk.newBuilder().setFirstRow(firstRow).setData(littleEndian(rows, offset, count)).build();
    }

    /** {@link #rowChunk} in the packed-float encoding, which servers before row bytes also read. */
    public static RowChunk packedRowChunk(int firstRow, float[] rows, int offset, int count) {
        RowChunk.Builder b = RowChunk.newBuilder().setFirstRow(firstRow);
        for (int i = offset; i < offset + count; i++) {
            b.addValues(rows[i]);
        }
        return b.build();
    }

    // ---- Scoring ------------------------------------------------------------------------------

    /**
     * The validated suspect of a score request on {@code set}: its dense rows, or its top-k answers
     * mapped onto the set's supports ({@link SupportedRows}).
     */
    public static Suspect suspect(ProbeSet set, ScoreRequest req) {
        if (req.hasSuspectTopK()) {
            if (req.hasSuspect()) {
                throw ImprintException.invalidArgument("both suspect and suspect_top_k are set; send one");
            }
            if (req.getProbeIndicesCount() > 0) {
                throw ImprintException.invalidArgument("probe_indices has %d entries but suspect_top_k is set; its "
                        + "rows name their probes, so leave probe_indices empty", req.getProbeIndicesCount());
            }
            return SupportedRows.suspect(set, fromProto(req.getSuspectTopK()), "suspect_top_k");
        }
        float[] values = matrixValues("suspect", req.getSuspect());
        int[] indices = new int[req.getProbeIndicesCount()];
        for (int i = 0; i < indices.length; i++) {
            // Out-of-range uint32 values stay negative here and Suspect.of reports them unsigned.
            indices[i] = req.getProbeIndices(i);
        }
        return Suspect.of(set, toInt("suspect.rows", req.getSuspect().getRows()),
                toInt("suspect.cols", req.getSuspect().getCols()), values, indices);
    }

    /** The resolved query of a score request on {@code set}: defaults filled in, metrics checked. */
    public static ScoreQuery query(ProbeSet set, ScoreRequest req) {
        EnumSet<Metric> metrics = EnumSet.noneOf(Metric.class);
        for (int i = 0; i < req.getMetricsCount(); i++) {
            metrics.add(metric("metrics[" + i + "]", req.getMetricsValue(i)));
        }
        Metric orderBy = req.getOrderByValue() == dev.imprint.api.v1.Metric.METRIC_UNSPECIFIED_VALUE
                ? null : metric("order_by", req.getOrderByValue());
        ScoreQuery query = ScoreQuery.resolve(set, metrics, orderBy, toInt("top_k", req.getTopK()),
                req.getModelIdsList(), req.getLabelSelectorMap(), req.getIncludePerProbe());
        if (req.getAttribution()) {
            return query.withAttribution(req.getAlpha() == 0 ? ScoreQuery.DEFAULT_ALPHA : req.getAlpha());
        }
        if (req.getAlpha() != 0) {
            throw ImprintException.invalidArgument("alpha=%s but attribution is not set; alpha is the verdict's "
                    + "significance level and needs attribution=true", req.getAlpha());
        }
        return query;
    }

    /**
     * A score request for {@code suspect} (rows × dim, row-major) with unresolved options.
     *
     * @param probeIndices the probes the rows answer, in row order; empty for all in order
     * @param metrics      empty for the kind's defaults
     * @param orderBy      null for the kind's default
     * @param alpha        the verdict's significance level; NaN for no attribution, 0 for the default
     */
    public static ScoreRequest scoreRequest(String requestId, String probeSetId, int rows, int dim, float[] suspect,
                                            int[] probeIndices, Set<Metric> metrics, Metric orderBy, int topK,
                                            List<String> modelIds, Map<String, String> labelSelector,
                                            boolean includePerProbe, double alpha) {
        ScoreRequest.Builder b = ScoreRequest.newBuilder().setRequestId(requestId).setProbeSetId(probeSetId)
                .setSuspect(matrix(rows, dim, suspect)).setTopK(topK).addAllModelIds(modelIds)
                .putAllLabelSelector(labelSelector).setIncludePerProbe(includePerProbe);
        if (!Double.isNaN(alpha)) {
            b.setAttribution(true).setAlpha(alpha);
        }
        for (int p : probeIndices) {
            b.addProbeIndices(p);
        }
        for (Metric m : metrics) {
            b.addMetrics(toProto(m));
        }
        if (orderBy != null) {
            b.setOrderBy(toProto(orderBy));
        }
        return b.build();
    }

    public static ScoreResponse toProto(String requestId, ScoreResult result) {
        ScoreResponse.Builder b = ScoreResponse.newBuilder().setRequestId(requestId)
                .setProbeSetId(result.probeSetId()).setProbesUsed(result.probesUsed())
                .setReferencesScored(result.referencesScored()).setBackend(result.backend())
                .setOrderBy(toProto(result.orderBy()));
        for (Match m : result.matches()) {
            b.addMatches(toProto(m));
        }
        if (result.attribution() != null) {
            b.setAttribution(toProto(result.attribution()));
        }
        return b.build();
    }

    public static ScoreResult fromProto(ScoreResponse r) {
        List<Match> matches = new ArrayList<>(r.getMatchesCount());
        for (dev.imprint.api.v1.Match m : r.getMatchesList()) {
            matches.add(fromProto(m));
        }
        return new ScoreResult(r.getProbeSetId(), Collections.unmodifiableList(matches), r.getProbesUsed(),
                r.getReferencesScored(), r.getBackend(), metric("order_by", r.getOrderByValue()),
                r.hasAttribution() ? fromProto(r.getAttribution()) : null);
    }

    private static dev.imprint.api.v1.Attribution toProto(Attribution a) {
        dev.imprint.api.v1.Attribution.Builder b = dev.imprint.api.v1.Attribution.newBuilder()
                .setVerdict(dev.imprint.api.v1.Verdict.valueOf(a.verdict().name())).setModelId(a.modelId())
                .setFamily(a.family()).setPValue(a.pValue()).setAlpha(a.alpha()).setReason(a.reason())
                .setEffectSize(a.effectSize()).setProbesUsed(a.probesUsed()).setStatistic(a.statistic());
        for (Attribution.Evidence e : a.evidence()) {
            Evidence.Builder eb = Evidence.newBuilder().setModelId(e.modelId()).setControlId(e.controlId())
                    .setPValue(e.pValue());
            for (int i = 0; i < e.probes().length; i++) {
                eb.addProbes(e.probes()[i]).addContributions(e.contributions()[i]);
            }
            b.addEvidence(eb);
        }
        return b.build();
    }

    private static Attribution fromProto(dev.imprint.api.v1.Attribution a) {
        dev.imprint.api.v1.Verdict wire = a.getVerdict();
        if (wire == dev.imprint.api.v1.Verdict.VERDICT_UNSPECIFIED || wire == dev.imprint.api.v1.Verdict.UNRECOGNIZED) {
            throw ImprintException.invalidArgument("attribution.verdict=%d is not a verdict; expected one of %s",
                    a.getVerdictValue(), EnumSet.allOf(Verdict.class));
        }
        List<Attribution.Evidence> evidence = new ArrayList<>(a.getEvidenceCount());
        for (Evidence e : a.getEvidenceList()) {
            evidence.add(new Attribution.Evidence(e.getModelId(), e.getControlId(),
                    e.getProbesList().stream().mapToInt(Integer::intValue).toArray(),
                    e.getContributionsList().stream().mapToDouble(Double::doubleValue).toArray(), e.getPValue()));
        }
        return new Attribution(Verdict.valueOf(wire.name()), a.getModelId(), a.getFamily(), a.getPValue(),
                a.getAlpha(), a.getReason(), a.getEffectSize(), a.getProbesUsed(), a.getStatistic(), evidence);
    }

    private static dev.imprint.api.v1.Match toProto(Match m) {
        dev.imprint.api.v1.Match.Builder b = dev.imprint.api.v1.Match.newBuilder().setModelId(m.modelId())
                .putAllLabels(m.labels()).setRank(m.rank());
        // Only computed metrics are set, so presence tells the client what was computed.
        m.values().forEach((metric, value) -> {
            switch (metric) {
                case COSINE -> b.setCosine(value);
                case KL_REF_SUSPECT -> b.setKlRefSuspect(value);
                case KL_SUSPECT_REF -> b.setKlSuspectRef(value);
                case JS -> b.setJs(value);
                case TOP1_AGREEMENT -> b.setTop1Agreement(value);
            }
        });
        if (!m.perProbe().isEmpty()) {
            PerProbeValues.Builder pp = PerProbeValues.newBuilder();
            m.perProbe().forEach((metric, values) -> {
                for (double v : values) {
                    switch (metric) {
                        case COSINE -> pp.addCosine(v);
                        case KL_REF_SUSPECT -> pp.addKlRefSuspect(v);
                        case KL_SUSPECT_REF -> pp.addKlSuspectRef(v);
                        case JS -> pp.addJs(v);
                        case TOP1_AGREEMENT -> pp.addTop1Agreement(v);
                    }
                }
            });
            b.setPerProbe(pp);
        }
        if (!Double.isNaN(m.pValue())) {
            b.setPValue(m.pValue());
        }
        return b.build();
    }

    private static Match fromProto(dev.imprint.api.v1.Match m) {
        Map<Metric, Double> values = new EnumMap<>(Metric.class);
        if (m.hasCosine()) {
            values.put(Metric.COSINE, m.getCosine());
        }
        if (m.hasKlRefSuspect()) {
            values.put(Metric.KL_REF_SUSPECT, m.getKlRefSuspect());
        }
        if (m.hasKlSuspectRef()) {
            values.put(Metric.KL_SUSPECT_REF, m.getKlSuspectRef());
        }
        if (m.hasJs()) {
            values.put(Metric.JS, m.getJs());
        }
        if (m.hasTop1Agreement()) {
            values.put(Metric.TOP1_AGREEMENT, m.getTop1Agreement());
        }
        Map<Metric, double[]> perProbe = new EnumMap<>(Metric.class);
        if (m.hasPerProbe()) {
            PerProbeValues pp = m.getPerProbe();
            putIfPresent(perProbe, Metric.COSINE, pp.getCosineList());
            putIfPresent(perProbe, Metric.KL_REF_SUSPECT, pp.getKlRefSuspectList());
            putIfPresent(perProbe, Metric.KL_SUSPECT_REF, pp.getKlSuspectRefList());
            putIfPresent(perProbe, Metric.JS, pp.getJsList());
            putIfPresent(perProbe, Metric.TOP1_AGREEMENT, pp.getTop1AgreementList());
        }
        return new Match(m.getModelId(), m.getLabelsMap(), m.getRank(), Collections.unmodifiableMap(values),
                Collections.unmodifiableMap(perProbe), m.hasPValue() ? m.getPValue() : Double.NaN);
    }

    private static void putIfPresent(Map<Metric, double[]> into, Metric metric, List<Double> values) {
        if (!values.isEmpty()) {
            into.put(metric, values.stream().mapToDouble(Double::doubleValue).toArray());
        }
    }

    // ---- Enums and integers -------------------------------------------------------------------

    /** The domain kind of a wire kind; null for unspecified (which ProbeSet rejects by name). */
    public static ProbeSetKind kind(dev.imprint.api.v1.ProbeSetKind kind) {
        return switch (kind) {
            case EMBEDDING -> ProbeSetKind.EMBEDDING;
            case DISTRIBUTION -> ProbeSetKind.DISTRIBUTION;
            case PROBE_SET_KIND_UNSPECIFIED -> null;
            case UNRECOGNIZED -> throw ImprintException.invalidArgument(
                    "kind has an unknown value; expected EMBEDDING or DISTRIBUTION");
        };
    }

    public static dev.imprint.api.v1.ProbeSetKind toProto(ProbeSetKind kind) {
        return switch (kind) {
            case EMBEDDING -> dev.imprint.api.v1.ProbeSetKind.EMBEDDING;
            case DISTRIBUTION -> dev.imprint.api.v1.ProbeSetKind.DISTRIBUTION;
        };
    }

    public static dev.imprint.api.v1.ReferenceRole toProto(ReferenceRole role) {
        return dev.imprint.api.v1.ReferenceRole.valueOf(role.name());
    }

    /**
     * The domain role of a wire role.
     *
     * @param unset what REFERENCE_ROLE_UNSPECIFIED means where {@code field} is read; null for "any"
     * @throws ImprintException INVALID_ARGUMENT naming {@code field} for a value no role has
     */
    public static ReferenceRole role(String field, int wireValue, ReferenceRole unset) {
        dev.imprint.api.v1.ReferenceRole r = dev.imprint.api.v1.ReferenceRole.forNumber(wireValue);
        if (r == null) {
            throw ImprintException.invalidArgument("%s=%d is not a role; expected PROTECTED or BACKGROUND", field,
                    wireValue);
        }
        return r == dev.imprint.api.v1.ReferenceRole.REFERENCE_ROLE_UNSPECIFIED ? unset : ReferenceRole.valueOf(r.name());
    }

    public static dev.imprint.api.v1.Metric toProto(Metric metric) {
        return dev.imprint.api.v1.Metric.valueOf(metric.name());
    }

    private static Metric metric(String field, int wireValue) {
        dev.imprint.api.v1.Metric m = dev.imprint.api.v1.Metric.forNumber(wireValue);
        if (m == null || m == dev.imprint.api.v1.Metric.METRIC_UNSPECIFIED) {
            throw ImprintException.invalidArgument("%s=%d is not a metric; expected one of %s",
                    field, wireValue, EnumSet.allOf(Metric.class));
        }
        return Metric.valueOf(m.name());
    }

    /** A uint32 field as an int, refusing values above Integer.MAX_VALUE rather than wrapping them. */
    private static int toInt(String field, int uint32) {
        if (uint32 < 0) {
            throw ImprintException.invalidArgument("%s=%d is too large; at most %d is supported",
                    field, Integer.toUnsignedLong(uint32), Integer.MAX_VALUE);
        }
        return uint32;
    }
}
