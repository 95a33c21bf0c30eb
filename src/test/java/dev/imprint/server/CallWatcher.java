package dev.imprint.server;

import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A test interceptor that counts the messages each method received and lets a test wait for them. */
public final class CallWatcher implements ServerInterceptor {
    private final ConcurrentHashMap<String, AtomicInteger> messages = new ConcurrentHashMap<>();
    private final Semaphore messageEvents = new Semaphore(0);
    private final Semaphore cancelEvents = new Semaphore(0);

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getBareMethodName();
        AtomicInteger count = messages.computeIfAbsent(method, m -> new AtomicInteger());
        return new SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            @Override
            public void onMessage(Q message) {
                super.onMessage(message);
                count.incrementAndGet();
                messageEvents.release();
            }

            @Override
            public void onCancel() {
                super.onCancel();
                cancelEvents.release();
            }
        };
    }

    /** Messages received so far by {@code method} (its bare name, e.g. "PutReference"), over all calls. */
    public int messages(String method) {
        AtomicInteger n = messages.get(method);
        return n == null ? 0 : n.get();
    }

    /** Waits until {@code method} has received at least {@code n} messages, handled by the service. */
    public void awaitMessages(String method, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (messages(method) < n) {
            if (!messageEvents.tryAcquire(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                throw new AssertionError(method + " received " + messages(method) + " messages, expected " + n);
            }
        }
    }

    /** Waits until the server has seen one more call cancelled and run the service's handling of it. */
    public void awaitCancel() throws InterruptedException {
        if (!cancelEvents.tryAcquire(30, TimeUnit.SECONDS)) {
            throw new AssertionError("no call was cancelled");
        }
    }
}
