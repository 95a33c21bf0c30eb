package dev.imprint.capture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.core.Probe;
import dev.imprint.topk.TopKEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Asks an endpoint for every probe's answer that a checkpoint does not hold yet, with
 * {@code concurrency} requests in flight, at most {@code perSecond} started per second, each
 * retried with {@link Backoff} after a retryable failure, and records each answer in the
 * checkpoint the moment it arrives.
 *
 * <p>A failure that only one probe has (a 400, retries used up) is kept for the summary while the
 * others go on; one that every probe would have (a refused key, an unknown model, an endpoint
 * without logprobs) stops the capture at once, keeping what it already has.
 */
public final class Capturer {
    /** Longest Retry-After a capture honours; an endpoint asking for more fails the probe instead. */
    static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(10);
    /**
     * Failed requests in a row (timeouts, refused connections, 5xx; not 429, which is an endpoint
     * alive and asking to slow down), with no answer between them, after which the endpoint counts
     * as down and the capture stops rather than spend every probe's retries on it.
     */
    static final int DOWN_AFTER_FAILURES = 12;

    /** Told of each probe as its answer is recorded; called from the capture's threads. */
    public interface Progress {
        void captured(int probe);
    }

    /** A probe whose answer could not be had. */
    public record Failure(int probe, String message, int tries) {
    }

    /**
     * What a run ended with.
     *
     * @param answers   every answer the checkpoint holds, by probe, old and new
     * @param failures  the probes that failed, by probe
     * @param stoppedBy why the capture stopped before asking every probe, or null
     */
    public record Result(Map<Integer, JsonNode> answers, List<Failure> failures, String stoppedBy) {
        /** Whether every one of {@code probes} probes has its answer. */
        public boolean complete(int probes) {
            return answers.size() == probes;
        }
    }

    private final CaptureSettings settings;
    private final HttpCaller caller;
    private final Backoff backoff;
    private final RateLimiter limiter;
    private final URI uri;

    public Capturer(CaptureSettings settings) {
        this(settings, new HttpCaller(HttpCaller.newClient(settings.timeout()), settings.timeout()),
                new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), new java.util.Random()),
                RateLimiter.perSecond(settings.perSecond()));
    }

    Capturer(CaptureSettings settings, HttpCaller caller, Backoff backoff, RateLimiter limiter) {
        this.settings = settings;
        this.caller = caller;
        this.backoff = backoff;
        this.limiter = limiter;
        this.uri = CaptureSettings.resolve(settings.baseUrl(), settings.kind().route());
    }

    /**
     * Captures every probe the checkpoint lacks.
     *
     * @param dim the embedding length the answers must have (0: whatever the first answer has)
     */
    public Result run(List<Probe> probes, CaptureCheckpoint checkpoint, int dim, Progress progress)
            throws InterruptedException {
        Queue<Integer> pending = new ConcurrentLinkedQueue<>();
        for (int p = 0; p < probes.size(); p++) {
            if (!checkpoint.answered().containsKey(p)) {
                pending.add(p);
            }
        }
        Run run = new Run(probes, checkpoint, pending, progress, new AtomicInteger(dim));
        int threads = Math.min(settings.concurrency(), Math.max(1, pending.size()));
        ExecutorService workers = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "capture");
            t.setDaemon(true);
            return t;
        });
        try {
            for (int i = 0; i < threads; i++) {
                workers.execute(run::work);
            }
            workers.shutdown();
            while (!workers.awaitTermination(1, TimeUnit.HOURS)) {
                // a capture may take longer than an hour; keep waiting
            }
        } finally {
            workers.shutdownNow();
        }
        if (run.broken.get() != null) {
            throw new UncheckedIOException("cannot write checkpoint " + checkpoint.file(), run.broken.get());
        }
        List<Failure> failures = new ArrayList<>(run.failures);
        failures.sort(Comparator.comparingInt(Failure::probe));
        return new Result(new TreeMap<>(checkpoint.answered()), failures, run.stoppedBy.get());
    }

    /** One run's shared state: the probes left, what failed, and whether to stop. */
    private final class Run {
        final List<Probe> probes;
        final CaptureCheckpoint checkpoint;
        final Queue<Integer> pending;
        final Progress progress;
        final AtomicInteger dim;
        final Queue<Failure> failures = new ConcurrentLinkedQueue<>();
        final AtomicReference<String> stoppedBy = new AtomicReference<>();
        final AtomicReference<IOException> broken = new AtomicReference<>();
        final AtomicInteger failuresInARow = new AtomicInteger();

        Run(List<Probe> probes, CaptureCheckpoint checkpoint, Queue<Integer> pending, Progress progress,
            AtomicInteger dim) {
            this.probes = probes;
            this.checkpoint = checkpoint;
            this.pending = pending;
            this.progress = progress;
            this.dim = dim;
        }

        void work() {
            Integer p;
            while (stoppedBy.get() == null && (p = pending.poll()) != null) {
                try {
                    capture(p);
                } catch (InterruptedException e) {
                    stoppedBy.compareAndSet(null, "interrupted");
                    return;
                } catch (IOException e) {
                    broken.compareAndSet(null, e);
                    stoppedBy.compareAndSet(null, "cannot write the checkpoint: " + e.getMessage());
                    return;
                }
            }
        }

        private void capture(int p) throws InterruptedException, IOException {
            Asker asker = new Asker(probes.get(p), p, dim);
            for (int tries = 1; ; tries++) {
                limiter.acquire();
                try {
                    checkpoint.record(asker.ask());
                    failuresInARow.set(0);
                    progress.captured(p);
                    return;
                } catch (BadAnswer e) {
                    stoppedBy.compareAndSet(null, "probe " + p + ": " + e.getMessage());
                    return;
                } catch (CallFailure e) {
                    if (e.kind() == CallFailure.Kind.FATAL) {
                        stoppedBy.compareAndSet(null, "probe " + p + ": " + e.getMessage());
                        return;
                    }
                    int down = Math.max(DOWN_AFTER_FAILURES, 2 * settings.concurrency());
                    if (e.kind() == CallFailure.Kind.RETRYABLE && !e.getMessage().startsWith("HTTP 429")
                            && failuresInARow.incrementAndGet() >= down) {
                        stoppedBy.compareAndSet(null, "the endpoint failed " + down + " requests in "
                                + "a row without one answer, the last (probe " + p + "): " + e.getMessage()
                                + "; is it up at " + settings.baseUrl() + "?");
                        failures.add(new Failure(p, e.getMessage(), tries));
                        return;
                    }
                    Duration asked = e.retryAfter();
                    if (e.kind() == CallFailure.Kind.PROBE || tries > settings.retries()
                            || asked != null && asked.compareTo(MAX_RETRY_AFTER) > 0) {
                        String why = asked != null && asked.compareTo(MAX_RETRY_AFTER) > 0
                                ? e.getMessage() + " (the endpoint asks to wait " + HttpCaller.seconds(asked) + ")"
                                : e.getMessage();
                        failures.add(new Failure(p, why, tries));
                        return;
                    }
                    if (asked != null) {
                        limiter.pauseFor(asked.toNanos());
                    }
                    Thread.sleep(backoff.delay(tries, asked).toMillis());
                    if (stoppedBy.get() != null) {
                        return;
                    }
                }
            }
        }
    }

    /** One probe's request (or two, for an answer then its embedding), remembering what is already had across retries. */
    private final class Asker {
        private final Probe probe;
        private final int index;
        private final AtomicInteger dim;
        private String answer;

        Asker(Probe probe, int index, AtomicInteger dim) {
            this.probe = probe;
            this.index = index;
            this.dim = dim;
        }

        ObjectNode ask() throws CallFailure, BadAnswer, InterruptedException {
            ObjectNode line = OpenAiProtocol.JSON.createObjectNode();
            line.put("probe", index);
            switch (settings.kind()) {
                case CHAT, COMPLETIONS -> {
                    ObjectNode body = settings.kind() == EndpointKind.CHAT
                            ? OpenAiProtocol.chatBody(settings.model(), probe, settings.topLogprobs(),
                            settings.maxTokens(), settings.temperature())
                            : OpenAiProtocol.completionBody(settings.model(), probe, settings.topLogprobs(),
                            settings.maxTokens(), settings.temperature());
                    JsonNode json = caller.post(uri, settings.apiKey(), settings.keyHint(), body);
                    ArrayNode top = line.putArray("top_logprobs");
                    for (TopKEntry e : OpenAiProtocol.topK(json, settings.kind(), settings.topLogprobs())) {
                        top.addObject().put("token", e.token()).put("logprob", e.logprob());
                    }
                }
                case EMBEDDINGS -> putEmbedding(line, caller.post(uri, settings.apiKey(), settings.keyHint(),
                        OpenAiProtocol.embeddingBody(settings.model(), OpenAiProtocol.text(probe))));
                case ANSWER_THEN_EMBED -> {
                    if (answer == null) {
                        answer = OpenAiProtocol.content(caller.post(uri, settings.apiKey(), settings.keyHint(),
                                OpenAiProtocol.chatBody(settings.model(), probe, 0, settings.maxTokens(),
                                        settings.temperature())));
                    }
                    CaptureSettings.Embedder e = settings.embedder();
                    line.put("answer", answer);
                    putEmbedding(line, caller.post(CaptureSettings.resolve(e.baseUrl(), "embeddings"), e.apiKey(),
                            e.keyHint(), OpenAiProtocol.embeddingBody(e.model(), answer.isEmpty() ? " " : answer)));
                }
            }
            return line;
        }

        private void putEmbedding(ObjectNode line, JsonNode json) throws BadAnswer {
            float[] row = OpenAiProtocol.embedding(json);
            dim.compareAndSet(0, row.length);
            if (row.length != dim.get()) {
                throw new BadAnswer("the embedding has " + row.length + " values, not the " + dim.get()
                        + " of the probe set (or of the first answer)");
            }
            ArrayNode values = line.putArray("embedding");
            for (float v : row) {
                values.add(v);
            }
        }
    }
}
