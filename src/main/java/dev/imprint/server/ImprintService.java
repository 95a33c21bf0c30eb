package dev.imprint.server;

import dev.imprint.api.v1.CreateProbeSetRequest;
import dev.imprint.api.v1.DeleteProbeSetRequest;
import dev.imprint.api.v1.DeleteProbeSetResponse;
import dev.imprint.api.v1.DeleteReferenceRequest;
import dev.imprint.api.v1.DeleteReferenceResponse;
import dev.imprint.api.v1.GetProbeSetRequest;
import dev.imprint.api.v1.GetReferenceRequest;
import dev.imprint.api.v1.GetServerInfoRequest;
import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.api.v1.ListProbeSetsRequest;
import dev.imprint.api.v1.ListProbeSetsResponse;
import dev.imprint.api.v1.ListReferencesRequest;
import dev.imprint.api.v1.ListReferencesResponse;
import dev.imprint.api.v1.ProbeSet;
import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.Reference;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ScoreResponse;
import dev.imprint.api.v1.ServerInfo;
import dev.imprint.core.Deadline;
import dev.imprint.core.Ids;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.engine.EngineInfo;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.TenantEngines;
import io.grpc.Context;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The {@code imprint.v1.Imprint} service: decodes each request with {@link ProtoMapper}, calls
 * the caller's tenant's {@link ImprintEngine} ({@link CallerTenant}, looked up once per call), and
 * encodes the answer. Every failure goes through {@link StatusTranslator}; this class holds no math
 * and touches no files.
 */
public final class ImprintService extends ImprintGrpc.ImprintImplBase {
    private final TenantEngines engines;
    private final String version;
    private final int maxInboundMessageBytes;
    private final Executor streamWorkers;
    private final Admission admission;

    /** One engine serving the default tenant only, with default limits. */
    public ImprintService(ImprintEngine engine, String version, int maxInboundMessageBytes, Executor streamWorkers) {
        this(TenantEngines.single(engine), version, maxInboundMessageBytes, streamWorkers, ResourceLimits.defaults());
    }

    /**
     * @param engines                the engine of each tenant
     * @param version                reported by GetServerInfo
     * @param maxInboundMessageBytes the server's message size limit, reported by GetServerInfo
     * @param streamWorkers          runs the scoring of ScoreStream batches off the gRPC threads
     * @param limits                 uploads, queued suspects and probe-set size it takes on
     *                               (concurrent calls are {@link CallLimit}'s)
     */
    public ImprintService(TenantEngines engines, String version, int maxInboundMessageBytes, Executor streamWorkers,
                          ResourceLimits limits) {
        this.engines = engines;
        this.version = version;
        this.maxInboundMessageBytes = maxInboundMessageBytes;
        this.streamWorkers = streamWorkers;
        this.admission = new Admission(limits);
    }

    @Override
    public void createProbeSet(CreateProbeSetRequest req, StreamObserver<ProbeSet> out) {
        unary("CreateProbeSet", out, () -> {
            dev.imprint.core.ProbeSet requested = ProtoMapper.probeSet(req);
            admission.checkProbeSet(requested);
            ImprintEngine engine = engine();
            dev.imprint.core.ProbeSet set = engine.createProbeSet(requested);
            return ProtoMapper.toProto(set, engine.referenceCount(set.id()));
        });
    }

    @Override
    public void getProbeSet(GetProbeSetRequest req, StreamObserver<ProbeSet> out) {
        unary("GetProbeSet", out, () -> {
            ImprintEngine engine = engine();
            return ProtoMapper.toProto(engine.getProbeSet(req.getProbeSetId()),
                    engine.referenceCount(req.getProbeSetId()), req.getIncludeTexts(), req.getIncludeSupports());
        });
    }

    @Override
    public void listProbeSets(ListProbeSetsRequest req, StreamObserver<ListProbeSetsResponse> out) {
        unary("ListProbeSets", out, () -> {
            ListProbeSetsResponse.Builder b = ListProbeSetsResponse.newBuilder();
            ImprintEngine engine = engine();
            for (dev.imprint.core.ProbeSet set : engine.listProbeSets()) {
                b.addProbeSets(ProtoMapper.toProto(set, engine.referenceCount(set.id())));
            }
            return b.build();
        });
    }

    @Override
    public void deleteProbeSet(DeleteProbeSetRequest req, StreamObserver<DeleteProbeSetResponse> out) {
        unary("DeleteProbeSet", out, () -> DeleteProbeSetResponse.newBuilder()
                .setReferencesDeleted(engine().deleteProbeSet(req.getProbeSetId(), req.getForce())).build());
    }

    @Override
    public StreamObserver<PutReferenceRequest> putReference(StreamObserver<Reference> out) {
        ImprintEngine engine;
        try {
            engine = engine();
        } catch (RuntimeException e) {
            return refused("PutReference", out, e);
        }
        return new ReferenceUpload(engine, admission, out);
    }

    @Override
    public void getReference(GetReferenceRequest req, StreamObserver<Reference> out) {
        unary("GetReference", out, () -> ProtoMapper.toProto(engine().getReference(req.getProbeSetId(),
                Ids.requireValid("model_id", req.getModelId()))));
    }

    @Override
    public void listReferences(ListReferencesRequest req, StreamObserver<ListReferencesResponse> out) {
        unary("ListReferences", out, () -> {
            ListReferencesResponse.Builder b = ListReferencesResponse.newBuilder();
            ReferenceRole role = ProtoMapper.role("role", req.getRoleValue(), null);
            for (ReferenceMeta meta : engine().listReferences(req.getProbeSetId(), req.getLabelSelectorMap())) {
                if (role == null || meta.role() == role) {
                    b.addReferences(ProtoMapper.toProto(meta));
                }
            }
            return b.build();
        });
    }

    @Override
    public void deleteReference(DeleteReferenceRequest req, StreamObserver<DeleteReferenceResponse> out) {
        unary("DeleteReference", out, () -> {
            engine().deleteReference(req.getProbeSetId(), Ids.requireValid("model_id", req.getModelId()));
            return DeleteReferenceResponse.getDefaultInstance();
        });
    }

    @Override
    public void score(ScoreRequest req, StreamObserver<ScoreResponse> out) {
        unary("Score", out, () -> score(req));
    }

    @Override
    public StreamObserver<ScoreRequest> scoreStream(StreamObserver<ScoreResponse> out) {
        Deadline deadline = callDeadline();
        ImprintEngine engine;
        try {
            engine = engine();
        } catch (RuntimeException e) {
            return refused("ScoreStream", out, e);
        }
        return ScoreStreamCall.start((ServerCallStreamObserver<ScoreResponse>) out,
                (requests, emit) -> scoreBatch(engine, requests, emit, deadline), streamWorkers,
                dev.imprint.core.ProbeSet.MAX_ELEMENTS * Float.BYTES);
    }

    @Override
    public void getServerInfo(GetServerInfoRequest req, StreamObserver<ServerInfo> out) {
        unary("GetServerInfo", out, () -> {
            EngineInfo info = engine().info();
            ServerInfo.Builder reply = ServerInfo.newBuilder();
            if (info.device() != null) {
                reply.setDevice(ProtoMapper.toProto(info.device()));
            }
            return reply.setVersion(version).setBackend(info.backend())
                    .setBackendReason(info.backendReason()).setReferenceBytes(info.referenceBytes())
                    .setProbeSetCount(info.probeSetCount()).setReferenceCount(info.referenceCount())
                    .setDataDir(info.storeLocation()).setMaxInboundMessageBytes(maxInboundMessageBytes)
                    .addAllQuarantinedFiles(info.quarantined()).setScoringBatches(info.scoringBatches())
                    .setScoredSuspects(info.scoredSuspects()).setBatchMaxSuspects(info.batching().maxSuspects())
                    .setBatchMaxQueueDelayUs(info.batching().maxQueueDelayMicros())
                    .setScoringQueued(info.scoringQueued()).build();
        });
    }

    /**
     * Scores {@code requests} in order. Each run of consecutive requests on the same probe set with
     * the same options (everything but suspect, probe_indices and request_id) is one engine call,
     * which batches suspects that answered the same probes and may share a batch with concurrent
     * Score calls; {@code engine} is the caller's tenant's and {@code deadline} the stream's.
     */
    private void scoreBatch(ImprintEngine engine, List<ScoreRequest> requests, Consumer<ScoreResponse> emit,
                            Deadline deadline) {
        int start = 0;
        while (start < requests.size()) {
            ScoreRequest options = optionsOf(requests.get(start));
            int end = start + 1;
            while (end < requests.size() && optionsOf(requests.get(end)).equals(options)) {
                end++;
            }
            dev.imprint.core.ProbeSet set;
            ScoreQuery query;
            try {
                set = engine.getProbeSet(options.getProbeSetId());
                query = ProtoMapper.query(set, options);
            } catch (RuntimeException e) {
                throw new ScoreStreamCall.FailedRequest(start, e);
            }
            List<Suspect> suspects = new ArrayList<>(end - start);
            RuntimeException bad = null;
            for (int i = start; i < end && bad == null; i++) {
                try {
                    suspects.add(ProtoMapper.suspect(set, requests.get(i)));
                } catch (RuntimeException e) {
                    bad = e;
                }
            }
            // The requests before a bad one are still answered, as the stream's error contract promises.
            if (!suspects.isEmpty()) {
                List<ScoreResult> results;
                try (Admission.Ticket admitted = admission.suspects(suspects.size())) {
                    results = engine.scoreAll(set, suspects, query, deadline);
                } catch (RuntimeException e) {
                    throw new ScoreStreamCall.FailedRequest(start, e);
                }
                for (int i = 0; i < results.size(); i++) {
                    emit.accept(ProtoMapper.toProto(requests.get(start + i).getRequestId(), results.get(i)));
                }
            }
            if (bad != null) {
                throw new ScoreStreamCall.FailedRequest(start + suspects.size(), bad);
            }
            start = end;
        }
    }

    /** A score request without what varies from suspect to suspect. */
    private static ScoreRequest optionsOf(ScoreRequest req) {
        return req.toBuilder().clearSuspect().clearSuspectTopK().clearProbeIndices().clearRequestId().build();
    }

    private ScoreResponse score(ScoreRequest req) {
        if (req.getContinued()) {
            throw dev.imprint.core.ImprintException.invalidArgument("continued is for suspects sent in parts on ScoreStream; a Score "
                    + "request holds its whole suspect");
        }
        ImprintEngine engine = engine();
        dev.imprint.core.ProbeSet set = engine.getProbeSet(req.getProbeSetId());
        // Options before the suspect, in the order scoreBatch checks them, so both report the same error.
        ScoreQuery query = ProtoMapper.query(set, req);
        Suspect suspect = ProtoMapper.suspect(set, req);
        try (Admission.Ticket admitted = admission.suspects(1)) {
            return ProtoMapper.toProto(req.getRequestId(), engine.score(set, suspect, query, callDeadline()));
        }
    }

    /** The engine of the calling token's tenant. */
    private ImprintEngine engine() {
        return engines.engine(CallerTenant.KEY.get());
    }

    /** Ends a streaming call that cannot start with {@code e}'s status, and ignores what the client still sends. */
    private static <Q> StreamObserver<Q> refused(String method, StreamObserver<?> out, RuntimeException e) {
        out.onError(StatusTranslator.toStatus(method, e));
        return new StreamObserver<>() {
            @Override
            public void onNext(Q ignored) {
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        };
    }

    /** The calling client's deadline, so work it no longer waits for is dropped unscored. */
    private static Deadline callDeadline() {
        io.grpc.Deadline d = Context.current().getDeadline();
        return d == null ? Deadline.none() : Deadline.afterNanos(d.timeRemaining(TimeUnit.NANOSECONDS));
    }

    /** Answers a unary call with {@code body}'s value, or with its failure translated to a status. */
    private static <T> void unary(String method, StreamObserver<T> out, Supplier<T> body) {
        T reply;
        try {
            reply = body.get();
        } catch (RuntimeException e) {
            out.onError(StatusTranslator.toStatus(method, e));
            return;
        }
        out.onNext(reply);
        out.onCompleted();
    }
}
