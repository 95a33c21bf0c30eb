package dev.imprint.server;

import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ScoreResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.function.Function;

/**
 * One ScoreStream call: scores each request as it arrives and answers it, in order, with a
 * response carrying the same request_id.
 *
 * <p>Error semantics: the first request that fails (bad input, unknown id...) ends the whole
 * stream with that request's status code, its description prefixed with
 * {@code request_id='...' (message N): } so the client knows which one failed. Every earlier
 * request has already been answered; later ones are not processed. A client that wants to carry on
 * opens a new stream with the requests after the failed one.
 *
 * <p>Flow control: the next request is read only once the response just produced can be sent
 * without buffering ({@code isReady}), so a client that stops reading responses stops the server
 * from reading and scoring more requests instead of growing its memory.
 */
final class ScoreStreamCall implements StreamObserver<ScoreRequest> {
    private static final String METHOD = "ScoreStream";

    private final ServerCallStreamObserver<ScoreResponse> out;
    private final Function<ScoreRequest, ScoreResponse> scorer;
    /** True while a request(1) is outstanding because the transport was ready; guarded by the call's serial executor. */
    private boolean requested;
    private boolean finished;
    private long received;

    private ScoreStreamCall(ServerCallStreamObserver<ScoreResponse> out, Function<ScoreRequest, ScoreResponse> scorer) {
        this.out = out;
        this.scorer = scorer;
    }

    /** Sets up manual flow control on {@code out} and returns the observer of the requests. */
    static ScoreStreamCall start(ServerCallStreamObserver<ScoreResponse> out,
                                 Function<ScoreRequest, ScoreResponse> scorer) {
        ScoreStreamCall call = new ScoreStreamCall(out, scorer);
        out.disableAutoRequest();
        out.setOnReadyHandler(call::onReady);
        return call;
    }

    /** Called by gRPC (serialised with onNext) whenever the outbound side becomes ready again. */
    private void onReady() {
        if (!finished && !requested && out.isReady()) {
            requested = true;
            out.request(1);
        }
    }

    @Override
    public void onNext(ScoreRequest req) {
        requested = false;
        if (finished) {
            return;
        }
        received++;
        ScoreResponse response;
        try {
            response = scorer.apply(req);
        } catch (RuntimeException e) {
            finished = true;
            out.onError(StatusTranslator.toStatus(METHOD,
                    String.format("request_id='%s' (message %d): ", req.getRequestId(), received), e));
            return;
        }
        out.onNext(response);
        onReady();
    }

    @Override
    public void onError(Throwable t) {
        finished = true;
    }

    @Override
    public void onCompleted() {
        if (!finished) {
            finished = true;
            out.onCompleted();
        }
    }
}
