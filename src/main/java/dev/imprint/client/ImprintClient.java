package dev.imprint.client;

import dev.imprint.api.v1.DeleteProbeSetRequest;
import dev.imprint.api.v1.DeleteReferenceRequest;
import dev.imprint.api.v1.GetProbeSetRequest;
import dev.imprint.api.v1.GetReferenceRequest;
import dev.imprint.api.v1.GetServerInfoRequest;
import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.api.v1.ListProbeSetsRequest;
import dev.imprint.api.v1.ListReferencesRequest;
import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.Reference;
import dev.imprint.api.v1.ReferenceHeader;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ScoreResponse;
import dev.imprint.api.v1.ServerInfo;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreResult;
import dev.imprint.server.ProtoMapper;
import dev.imprint.server.StatusTranslator;
import dev.imprint.tls.ClientTls;
import dev.imprint.tls.TlsFailures;
import dev.imprint.topk.ProbeAnswer;
import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * A Java client of the Imprint gRPC service, speaking in the domain types of
 * {@code dev.imprint.core} (the same ones {@code ImprintEngine} uses in-process).
 *
 * <p>Errors: a status Imprint defines (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
 * FAILED_PRECONDITION, RESOURCE_EXHAUSTED, INTERNAL) is thrown as an {@link ImprintException} with
 * that code and the server's message; transport failures (UNAVAILABLE, DEADLINE_EXCEEDED,
 * CANCELLED...) as the {@link StatusRuntimeException} itself.
 *
 * <p>Matrices: every float array is row-major; a fingerprint is numProbes × dim, a suspect is
 * (number of probes it answers) × dim.
 */
public final class ImprintClient implements AutoCloseable {
    /** Default byte budget of one PutReference row chunk. */
    public static final int DEFAULT_CHUNK_BYTES = 1 << 20;
    /**
     * Default bound on unanswered bulk requests: enough for the server to read a full window of 32
     * requests ahead while it scores the previous batch, so its batches stay large.
     */
    public static final int DEFAULT_MAX_IN_FLIGHT = 64;
    /** Largest response {@link #connect} accepts: per-probe scores of many references get big. */
    public static final int MAX_RESPONSE_BYTES = 256 << 20;

    private final ManagedChannel channel;
    private final ImprintGrpc.ImprintBlockingStub blocking;
    private final ImprintGrpc.ImprintStub async;
    private final int chunkBytes;
    /** The deadline of each unary call, or null for none. */
    private final Duration callTimeout;
    private volatile int serverMessageLimit;
    /** Whether {@link #connect} set the channel up for TLS; only sharpens the words of connection failures. */
    private boolean tls;

    /**
     * A client over {@code channel}, which it owns and shuts down on {@link #close()}.
     *
     * @param chunkBytes  the byte budget of one upload chunk; capped at half the server's message limit
     * @param callTimeout the deadline of every unary call (Score, GetServerInfo, ...), past which it
     *                    fails with DEADLINE_EXCEEDED and the server drops it if still queued; null for
     *                    none. Streams (uploads, bulk scoring) have none: they may run for hours.
     */
    public ImprintClient(ManagedChannel channel, int chunkBytes, Duration callTimeout) {
        this(channel, chunkBytes, callTimeout, null);
    }

    /**
     * As {@link #ImprintClient(ManagedChannel, int, Duration)}, sending {@code credentials} (e.g. a
     * {@link BearerToken}) with every call; null sends none.
     */
    public ImprintClient(ManagedChannel channel, int chunkBytes, Duration callTimeout, CallCredentials credentials) {
        if (chunkBytes < Float.BYTES) {
            throw new IllegalArgumentException("chunkBytes=" + chunkBytes + "; expected at least " + Float.BYTES);
        }
        if (callTimeout != null && (callTimeout.isZero() || callTimeout.isNegative())) {
            throw new IllegalArgumentException("callTimeout=" + callTimeout + "; expected a positive duration or null");
        }
        this.channel = channel;
        this.blocking = credentials == null ? ImprintGrpc.newBlockingStub(channel)
                : ImprintGrpc.newBlockingStub(channel).withCallCredentials(credentials);
        this.async = credentials == null ? ImprintGrpc.newStub(channel)
                : ImprintGrpc.newStub(channel).withCallCredentials(credentials);
        this.chunkBytes = chunkBytes;
        this.callTimeout = callTimeout;
    }

    public ImprintClient(ManagedChannel channel, int chunkBytes) {
        this(channel, chunkBytes, null);
    }

    public ImprintClient(ManagedChannel channel) {
        this(channel, DEFAULT_CHUNK_BYTES);
    }

    /** Connects in plaintext to {@code target} ("host:port"), without call deadlines. */
    public static ImprintClient connect(String target) {
        return connect(target, null);
    }

    /** Connects in plaintext to {@code target} ("host:port"); {@code callTimeout} as in the constructor. */
    public static ImprintClient connect(String target, Duration callTimeout) {
        return connect(target, callTimeout, null, null);
    }

    /**
     * Connects to {@code target} ("host:port") over TLS as {@code tls} says, or in plaintext when it
     * is null, sending {@code token} with every call (null: none); {@code callTimeout} as in the
     * constructor.
     *
     * @throws dev.imprint.tls.TlsFileException naming a certificate or key file TLS cannot use
     */
    public static ImprintClient connect(String target, Duration callTimeout, ClientTls tls, String token) {
        NettyChannelBuilder builder = tls == null ? NettyChannelBuilder.forTarget(target).usePlaintext()
                : NettyChannelBuilder.forTarget(target, tls.credentials());
        if (tls != null && tls.serverName() != null) {
            builder.overrideAuthority(tls.serverName());
        }
        ImprintClient client = new ImprintClient(builder.maxInboundMessageSize(MAX_RESPONSE_BYTES).build(),
                DEFAULT_CHUNK_BYTES, callTimeout, token == null ? null : new BearerToken(token));
        client.tls = tls != null;
        return client;
    }

    /** Creates a probe set; an identical existing one is returned as is. */
    public ProbeSet createProbeSet(ProbeSet set) {
        return call(() -> ProtoMapper.fromProto(blocking().createProbeSet(ProtoMapper.createRequest(set))));
    }

    public ProbeSet getProbeSet(String probeSetId) {
        return ProtoMapper.fromProto(getProbeSetMessage(probeSetId));
    }

    /** Probe set {@code probeSetId} with its probes' texts, if it carries them. */
    public ProbeSet getProbeSetWithTexts(String probeSetId) {
        return getProbeSet(probeSetId, true, false);
    }

    /** Probe set {@code probeSetId} with its texts and its supports, each only if asked for and carried. */
    public ProbeSet getProbeSet(String probeSetId, boolean includeTexts, boolean includeSupports) {
        return ProtoMapper.fromProto(call(() -> blocking().getProbeSet(GetProbeSetRequest.newBuilder()
                .setProbeSetId(probeSetId).setIncludeTexts(includeTexts).setIncludeSupports(includeSupports)
                .build())));
    }

    /** How many references probe set {@code probeSetId} holds. */
    public int referenceCount(String probeSetId) {
        return getProbeSetMessage(probeSetId).getReferenceCount();
    }

    /** All probe sets, ordered by id. */
    public List<ProbeSet> listProbeSets() {
        return call(() -> blocking().listProbeSets(ListProbeSetsRequest.getDefaultInstance()).getProbeSetsList()
                .stream().map(ProtoMapper::fromProto).toList());
    }

    /**
     * Deletes a probe set; FAILED_PRECONDITION while it holds references unless {@code force}.
     *
     * @return how many references went with it
     */
    public int deleteProbeSet(String probeSetId, boolean force) {
        return call(() -> blocking().deleteProbeSet(DeleteProbeSetRequest.newBuilder().setProbeSetId(probeSetId)
                .setForce(force).build()).getReferencesDeleted());
    }

    /**
     * Uploads a reference fingerprint in row chunks of at most the chunk budget, and returns once the
     * server has made it durable and visible to scoring.
     *
     * @param rows numProbes × dim, row-major; the server validates the shape and the values
     * @throws ImprintException ALREADY_EXISTS if the model exists and {@code replace} is false;
     *     INVALID_ARGUMENT for bad rows (nothing is stored then)
     */
    public ReferenceMeta putReference(String probeSetId, String modelId, Map<String, String> labels, float[] rows,
                                      boolean replace) {
        return putReference(probeSetId, modelId, labels, ReferenceRole.PROTECTED, rows, replace);
    }

    /** As {@link #putReference(String, String, Map, float[], boolean)}, with the reference's attribution role. */
    public ReferenceMeta putReference(String probeSetId, String modelId, Map<String, String> labels,
                                      ReferenceRole role, float[] rows, boolean replace) {
        int dim = getProbeSet(probeSetId).dim();
        int budget = Math.min(chunkBytes, serverMessageLimit() / 2);
        int rowsPerChunk = Math.max(1, budget / (dim * Float.BYTES));
        Upload upload = new Upload();
        ClientCallStreamObserver<PutReferenceRequest> requests = startUpload(upload, probeSetId, modelId, labels,
                role, replace);
        try {
            for (int first = 0; first * dim < rows.length && !upload.done(); first += rowsPerChunk) {
                upload.awaitReady(requests);
                int count = Math.min(rowsPerChunk * dim, rows.length - first * dim);
                requests.onNext(PutReferenceRequest.newBuilder()
                        .setRows(ProtoMapper.rowChunk(first, rows, first * dim, count)).build());
            }
            if (!upload.done()) {
                requests.onCompleted();
            }
            return ProtoMapper.fromProto(upload.await());
        } catch (InterruptedException e) {
            requests.cancel("interrupted", e);
            Thread.currentThread().interrupt();
            throw Status.CANCELLED.withDescription("upload interrupted; nothing was stored").asRuntimeException();
        }
    }

    /**
     * Uploads a reference as top-k answers, one message after the header, which the server maps
     * onto the probe set's supports; returns once it is durable and visible to scoring.
     *
     * @param answers one per probe of the set, in any order
     * @throws ImprintException FAILED_PRECONDITION if the set carries no supports; INVALID_ARGUMENT
     *     naming the probe for a missing or repeated probe, a missing logprob or too much listed mass
     */
    public ReferenceMeta putReferenceTopK(String probeSetId, String modelId, Map<String, String> labels,
                                          ReferenceRole role, List<ProbeAnswer> answers, boolean replace) {
        Upload upload = new Upload();
        ClientCallStreamObserver<PutReferenceRequest> requests = startUpload(upload, probeSetId, modelId, labels,
                role, replace);
        requests.onNext(PutReferenceRequest.newBuilder().setTopK(ProtoMapper.toProto(answers)).build());
        requests.onCompleted();
        try {
            return ProtoMapper.fromProto(upload.await());
        } catch (InterruptedException e) {
            requests.cancel("interrupted", e);
            Thread.currentThread().interrupt();
            throw Status.CANCELLED.withDescription("upload interrupted; nothing was stored").asRuntimeException();
        }
    }

    /** Opens a PutReference stream answering to {@code upload} and sends its header. */
    private ClientCallStreamObserver<PutReferenceRequest> startUpload(Upload upload, String probeSetId, String modelId,
                                                                      Map<String, String> labels, ReferenceRole role,
                                                                      boolean replace) {
        ClientCallStreamObserver<PutReferenceRequest> requests =
                (ClientCallStreamObserver<PutReferenceRequest>) async.putReference(upload);
        requests.onNext(PutReferenceRequest.newBuilder().setHeader(ReferenceHeader.newBuilder()
                .setProbeSetId(probeSetId).setModelId(modelId).putAllLabels(labels).setReplace(replace)
                .setRole(ProtoMapper.toProto(role))).build());
        return requests;
    }

    public ReferenceMeta getReference(String probeSetId, String modelId) {
        return call(() -> ProtoMapper.fromProto(blocking().getReference(GetReferenceRequest.newBuilder()
                .setProbeSetId(probeSetId).setModelId(modelId).build())));
    }

    /** References of a probe set carrying every label of {@code labelSelector}, ordered by model id. */
    public List<ReferenceMeta> listReferences(String probeSetId, Map<String, String> labelSelector) {
        return listReferences(probeSetId, labelSelector, null);
    }

    /** As {@link #listReferences(String, Map)}, only those of {@code role}; null for every role. */
    public List<ReferenceMeta> listReferences(String probeSetId, Map<String, String> labelSelector,
                                              ReferenceRole role) {
        ListReferencesRequest.Builder req = ListReferencesRequest.newBuilder().setProbeSetId(probeSetId)
                .putAllLabelSelector(labelSelector);
        if (role != null) {
            req.setRole(ProtoMapper.toProto(role));
        }
        return call(() -> blocking().listReferences(req.build()).getReferencesList()
                .stream().map(ProtoMapper::fromProto).toList());
    }

    public void deleteReference(String probeSetId, String modelId) {
        call(() -> blocking().deleteReference(DeleteReferenceRequest.newBuilder().setProbeSetId(probeSetId)
                .setModelId(modelId).build()));
    }

    /**
     * Scores one suspect against the references of a probe set.
     *
     * @param suspectRows  one row of dim values per probe answered, row-major
     * @param probeIndices the probes the rows answer, in row order; empty for all probes in order
     */
    public ScoreResult score(String probeSetId, float[] suspectRows, int[] probeIndices, ScoreOptions options) {
        int dim = getProbeSet(probeSetId).dim();
        ScoreRequest req = request("", probeSetId, dim, suspectRows, probeIndices, options);
        return call(() -> ProtoMapper.fromProto(blocking().score(req)));
    }

    /**
     * Scores one suspect given as top-k answers, which the server maps onto the probe set's supports.
     *
     * @throws ImprintException FAILED_PRECONDITION if the set carries no supports
     */
    public ScoreResult scoreTopK(String probeSetId, List<ProbeAnswer> answers, ScoreOptions options) {
        ScoreRequest req = request(SuspectInput.topK("", answers), probeSetId, 0, options);
        return call(() -> ProtoMapper.fromProto(blocking().score(req)));
    }

    /**
     * One suspect of a bulk {@link #scoreStream} run: dense rows, or top-k answers.
     *
     * @param requestId    sent as request_id and named in any error about this suspect; null means ""
     * @param rows         one row of dim values per probe answered, row-major; empty with topK
     * @param probeIndices the probes the rows answer, in row order; empty for all probes in order
     * @param topK         instead of rows, the suspect's top-k answers, which the server maps onto
     *                     the probe set's supports; null for a dense suspect
     */
    public record SuspectInput(String requestId, float[] rows, int[] probeIndices, List<ProbeAnswer> topK) {
        public SuspectInput {
            requestId = requestId == null ? "" : requestId;
        }

        /** A dense suspect. */
        public SuspectInput(String requestId, float[] rows, int[] probeIndices) {
            this(requestId, rows, probeIndices, null);
        }

        /** A suspect given as its top-k answers, in the order they are to be scored. */
        public static SuspectInput topK(String requestId, List<ProbeAnswer> answers) {
            return new SuspectInput(requestId, new float[0], new int[0], List.copyOf(answers));
        }
    }

    /**
     * Scores many suspects over one ScoreStream call, keeping at most {@code maxInFlight} requests
     * unanswered so neither side buffers more than that. Results reach {@code sink} in input order,
     * one at a time, on a gRPC thread.
     *
     * <p>The server ends the stream at the first bad request; this method then throws that error
     * (its message names the request_id), after {@code sink} has received every earlier result.
     *
     * @return how many suspects were scored
     */
    public int scoreStream(String probeSetId, Iterable<SuspectInput> suspects, ScoreOptions options, int maxInFlight,
                           BiConsumer<SuspectInput, ScoreResult> sink) {
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight=" + maxInFlight + "; expected at least 1");
        }
        int dim = getProbeSet(probeSetId).dim();
        BulkScores bulk = new BulkScores(maxInFlight, sink);
        ClientCallStreamObserver<ScoreRequest> requests =
                (ClientCallStreamObserver<ScoreRequest>) async.scoreStream(bulk);
        try {
            for (SuspectInput s : suspects) {
                bulk.permits.acquire();
                if (bulk.failure.get() != null) {
                    break;
                }
                ScoreRequest req = request(s, probeSetId, dim, options);
                synchronized (bulk.inFlight) {
                    bulk.inFlight.add(s);
                }
                // A suspect larger than a message goes in parts, which the server joins back.
                for (ScoreRequest part : parts(req, serverMessageLimit() / 2)) {
                    requests.onNext(part);
                }
            }
            if (bulk.failure.get() == null) {
                requests.onCompleted();
            }
            bulk.finished.await();
        } catch (InterruptedException e) {
            requests.cancel("interrupted", e);
            Thread.currentThread().interrupt();
            throw Status.CANCELLED.withDescription("bulk scoring interrupted").asRuntimeException();
        } catch (RuntimeException e) {
            requests.cancel("client failed while sending", e);
            throw e;
        }
        Throwable failure = bulk.failure.get();
        if (failure instanceof Error error) {
            throw error;
        }
        if (failure != null) {
            throw translate(failure);
        }
        return bulk.scored;
    }

    /** {@link #scoreStream(String, Iterable, ScoreOptions, int, BiConsumer)} with {@link #DEFAULT_MAX_IN_FLIGHT}. */
    public int scoreStream(String probeSetId, Iterable<SuspectInput> suspects, ScoreOptions options,
                           BiConsumer<SuspectInput, ScoreResult> sink) {
        return scoreStream(probeSetId, suspects, options, DEFAULT_MAX_IN_FLIGHT, sink);
    }

    /** Version, backend, counts, memory and message limit of the server. */
    /**
     * Checks that an Imprint server answers within {@code timeout}, so a caller learns at once that
     * none is there instead of when a call or an upload stream hangs: a port that accepts TCP but
     * never speaks gRPC keeps a call without a deadline waiting forever.
     *
     * @param target the address, for the message
     * @return the server's description
     * @throws ServerUnreachableException saying why, in one line
     */
    public ServerInfo awaitServer(String target, Duration timeout) {
        try {
            ServerInfo info = blocking.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
                    .getServerInfo(GetServerInfoRequest.getDefaultInstance());
            // What uploads and bulk scoring would otherwise ask for again.
            serverMessageLimit = info.getMaxInboundMessageBytes();
            return info;
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.UNAUTHENTICATED
                    || e.getStatus().getCode() == Status.Code.PERMISSION_DENIED) {
                // A server answered: the caller's token is the problem, not the address.
                throw e;
            }
            throw new ServerUnreachableException("cannot reach " + target + ": " + whyUnreachable(e, timeout, tls), e);
        }
    }

    /** The failure of a first call, as a person would say it; {@code tls}: whether the client spoke TLS. */
    private static String whyUnreachable(StatusRuntimeException e, Duration timeout, boolean tls) {
        String tlsProblem = TlsFailures.describe(e, tls);
        if (tlsProblem != null) {
            return tlsProblem;
        }
        Throwable root = e.getCause();
        while (root != null && root.getCause() != null) {
            root = root.getCause();
        }
        String cause = root == null ? null : root.getClass().getSimpleName()
                + (root.getMessage() == null ? "" : ": " + root.getMessage());
        return switch (e.getStatus().getCode()) {
            case DEADLINE_EXCEEDED -> "no gRPC server answered within " + (timeout.toMillis() % 1000 == 0
                    ? String.valueOf(timeout.toSeconds()) : String.valueOf(timeout.toMillis() / 1000.0)) + " s";
            case UNAVAILABLE -> root instanceof java.nio.channels.UnresolvedAddressException
                    || root instanceof java.net.UnknownHostException ? "unknown host"
                    : root instanceof java.net.ConnectException && String.valueOf(root.getMessage()).contains("refused")
                    ? "nothing listens there (connection refused)"
                    : "no server accepted the connection" + (cause == null ? "" : " (" + cause + ")");
            case UNIMPLEMENTED -> "the gRPC server there is not an Imprint server";
            default -> "what answers there does not speak gRPC (" + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription()) + ")";
        };
    }

    public ServerInfo getServerInfo() {
        return call(() -> blocking().getServerInfo(GetServerInfoRequest.getDefaultInstance()));
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdown();
        if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
            channel.shutdownNow();
        }
    }

    private dev.imprint.api.v1.ProbeSet getProbeSetMessage(String probeSetId) {
        return call(() -> blocking().getProbeSet(GetProbeSetRequest.newBuilder().setProbeSetId(probeSetId).build()));
    }

    private int serverMessageLimit() {
        if (serverMessageLimit == 0) {
            serverMessageLimit = getServerInfo().getMaxInboundMessageBytes();
        }
        return serverMessageLimit;
    }

    /**
     * {@code req} as ScoreStream parts of at most about {@code maxBytes} of suspect each, the last
     * with continued unset; itself alone when it fits.
     */
    public static List<ScoreRequest> parts(ScoreRequest req, int maxBytes) {
        int rows = req.getSuspect().getRows();
        long rowBytes = (long) req.getSuspect().getCols() * Float.BYTES;
        if (req.getSuspect().getData().size() <= maxBytes || rows <= 1) {
            return List.of(req);
        }
        int perPart = (int) Math.max(1, Math.min(rows, maxBytes / Math.max(1, rowBytes)));
        List<ScoreRequest> out = new ArrayList<>();
        for (int first = 0; first < rows; first += perPart) {
            int count = Math.min(perPart, rows - first);
            ScoreRequest.Builder part = req.toBuilder().setContinued(first + count < rows)
                    .setSuspect(req.getSuspect().toBuilder().setRows(count).setData(req.getSuspect().getData()
                            .substring((int) (first * rowBytes), (int) ((first + count) * rowBytes))));
            if (req.getProbeIndicesCount() > 0) {
                part.clearProbeIndices().addAllProbeIndices(req.getProbeIndicesList().subList(first, first + count));
            }
            out.add(part.build());
        }
        return out;
    }

    /** The request for suspect {@code s}: its top-k answers when it has them, else its rows. */
    private static ScoreRequest request(SuspectInput s, String probeSetId, int dim, ScoreOptions o) {
        if (s.topK() == null) {
            return request(s.requestId(), probeSetId, dim, s.rows(), s.probeIndices(), o);
        }
        return ProtoMapper.scoreRequest(s.requestId(), probeSetId, 0, 0, new float[0], new int[0], o.metrics(),
                        o.orderBy(), o.topK(), o.modelIds(), o.labelSelector(), o.includePerProbe(), o.alpha())
                .toBuilder().clearSuspect().setSuspectTopK(ProtoMapper.toProto(s.topK())).build();
    }

    private static ScoreRequest request(String requestId, String probeSetId, int dim, float[] rows,
                                        int[] probeIndices, ScoreOptions o) {
        if (rows.length % dim != 0) {
            throw ImprintException.invalidArgument("suspect has %d values, not a whole number of rows of dim=%d",
                    rows.length, dim);
        }
        return ProtoMapper.scoreRequest(requestId, probeSetId, rows.length / dim, dim, rows, probeIndices,
                o.metrics(), o.orderBy(), o.topK(), o.modelIds(), o.labelSelector(), o.includePerProbe(), o.alpha());
    }

    /** The blocking stub with this call's deadline, when the client has one. */
    private ImprintGrpc.ImprintBlockingStub blocking() {
        return callTimeout == null ? blocking : blocking.withDeadlineAfter(callTimeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private static <T> T call(Supplier<T> rpc) {
        try {
            return rpc.get();
        } catch (StatusRuntimeException e) {
            throw StatusTranslator.fromStatus(e);
        }
    }

    private static RuntimeException translate(Throwable t) {
        if (t instanceof StatusRuntimeException e) {
            return StatusTranslator.fromStatus(e);
        }
        if (t instanceof RuntimeException e) {
            return e;
        }
        return Status.fromThrowable(t).asRuntimeException();
    }

    /** The response side of one PutReference call, plus readiness signalling for the sender. */
    private static final class Upload implements ClientResponseObserver<PutReferenceRequest, Reference> {
        private final CountDownLatch finished = new CountDownLatch(1);
        private final Object ready = new Object();
        private volatile Reference result;
        private volatile Throwable failure;

        @Override
        public void beforeStart(ClientCallStreamObserver<PutReferenceRequest> requests) {
            requests.setOnReadyHandler(() -> {
                synchronized (ready) {
                    ready.notifyAll();
                }
            });
        }

        /** Waits until the transport takes more data without buffering, or the call has ended. */
        void awaitReady(ClientCallStreamObserver<PutReferenceRequest> requests) throws InterruptedException {
            synchronized (ready) {
                while (!requests.isReady() && !done()) {
                    ready.wait(100);
                }
            }
        }

        boolean done() {
            return finished.getCount() == 0;
        }

        Reference await() throws InterruptedException {
            finished.await();
            if (failure != null) {
                throw translate(failure);
            }
            return result;
        }

        @Override
        public void onNext(Reference value) {
            result = value;
        }

        @Override
        public void onError(Throwable t) {
            failure = t;
            finished.countDown();
            synchronized (ready) {
                ready.notifyAll();
            }
        }

        @Override
        public void onCompleted() {
            finished.countDown();
        }
    }

    /** The response side of one bulk ScoreStream call. */
    private static final class BulkScores implements ClientResponseObserver<ScoreRequest, ScoreResponse> {
        final Semaphore permits;
        final ArrayDeque<SuspectInput> inFlight = new ArrayDeque<>();
        final CountDownLatch finished = new CountDownLatch(1);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final int maxInFlight;
        private final BiConsumer<SuspectInput, ScoreResult> sink;
        private ClientCallStreamObserver<ScoreRequest> requests;
        private volatile int scored;

        BulkScores(int maxInFlight, BiConsumer<SuspectInput, ScoreResult> sink) {
            this.permits = new Semaphore(maxInFlight);
            this.maxInFlight = maxInFlight;
            this.sink = sink;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<ScoreRequest> requests) {
            this.requests = requests;
        }

        @Override
        public void onNext(ScoreResponse response) {
            SuspectInput input;
            synchronized (inFlight) {
                input = inFlight.poll();
            }
            try {
                if (input == null || !input.requestId().equals(response.getRequestId())) {
                    throw new IllegalStateException("response for request_id='" + response.getRequestId()
                            + "' does not match the oldest request in flight");
                }
                sink.accept(input, ProtoMapper.fromProto(response));
                scored++;
            } catch (RuntimeException | Error e) {
                // Cancelling makes gRPC call onError, which records the failure and wakes the sender.
                failure.compareAndSet(null, e);
                requests.cancel("the client's result sink failed", e);
                return;
            }
            permits.release();
        }

        @Override
        public void onError(Throwable t) {
            failure.compareAndSet(null, t);
            permits.release(maxInFlight + 1);
            finished.countDown();
        }

        @Override
        public void onCompleted() {
            finished.countDown();
        }
    }
}
