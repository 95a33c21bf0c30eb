package dev.imprint.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.imprint.core.ChatMessage;
import dev.imprint.core.Probe;
import dev.imprint.endpoint.Fault;
import dev.imprint.endpoint.SyntheticEndpoint;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A capture against a real HTTP server on loopback playing an OpenAI-compatible endpoint
 * ({@link SyntheticEndpoint}), which injects 429s, 5xx, slow answers, dropped connections and
 * malformed bodies. Backoff is shortened so retries take milliseconds; Retry-After is not.
 */
class CapturerTest {
    private static final String KEY = "sk-test-123";

    @TempDir
    Path dir;

    private SyntheticEndpoint endpoint;
    private final List<Probe> probes = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        endpoint = SyntheticEndpoint.start("127.0.0.1", 0, KEY);
        for (int p = 0; p < 24; p++) {
            probes.add(Probe.chat(List.of(new ChatMessage("user", "Probe number " + p + ": continue the story"))));
        }
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    private CaptureSettings settings(EndpointKind kind, String model, String key, int retries, Duration timeout,
                                     double perSecond, int concurrency) {
        CaptureSettings.Embedder embedder = kind == EndpointKind.ANSWER_THEN_EMBED
                ? new CaptureSettings.Embedder(URI.create(endpoint.baseUrl()), "atlas-embed", KEY, "set it") : null;
        return new CaptureSettings(URI.create(endpoint.baseUrl()), model, key, "set the key in $K", kind, 20,
                kind == EndpointKind.ANSWER_THEN_EMBED ? 8 : 1, 1.0, embedder, concurrency, perSecond, timeout, retries);
    }

    private CaptureSettings chat(int retries) {
        return settings(EndpointKind.CHAT, "atlas-7b", KEY, retries, Duration.ofSeconds(5), 0, 4);
    }

    private static Capturer capturer(CaptureSettings s) {
        return new Capturer(s, new HttpCaller(HttpCaller.newClient(s.timeout()), s.timeout()),
                new Backoff(Duration.ofMillis(2), Duration.ofMillis(20), new Random(1)), RateLimiter.perSecond(s.perSecond()));
    }

    /** Runs a capture with a checkpoint per model, kind and dim, so reruns of one capture resume it. */
    private Capturer.Result run(CaptureSettings s, List<Probe> list, int dim, Set<Integer> progress) throws Exception {
        Path file = dir.resolve(s.model() + "-" + s.kind() + "-" + dim);
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(file, s.identity("d"), list.size())) {
            return capturer(s).run(list, cp, dim, progress::add);
        }
    }

    private Capturer.Result run(CaptureSettings s) throws Exception {
        return run(s, probes, 0, ConcurrentHashMap.newKeySet());
    }

    private long requestsFor(String promptPart) {
        return endpoint.requests().stream().filter(r -> r.promptText().contains(promptPart)).count();
    }

    @Test
    void capturesEveryProbesTopLogprobsAsTheModelHasThem() throws Exception {
        Set<Integer> progress = ConcurrentHashMap.newKeySet();
        Capturer.Result result = run(chat(0), probes, 0, progress);
        assertTrue(result.complete(probes.size()), result.toString());
        assertEquals(probes.size(), progress.size());
        assertTrue(result.failures().isEmpty());
        assertNull(result.stoppedBy());
        for (int p = 0; p < probes.size(); p++) {
            Map<String, Double> truth = endpoint.models().nextTokenDistribution("atlas-7b",
                    probes.get(p).messages().get(0).content());
            List<Map.Entry<String, Double>> best = truth.entrySet().stream()
                    .sorted((a, b) -> Double.compare(b.getValue(), a.getValue())).limit(20).toList();
            JsonNode top = result.answers().get(p).get("top_logprobs");
            assertEquals(best.size(), top.size());
            for (int i = 0; i < best.size(); i++) {
                assertEquals(best.get(i).getKey(), top.get(i).get("token").asText());
                assertEquals(Math.log(best.get(i).getValue()), top.get(i).get("logprob").asDouble(), 1e-9);
            }
        }
        assertTrue(endpoint.requests().stream().allMatch(r -> ("Bearer " + KEY).equals(r.authorization())));
    }

    @Test
    void retriesThroughEveryTransientFaultAndHonoursRetryAfter() throws Exception {
        endpoint.faults().forPrompt("number 3:", Fault.rateLimited(1));
        endpoint.faults().forPrompt("number 5:", Fault.status(500), Fault.status(503));
        endpoint.faults().forPrompt("number 7:", Fault.drop());
        endpoint.faults().forPrompt("number 9:", Fault.slow(1500));
        endpoint.faults().forPrompt("number 11:", Fault.malformed());
        endpoint.faults().forPrompt("number 13:", Fault.rateLimited(null));
        long start = System.nanoTime();
        Capturer.Result result = run(settings(EndpointKind.CHAT, "atlas-7b", KEY, 3, Duration.ofMillis(700), 0, 4));
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(result.complete(probes.size()), result.toString());
        assertEquals(2, requestsFor("number 3:"));
        assertEquals(3, requestsFor("number 5:"));
        assertEquals(2, requestsFor("number 7:"));
        assertEquals(2, requestsFor("number 9:"));
        assertEquals(2, requestsFor("number 11:"));
        assertEquals(2, requestsFor("number 13:"));
        assertTrue(elapsedMillis >= 1000, "Retry-After: 1 was not honoured: " + elapsedMillis + " ms");
    }

    @Test
    void aProbeOutOfRetriesIsSummarisedAndARerunAsksOnlyForIt() throws Exception {
        endpoint.faults().forPrompt("number 4:", Fault.status(502), Fault.status(502), Fault.status(502));
        endpoint.faults().forPrompt("number 6:", Fault.status(400));
        Capturer.Result first = run(chat(2));
        assertEquals(probes.size() - 2, first.answers().size());
        assertEquals(2, first.failures().size());
        Capturer.Failure f4 = first.failures().get(0);
        assertEquals(4, f4.probe());
        assertEquals(3, f4.tries());
        assertTrue(f4.message().startsWith("HTTP 502"), f4.message());
        Capturer.Failure f6 = first.failures().get(1);
        assertEquals(6, f6.probe());
        assertEquals(1, f6.tries(), "a 400 is not asked again");
        int before = endpoint.requests().size();
        Capturer.Result second = run(chat(2));
        assertTrue(second.complete(probes.size()), second.toString());
        assertEquals(2, endpoint.requests().size() - before, "the rerun asks only for the two missing probes");
    }

    @Test
    void anEndpointWideProblemStopsTheCaptureAndKeepsWhatItHas() throws Exception {
        endpoint.faults().forPrompt("number 10:", Fault.ignoreTopLogprobs());
        Capturer.Result ignored = run(settings(EndpointKind.CHAT, "atlas-7b", KEY, 0, Duration.ofSeconds(5), 0, 1));
        assertEquals("probe 10: the answer lists 0 top logprobs of the 20 asked: the endpoint ignores top_logprobs",
                ignored.stoppedBy());
        assertEquals(10, ignored.answers().size(), "one worker in probe order stops at probe 10");

        endpoint.faults().forPrompt("number 10:", Fault.noLogprobs());
        Capturer.Result none = run(settings(EndpointKind.CHAT, "atlas-7b", KEY, 0, Duration.ofSeconds(5), 0, 1));
        assertTrue(none.stoppedBy().startsWith("probe 10: the answer carries no logprobs"), none.stoppedBy());

        Capturer.Result wrongKey = run(settings(EndpointKind.CHAT, "atlas-7b", "sk-wrong", 3, Duration.ofSeconds(5), 0, 4));
        assertTrue(wrongKey.stoppedBy().contains("the endpoint refused the key (HTTP 401"), wrongKey.stoppedBy());
        assertTrue(wrongKey.stoppedBy().endsWith("set the key in $K"), wrongKey.stoppedBy());
        assertEquals(10, wrongKey.answers().size(), "nothing recorded is lost");

        Capturer.Result unknown = run(settings(EndpointKind.CHAT, "no-such-model", KEY, 3, Duration.ofSeconds(5), 0, 4));
        assertTrue(unknown.stoppedBy().contains("HTTP 404") && unknown.stoppedBy().contains("check --base-url and --model"),
                unknown.stoppedBy());
    }

    @Test
    void aDeadEndpointStopsTheCaptureSoonWithTheReason() throws Exception {
        int port = endpoint.port();
        endpoint.close();
        long start = System.nanoTime();
        Capturer.Result result = run(settings(EndpointKind.CHAT, "atlas-7b", KEY, 5, Duration.ofSeconds(2), 0, 4));
        assertTrue(result.stoppedBy().startsWith("the endpoint failed 12 requests in a row without one answer"),
                result.stoppedBy());
        assertTrue(result.stoppedBy().contains("cannot connect to 127.0.0.1:" + port), result.stoppedBy());
        assertTrue(result.answers().isEmpty());
        assertTrue(System.nanoTime() - start < 10_000_000_000L, "it stops within seconds, not after every retry");
    }

    @Test
    void aSilentEndpointTimesOutAndStops() throws Exception {
        for (int i = 0; i < 40; i++) {
            endpoint.faults().enqueue(Fault.slow(5000));
        }
        Capturer.Result result = run(settings(EndpointKind.CHAT, "atlas-7b", KEY, 5, Duration.ofMillis(200), 0, 8));
        assertTrue(result.stoppedBy().startsWith("the endpoint failed 16 requests in a row"), result.stoppedBy());
        assertTrue(result.stoppedBy().contains("no answer within 0.2 s"), result.stoppedBy());
    }

    @Test
    void rateLimitsAreWaitedOutHoweverMany() throws Exception {
        for (int i = 0; i < 30; i++) {
            endpoint.faults().enqueue(Fault.rateLimited(null));
        }
        Capturer.Result result = run(settings(EndpointKind.CHAT, "atlas-7b", KEY, 30, Duration.ofSeconds(5), 0, 2));
        assertTrue(result.complete(probes.size()), result.toString());
    }

    @Test
    void theRequestRateIsHeld() throws Exception {
        long start = System.nanoTime();
        Capturer.Result result = run(settings(EndpointKind.CHAT, "atlas-7b", KEY, 0, Duration.ofSeconds(5), 20, 8),
                probes.subList(0, 11), 0, ConcurrentHashMap.newKeySet());
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(result.complete(11));
        assertTrue(elapsedMillis >= 480, "11 requests at 20/s take at least 0.5 s, took " + elapsedMillis + " ms");
    }

    @Test
    void legacyCompletionsGiveTheSameTopTokens() throws Exception {
        List<Probe> prompts = probes.stream().map(p -> Probe.completion(p.messages().get(0).content())).toList();
        Capturer.Result completions = run(settings(EndpointKind.COMPLETIONS, "atlas-7b", KEY, 0, Duration.ofSeconds(5),
                0, 4), prompts, 0, ConcurrentHashMap.newKeySet());
        assertTrue(completions.complete(prompts.size()), completions.toString());
        Set<String> tokens = new TreeSet<>();
        completions.answers().get(0).get("top_logprobs").forEach(e -> tokens.add(e.get("token").asText()));
        Map<String, Double> truth = endpoint.models().nextTokenDistribution("atlas-7b", prompts.get(0).prompt());
        assertTrue(truth.keySet().containsAll(tokens) && tokens.size() >= 2, tokens.toString());
    }

    @Test
    void embeddingsAreCheckedAgainstTheProbeSetsDim() throws Exception {
        Capturer.Result ok = run(settings(EndpointKind.EMBEDDINGS, "atlas-embed", KEY, 0, Duration.ofSeconds(5), 0, 4),
                probes, 256, ConcurrentHashMap.newKeySet());
        assertTrue(ok.complete(probes.size()), ok.toString());
        double[] truth = endpoint.models().embedding("atlas-embed", OpenAiProtocol.text(probes.get(2)));
        JsonNode row = ok.answers().get(2).get("embedding");
        for (int j = 0; j < truth.length; j++) {
            assertEquals((float) truth[j], row.get(j).floatValue(), 1e-6);
        }
        Capturer.Result wrongDim = run(settings(EndpointKind.EMBEDDINGS, "atlas-embed", KEY, 0, Duration.ofSeconds(5),
                0, 1), probes, 128, ConcurrentHashMap.newKeySet());
        assertTrue(wrongDim.stoppedBy().contains("the embedding has 256 values, not the 128"), wrongDim.stoppedBy());
    }

    @Test
    void answersAreEmbeddedThroughTheSecondEndpoint() throws Exception {
        Capturer.Result result = run(settings(EndpointKind.ANSWER_THEN_EMBED, "atlas-7b", KEY, 2, Duration.ofSeconds(5),
                0, 4), probes.subList(0, 6), 256, ConcurrentHashMap.newKeySet());
        assertTrue(result.complete(6), result.toString());
        String answer = result.answers().get(0).get("answer").asText();
        assertTrue(!answer.isBlank());
        double[] truth = endpoint.models().embedding("atlas-embed", answer);
        assertEquals((float) truth[0], result.answers().get(0).get("embedding").get(0).floatValue(), 1e-6);
    }
}
