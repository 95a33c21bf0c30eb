package dev.imprint.server;

import com.google.protobuf.ByteString;
import dev.imprint.api.v1.Matrix;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.core.ImprintException;
import java.util.ArrayList;
import java.util.List;

/**
 * A suspect sent in parts on ScoreStream ({@code continued}), put back together: the parts'
 * rows and probe indices concatenated into one request, as if it had been sent whole.
 */
final class SuspectChunks {
    /** The parts received so far, the first one's options the reference. */
    private final List<ScoreRequest> parts = new ArrayList<>();
    private long bytes;

    boolean isEmpty() {
        return parts.isEmpty();
    }

    /**
     * Adds a part whose {@code continued} is set.
     *
     * @param maxBytes the most suspect bytes one assembled suspect may hold
     * @throws ImprintException INVALID_ARGUMENT if it does not continue the parts before it, or the
     *                          suspect grows past {@code maxBytes}
     */
    void add(ScoreRequest part, long maxBytes) {
        refuseTopK(part);
        check(part);
        bytes += part.getSuspect().getData().size();
        if (bytes > maxBytes) {
            throw ImprintException.invalidArgument("request_id=%s: a suspect sent in parts holds more than %d bytes, "
                    + "more than any fingerprint of the largest probe set", part.getRequestId(), maxBytes);
        }
        parts.add(part);
    }

    /**
     * The whole suspect once {@code last} (continued unset) arrives; the parts are then cleared.
     *
     * @throws ImprintException INVALID_ARGUMENT if {@code last} does not continue the parts
     */
    ScoreRequest finish(ScoreRequest last) {
        refuseTopK(last);
        check(last);
        parts.add(last);
        try {
            ScoreRequest first = parts.get(0);
            ByteString.Output data = ByteString.newOutput();
            long rows = 0;
            List<Integer> indices = new ArrayList<>();
            boolean anyIndices = false;
            boolean allIndices = true;
            for (ScoreRequest p : parts) {
                Matrix m = p.getSuspect();
                if (m.getCols() != first.getSuspect().getCols()) {
                    throw ImprintException.invalidArgument("request_id=%s: its parts have suspect.cols %d and %d",
                            p.getRequestId(), first.getSuspect().getCols(), m.getCols());
                }
                m.getData().writeTo(data);
                rows += Integer.toUnsignedLong(m.getRows());
                anyIndices |= p.getProbeIndicesCount() > 0;
                allIndices &= p.getProbeIndicesCount() > 0;
                indices.addAll(p.getProbeIndicesList());
            }
            if (anyIndices && !allIndices) {
                throw ImprintException.invalidArgument("request_id=%s: some of its parts give probe_indices and some "
                        + "do not; give them with every part or with none", first.getRequestId());
            }
            if (rows > 0xFFFFFFFFL) {
                throw ImprintException.invalidArgument("request_id=%s: %d rows in its parts", first.getRequestId(), rows);
            }
            return last.toBuilder().setContinued(false)
                    .setSuspect(Matrix.newBuilder().setRows((int) rows).setCols(first.getSuspect().getCols())
                            .setData(data.toByteString()))
                    .clearProbeIndices().addAllProbeIndices(indices).build();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("writing to memory failed", e);
        } finally {
            parts.clear();
            bytes = 0;
        }
    }

    /** Top-k answers are small enough for one message, so they never come in parts. */
    private void refuseTopK(ScoreRequest part) {
        if (part.hasSuspectTopK()) {
            parts.clear();
            bytes = 0;
            throw ImprintException.invalidArgument("request_id=%s: suspect_top_k is set on a suspect sent in parts "
                    + "(continued); send top-k answers whole in one message", part.getRequestId());
        }
    }

    /** That {@code part} continues the parts so far: same request_id, probe set and options. */
    private void check(ScoreRequest part) {
        if (parts.isEmpty()) {
            return;
        }
        ScoreRequest first = parts.get(0);
        if (!part.getRequestId().equals(first.getRequestId())) {
            parts.clear();
            throw ImprintException.invalidArgument("request_id=%s arrived while the parts of request_id=%s were "
                    + "unfinished; send a suspect's parts together and end them with continued unset",
                    part.getRequestId(), first.getRequestId());
        }
        if (!options(part).equals(options(first))) {
            parts.clear();
            throw ImprintException.invalidArgument("request_id=%s: its parts differ in probe set or options; every "
                    + "part must repeat the first's", part.getRequestId());
        }
    }

    /** Everything but the suspect's rows and probe indices. */
    private static ScoreRequest options(ScoreRequest r) {
        return r.toBuilder().clearSuspect().clearProbeIndices().clearContinued().build();
    }
}
