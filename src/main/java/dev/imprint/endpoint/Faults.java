package dev.imprint.endpoint;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * The faults the synthetic endpoint will play, each on exactly one request. A fault queued for a
 * prompt substring goes before the general queue: a request whose prompt text contains the
 * substring takes the oldest fault for it (earliest registered substring first); otherwise a
 * request takes the oldest fault of the general queue. Every request to any route, once it passed
 * authentication, takes a fault when one is queued. Thread-safe.
 */
public final class Faults {
    private final Deque<Fault> general = new ArrayDeque<>();
    private final List<PromptFaults> byPrompt = new ArrayList<>();

    private record PromptFaults(String substring, Deque<Fault> faults) {}

    /** Queues {@code faults} for the next requests, one each, in order, whatever their prompt. */
    public synchronized void enqueue(Fault... faults) {
        general.addAll(Arrays.asList(faults));
    }

    /** Queues {@code faults} for the next requests whose prompt text contains {@code substring}, one each, in order. */
    public synchronized void forPrompt(String substring, Fault... faults) {
        if (substring == null || substring.isEmpty()) {
            throw new IllegalArgumentException("substring=" + substring + "; expected a non-empty string");
        }
        byPrompt.add(new PromptFaults(substring, new ArrayDeque<>(Arrays.asList(faults))));
    }

    /** Forgets every queued fault. */
    public synchronized void clear() {
        general.clear();
        byPrompt.clear();
    }

    /** Takes the fault for a request with {@code promptText} (null when it has none), if one is queued. */
    synchronized Optional<Fault> take(String promptText) {
        if (promptText != null) {
            for (Iterator<PromptFaults> it = byPrompt.iterator(); it.hasNext(); ) {
                PromptFaults entry = it.next();
                if (promptText.contains(entry.substring())) {
                    Fault fault = entry.faults().poll();
                    if (entry.faults().isEmpty()) {
                        it.remove();
                    }
                    if (fault != null) {
                        return Optional.of(fault);
                    }
                }
            }
        }
        return Optional.ofNullable(general.poll());
    }
}
