package dev.imprint.endpoint;

import static dev.imprint.endpoint.EndpointClient.JSON;
import static dev.imprint.endpoint.EndpointClient.chat;
import static dev.imprint.endpoint.SyntheticEndpointTest.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each injected fault as a client sees it over real HTTP, and how faults are queued and consumed. */
class FaultsTest {
    private static final ObjectNode REQUEST = chat("atlas-7b", "a probe", 2, 5);

    private SyntheticEndpoint endpoint;
    private EndpointClient client;

    @BeforeEach
    void start() throws Exception {
        endpoint = SyntheticEndpoint.start("127.0.0.1", 0, null);
        client = new EndpointClient(endpoint);
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    @Test
    void rateLimitedAnswers429WithRetryAfterOnlyWhenGiven() throws Exception {
        endpoint.faults().enqueue(Fault.rateLimited(7), Fault.rateLimited(null));
        HttpResponse<String> withHeader = client.post("/chat/completions", REQUEST);
        assertError(withHeader, 429, "rate_limit_exceeded");
        assertEquals("7", withHeader.headers().firstValue("Retry-After").orElseThrow());
        HttpResponse<String> without = client.post("/chat/completions", REQUEST);
        assertError(without, 429, "rate_limit_exceeded");
        assertTrue(without.headers().firstValue("Retry-After").isEmpty());
        assertEquals(200, client.post("/chat/completions", REQUEST).statusCode());
    }

    @Test
    void statusFaultAnswersThatStatusWithAnErrorBody() throws Exception {
        endpoint.faults().enqueue(Fault.status(500), Fault.status(503), Fault.status(400));
        assertError(client.post("/chat/completions", REQUEST), 500, null);
        assertError(client.post("/chat/completions", REQUEST), 503, null);
        assertError(client.post("/chat/completions", REQUEST), 400, null);
        assertEquals(List.of(500, 503, 400), endpoint.requests().stream().map(SyntheticEndpoint.Request::status).toList());
    }

    @Test
    void slowAnswersCorrectlyAfterTheDelay() throws Exception {
        JsonNode expected = client.ok("/chat/completions", REQUEST).get("choices");
        endpoint.faults().enqueue(Fault.slow(400));
        long start = System.nanoTime();
        JsonNode slow = client.ok("/chat/completions", REQUEST).get("choices");
        assertTrue(System.nanoTime() - start >= 400_000_000L);
        assertEquals(expected, slow);
    }

    @Test
    void dropClosesTheConnectionWithoutAnAnswer() throws Exception {
        endpoint.faults().enqueue(Fault.drop());
        assertThrows(IOException.class, () -> client.post("/chat/completions", REQUEST));
        assertEquals(200, client.post("/chat/completions", REQUEST).statusCode());
        assertEquals(0, endpoint.requests().get(0).status());
    }

    @Test
    void malformedAnswers200WithABodyThatIsNotJson() throws Exception {
        endpoint.faults().enqueue(Fault.malformed());
        HttpResponse<String> response = client.post("/chat/completions", REQUEST);
        assertEquals(200, response.statusCode());
        assertTrue(response.body().startsWith("{"));
        assertThrows(JsonProcessingException.class, () -> JSON.readTree(response.body()));
    }

    @Test
    void noLogprobsAnswersTheCompletionWithLogprobsNull() throws Exception {
        endpoint.faults().enqueue(Fault.noLogprobs());
        JsonNode choice = client.ok("/chat/completions", REQUEST).get("choices").get(0);
        assertTrue(choice.get("logprobs").isNull());
        assertTrue(choice.get("message").get("content").isTextual());
    }

    @Test
    void ignoreTopLogprobsLeavesEachPositionsTopEmpty() throws Exception {
        endpoint.faults().enqueue(Fault.ignoreTopLogprobs(), Fault.ignoreTopLogprobs());
        JsonNode content = client.ok("/chat/completions", REQUEST).get("choices").get(0).get("logprobs").get("content");
        assertTrue(content.size() > 0);
        for (JsonNode position : content) {
            assertTrue(position.get("logprob").isNumber());
            assertTrue(position.get("top_logprobs").isArray());
            assertEquals(0, position.get("top_logprobs").size());
        }
        ObjectNode legacy = JSON.createObjectNode();
        legacy.put("model", "atlas-7b");
        legacy.put("prompt", "a probe");
        legacy.put("logprobs", 5);
        for (JsonNode top : client.ok("/completions", legacy).get("choices").get(0).get("logprobs").get("top_logprobs")) {
            assertEquals(0, top.size());
        }
    }

    @Test
    void forPromptAppliesOnlyToMatchingPromptsInOrderAndOnce() throws Exception {
        endpoint.faults().forPrompt("needle", Fault.status(503), Fault.rateLimited(1));
        assertEquals(200, client.post("/chat/completions", chat("atlas-7b", "hay", 1, null)).statusCode());
        assertEquals(503, client.post("/chat/completions", chat("atlas-7b", "a needle here", 1, null)).statusCode());
        assertEquals(200, client.post("/chat/completions", chat("atlas-7b", "more hay", 1, null)).statusCode());
        assertEquals(429, client.post("/chat/completions", chat("atlas-7b", "needle again", 1, null)).statusCode());
        assertEquals(200, client.post("/chat/completions", chat("atlas-7b", "needle thrice", 1, null)).statusCode());
    }

    @Test
    void enqueuedFaultsAreConsumedOnceAndClearForgetsThem() throws Exception {
        endpoint.faults().enqueue(Fault.status(500));
        assertEquals(500, client.post("/chat/completions", REQUEST).statusCode());
        assertEquals(200, client.post("/chat/completions", REQUEST).statusCode());
        endpoint.faults().enqueue(Fault.status(500));
        endpoint.faults().forPrompt("probe", Fault.status(503));
        endpoint.faults().clear();
        assertEquals(200, client.post("/chat/completions", REQUEST).statusCode());
    }

    @Test
    void faultFactoriesRejectImpossibleValues() {
        assertThrows(IllegalArgumentException.class, () -> Fault.status(200));
        assertThrows(IllegalArgumentException.class, () -> Fault.slow(-1));
        assertThrows(IllegalArgumentException.class, () -> Fault.rateLimited(-1));
    }
}
