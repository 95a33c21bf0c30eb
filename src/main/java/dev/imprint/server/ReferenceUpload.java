package dev.imprint.server;

import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.Reference;
import dev.imprint.api.v1.ReferenceHeader;
import dev.imprint.api.v1.RowChunk;
import dev.imprint.core.Ids;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Labels;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.RowAssembler;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.topk.SupportedRows;
import io.grpc.stub.StreamObserver;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One PutReference call: the header, then row chunks gathered in a {@link RowAssembler} or one
 * top-k message mapped onto the set's supports ({@link SupportedRows}), committed through
 * {@link ImprintEngine#putReference} only when the client half-closes.
 *
 * <p>Until that commit nothing exists outside this object, so a bad chunk, a client error or a
 * cancellation simply drops it: nothing is persisted and nothing becomes visible. Each chunk is
 * validated as it arrives, so a bad upload fails at its first bad row instead of after the last.
 */
final class ReferenceUpload implements StreamObserver<PutReferenceRequest> {
    private static final Logger LOG = Logger.getLogger(ReferenceUpload.class.getName());
    private static final String METHOD = "PutReference";

    private final ImprintEngine engine;
    private final Admission admission;
    private final StreamObserver<Reference> out;
    /** This upload's share of the upload limits, from its header until it ends. */
    private Admission.Ticket admitted;
    private ReferenceHeader header;
    private ReferenceRole role;
    private ProbeSet set;
    private RowAssembler assembler;
    /** The rows of a top_k message, once one has come; then no row chunk may follow. */
    private float[] topKRows;
    private boolean rowsArrived;
    /** Set once the call has been answered or abandoned; later messages are ignored. */
    private boolean finished;

    ReferenceUpload(ImprintEngine engine, Admission admission, StreamObserver<Reference> out) {
        this.engine = engine;
        this.admission = admission;
        this.out = out;
    }

    @Override
    public void onNext(PutReferenceRequest req) {
        if (finished) {
            return;
        }
        try {
            switch (req.getPartCase()) {
                case HEADER -> begin(req.getHeader());
                case ROWS -> accept(req.getRows());
                case TOP_K -> accept(req.getTopK());
                case PART_NOT_SET -> throw ImprintException.invalidArgument(
                        "PutReferenceRequest has neither header nor rows (nor top_k) set");
            }
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    @Override
    public void onError(Throwable t) {
        // The client cancelled or failed: drop the rows gathered so far, persist nothing.
        if (!finished && LOG.isLoggable(Level.FINE)) {
            LOG.fine(String.format("upload of %s abandoned by the client: %s", describe(), t));
        }
        drop();
    }

    @Override
    public void onCompleted() {
        if (finished) {
            return;
        }
        ReferenceMeta meta;
        try {
            if (header == null) {
                throw ImprintException.invalidArgument("the stream ended without a header; "
                        + "the first message must be the header");
            }
            meta = engine.putReference(header.getProbeSetId(), header.getModelId(), header.getLabelsMap(), role,
                    topKRows != null ? topKRows : assembler.finish(), header.getReplace());
        } catch (RuntimeException e) {
            fail(e);
            return;
        }
        drop();
        out.onNext(ProtoMapper.toProto(meta));
        out.onCompleted();
    }

    private void begin(ReferenceHeader h) {
        if (header != null) {
            throw ImprintException.invalidArgument("header was sent twice; only the first message may be a header");
        }
        ProbeSet probeSet = engine.getProbeSet(h.getProbeSetId());
        Ids.requireValid("header.model_id", h.getModelId());
        Labels.copyOf("header.labels", h.getLabelsMap());
        ReferenceRole parsedRole = ProtoMapper.role("header.role", h.getRoleValue(), ReferenceRole.PROTECTED);
        // Checked again at commit; refusing here spares the client uploading rows for nothing.
        if (!h.getReplace() && exists(h.getProbeSetId(), h.getModelId())) {
            throw ImprintException.alreadyExists("reference %s already exists in probe set %s; set replace to overwrite it",
                    h.getModelId(), h.getProbeSetId());
        }
        // Counted before the P x D rows are allocated, so a flood of uploads is refused rather than run out of heap.
        admitted = admission.upload((long) probeSet.elements() * Float.BYTES);
        header = h;
        role = parsedRole;
        set = probeSet;
        assembler = new RowAssembler(probeSet);
    }

    private void accept(RowChunk chunk) {
        if (header == null) {
            throw ImprintException.invalidArgument("rows arrived before the header; the first message must be the header");
        }
        if (chunk.getFirstRow() < 0) {
            throw ImprintException.invalidArgument("rows.first_row=%d is out of range",
                    Integer.toUnsignedLong(chunk.getFirstRow()));
        }
        if (topKRows != null) {
            throw ImprintException.invalidArgument("rows arrived after top_k; send the reference as row chunks or as "
                    + "one top_k message, not both");
        }
        rowsArrived = true;
        assembler.accept(chunk.getFirstRow(), ProtoMapper.chunkValues(chunk));
    }

    private void accept(dev.imprint.api.v1.TopKRows topK) {
        if (header == null) {
            throw ImprintException.invalidArgument("top_k arrived before the header; the first message must be the "
                    + "header");
        }
        if (topKRows != null || rowsArrived) {
            throw ImprintException.invalidArgument("top_k arrived after %s; send the reference as row chunks or as "
                    + "one top_k message answering every probe", topKRows != null ? "another top_k" : "rows");
        }
        topKRows = SupportedRows.reference(set, ProtoMapper.fromProto(topK), "top_k");
    }

    private boolean exists(String probeSetId, String modelId) {
        try {
            engine.getReference(probeSetId, modelId);
            return true;
        } catch (ImprintException e) {
            if (e.code() == ImprintException.Code.NOT_FOUND) {
                return false;
            }
            throw e;
        }
    }

    private void fail(RuntimeException e) {
        drop();
        out.onError(StatusTranslator.toStatus(METHOD, e));
    }

    private void drop() {
        finished = true;
        assembler = null;
        topKRows = null;
        if (admitted != null) {
            admitted.close();
        }
    }

    private String describe() {
        return header == null ? "(no header yet)" : header.getProbeSetId() + "/" + header.getModelId();
    }
}
