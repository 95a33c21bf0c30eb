package dev.imprint.server;

import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ScoreResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * One ScoreStream call: answers every request, in order, with a response carrying the same
 * request_id.
 *
 * <p>Batching: requests are scored on a worker thread, and every request that arrived while the
 * previous batch was being scored goes into the next one, so a busy stream turns many
 * one-suspect products into a few many-suspect ones (see {@link BatchScorer}).
 *
 * <p>Error semantics: the first request that fails (bad input, unknown id...) ends the whole
 * stream with that request's status code, its description prefixed with
 * {@code request_id='...' (message N): }. Every earlier request has been answered; later ones are
 * not scored. A client that wants to carry on opens a new stream with the requests after it.
 *
 * <p>Flow control: besides the batch being scored, at most {@value #WINDOW} requests are read
 * ahead, and more are read only while the transport takes responses without buffering
 * ({@code isReady}), so a client that stops reading responses stops the server from reading and
 * scoring its requests, and one stream holds at most 2 × {@value #WINDOW} requests.
 *
 * <p>Threading: gRPC callbacks and the worker both touch the response observer, which is not
 * thread-safe, so every use of it is under {@code lock}.
 */
final class ScoreStreamCall implements StreamObserver<ScoreRequest> {
    /** Requests read ahead of the batch being scored; bounds the memory one stream holds. */
    static final int WINDOW = 32;
    private static final String METHOD = "ScoreStream";

    /**
     * Scores requests in order, handing each response to {@code emit} as soon as it is known.
     * Consecutive requests with the same probe set and options may be scored as one batch.
     */
    interface BatchScorer {
        /**
         * @throws FailedRequest naming the first request that failed, after every earlier one was emitted
         */
        void score(List<ScoreRequest> requests, Consumer<ScoreResponse> emit);
    }

    /** The failure of the request at {@code position} of a {@link BatchScorer#score} batch. */
    static final class FailedRequest extends RuntimeException {
        final int position;

        FailedRequest(int position, RuntimeException cause) {
            super(cause);
            this.position = position;
        }
    }

    private final ServerCallStreamObserver<ScoreResponse> out;
    private final BatchScorer scorer;
    private final Executor worker;
    private final Object lock = new Object();
    /** A request to score, or one found invalid on arrival, which ends the stream when its turn comes. */
    private record Entry(ScoreRequest request, RuntimeException invalid) {
    }

    private final ArrayDeque<Entry> queue = new ArrayDeque<>();
    /** The parts of a suspect sent with {@code continued}, until its last part arrives. */
    private final SuspectChunks chunks = new SuspectChunks();
    private final long maxSuspectBytes;
    /** Requests asked of gRPC but not yet received. */
    private int outstanding;
    /** Requests received before the queue's head; numbers them in error messages. */
    private long answered;
    private boolean draining;
    private boolean halfClosed;
    private boolean finished;

    private ScoreStreamCall(ServerCallStreamObserver<ScoreResponse> out, BatchScorer scorer, Executor worker,
                            long maxSuspectBytes) {
        this.out = out;
        this.scorer = scorer;
        this.worker = worker;
        this.maxSuspectBytes = maxSuspectBytes;
    }

    /**
     * Sets up manual flow control on {@code out} and returns the observer of the requests.
     *
     * @param maxSuspectBytes the most bytes a suspect sent in parts may add up to
     */
    static ScoreStreamCall start(ServerCallStreamObserver<ScoreResponse> out, BatchScorer scorer, Executor worker,
                                 long maxSuspectBytes) {
        ScoreStreamCall call = new ScoreStreamCall(out, scorer, worker, maxSuspectBytes);
        out.disableAutoRequest();
        out.setOnReadyHandler(call::onReady);
        // With a cancel handler, sending on a cancelled call is a no-op instead of an exception.
        out.setOnCancelHandler(() -> call.onError(null));
        return call;
    }

    private void onReady() {
        synchronized (lock) {
            requestMore();
        }
    }

    /** Asks for requests up to the window while responses flow; caller holds the lock. */
    private void requestMore() {
        if (finished || halfClosed || !out.isReady()) {
            return;
        }
        int want = WINDOW - queue.size() - outstanding;
        if (want > 0) {
            outstanding += want;
            out.request(want);
        }
    }

    @Override
    public void onNext(ScoreRequest req) {
        synchronized (lock) {
            outstanding--;
            if (finished) {
                return;
            }
            Entry entry;
            try {
                if (req.getContinued()) {
                    chunks.add(req, maxSuspectBytes);
                    requestMore();
                    return;
                }
                entry = new Entry(chunks.isEmpty() ? req : chunks.finish(req), null);
            } catch (RuntimeException e) {
                entry = new Entry(req, e);
            }
            queue.add(entry);
            if (!draining) {
                draining = true;
                worker.execute(this::drain);
            }
        }
    }

    @Override
    public void onError(Throwable t) {
        synchronized (lock) {
            finished = true;
            queue.clear();
        }
    }

    @Override
    public void onCompleted() {
        synchronized (lock) {
            halfClosed = true;
            completeIfDone();
        }
    }

    /** Scores what is queued, batch after batch, until the queue is empty. */
    private void drain() {
        while (true) {
            List<ScoreRequest> batch = new ArrayList<>();
            Entry invalid = null;
            synchronized (lock) {
                if (finished || queue.isEmpty()) {
                    draining = false;
                    completeIfDone();
                    return;
                }
                // Up to the first request found invalid on arrival: the ones before it are still answered.
                while (!queue.isEmpty() && invalid == null) {
                    Entry e = queue.poll();
                    if (e.invalid() == null) {
                        batch.add(e.request());
                    } else {
                        invalid = e;
                    }
                }
                requestMore();
            }
            try {
                if (!batch.isEmpty()) {
                    scorer.score(batch, this::send);
                }
                if (invalid != null) {
                    fail(invalid.request(), answered + batch.size() + 1, invalid.invalid());
                    return;
                }
            } catch (FailedRequest e) {
                fail(batch.get(e.position), answered + e.position + 1, (RuntimeException) e.getCause());
                return;
            } catch (RuntimeException | Error e) {
                // Still answer the client, or the stream would hang with this worker gone.
                fail(batch.get(0), answered + 1, e);
                if (e instanceof Error error) {
                    throw error;
                }
                return;
            }
            synchronized (lock) {
                answered += batch.size();
                requestMore();
            }
        }
    }

    private void send(ScoreResponse response) {
        synchronized (lock) {
            if (!finished) {
                out.onNext(response);
            }
        }
    }

    private void fail(ScoreRequest req, long messageNumber, Throwable e) {
        synchronized (lock) {
            draining = false;
            queue.clear();
            if (finished) {
                return;
            }
            finished = true;
            out.onError(StatusTranslator.toStatus(METHOD,
                    String.format("request_id='%s' (message %d): ", req.getRequestId(), messageNumber), e));
        }
    }

    /** Ends the call once the client half-closed and every request is answered; caller holds the lock. */
    private void completeIfDone() {
        if (halfClosed && !draining && queue.isEmpty() && !finished) {
            if (!chunks.isEmpty()) {
                finished = true;
                out.onError(io.grpc.Status.INVALID_ARGUMENT.withDescription("the stream ended inside a suspect sent "
                        + "in parts; its last part must have continued unset").asRuntimeException());
                return;
            }
            finished = true;
            out.onCompleted();
        }
    }
}
