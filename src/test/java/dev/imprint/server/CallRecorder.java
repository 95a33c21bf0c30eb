package dev.imprint.server;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Records what a client call receives: every response, then its final status. */
public final class CallRecorder<Q, R> implements ClientResponseObserver<Q, R> {
    private final List<R> responses = Collections.synchronizedList(new ArrayList<>());
    private final CompletableFuture<Status> status = new CompletableFuture<>();
    private final int initialRequest;
    private ClientCallStreamObserver<Q> requests;

    /** Reads responses as fast as they come. */
    public CallRecorder() {
        this(-1);
    }

    /** Reads only {@code initialRequest} responses until {@link #requests()}{@code .request(n)} asks for more. */
    public CallRecorder(int initialRequest) {
        this.initialRequest = initialRequest;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<Q> call) {
        requests = call;
        if (initialRequest >= 0) {
            call.disableAutoRequestWithInitial(initialRequest);
        }
    }

    /** The request side of the call, for cancelling it or asking for more responses. */
    public ClientCallStreamObserver<Q> requests() {
        return requests;
    }

    public List<R> responses() {
        return List.copyOf(responses);
    }

    /** Whether the call has ended. */
    public boolean isDone() {
        return status.isDone();
    }

    /** Waits for the call to end and returns its status (OK when it completed). */
    public Status await() {
        try {
            return status.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("the call did not end", e);
        }
    }

    @Override
    public void onNext(R value) {
        responses.add(value);
    }

    @Override
    public void onError(Throwable t) {
        status.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
        status.complete(Status.OK);
    }
}
