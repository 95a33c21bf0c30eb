package dev.imprint.endpoint;

import dev.imprint.endpoint.SyntheticEndpoint.Request;
import java.util.ArrayList;
import java.util.List;

/**
 * Every request the endpoint received, in arrival order, with the status it was answered with:
 * 0 while the answer is pending or when the connection was dropped without one. Thread-safe.
 */
final class RequestLog {
    private final List<Request> requests = new ArrayList<>();

    /** Records a request on arrival; the returned index names it to {@link #answered}. */
    synchronized int arrived(String path, String model, String promptText, String authorization) {
        requests.add(new Request(path, model, promptText, authorization, 0));
        return requests.size() - 1;
    }

    synchronized void answered(int index, int status) {
        Request r = requests.get(index);
        requests.set(index, new Request(r.path(), r.model(), r.promptText(), r.authorization(), status));
    }

    synchronized List<Request> snapshot() {
        return List.copyOf(requests);
    }
}
