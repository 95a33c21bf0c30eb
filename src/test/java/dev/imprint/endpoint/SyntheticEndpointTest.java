package dev.imprint.endpoint;

import static dev.imprint.endpoint.EndpointClient.JSON;
import static dev.imprint.endpoint.EndpointClient.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each route over real loopback HTTP: OpenAI's shapes, determinism, truth, and request errors. */
class SyntheticEndpointTest {
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
    void baseUrlNamesLoopbackAndThePortChosen() {
        assertTrue(endpoint.port() > 0);
        assertEquals("http://127.0.0.1:" + endpoint.port() + "/v1", endpoint.baseUrl());
    }

    @Test
    void modelsListsTheCatalogInOpenAisShape() throws Exception {
        HttpResponse<String> response = client.get("/models");
        assertEquals(200, response.statusCode());
        JsonNode list = JSON.readTree(response.body());
        assertEquals("list", list.get("object").asText());
        List<String> ids = new ArrayList<>();
        for (JsonNode model : list.get("data")) {
            assertEquals("model", model.get("object").asText());
            assertEquals("imprint-synthetic", model.get("owned_by").asText());
            ids.add(model.get("id").asText());
        }
        assertEquals(endpoint.models().all().stream().map(SyntheticModels.Model::id).toList(), ids);
    }

    @Test
    void chatCompletionHasOpenAisShapeAndSortedTopLogprobs() throws Exception {
        JsonNode response = client.ok("/chat/completions", chat("atlas-7b", "Tell me about rivers", 4, 5));
        assertTrue(response.get("id").isTextual());
        assertEquals("chat.completion", response.get("object").asText());
        assertTrue(response.get("created").isIntegralNumber());
        assertEquals("atlas-7b", response.get("model").asText());
        JsonNode choice = response.get("choices").get(0);
        assertEquals(0, choice.get("index").asInt());
        assertEquals("assistant", choice.get("message").get("role").asText());
        String content = choice.get("message").get("content").asText();
        assertTrue(List.of("length", "stop").contains(choice.get("finish_reason").asText()));
        JsonNode positions = choice.get("logprobs").get("content");
        assertTrue(positions.size() >= 1 && positions.size() <= 4);
        StringBuilder spelled = new StringBuilder();
        for (JsonNode position : positions) {
            assertToken(position);
            spelled.append(position.get("token").asText());
            JsonNode top = position.get("top_logprobs");
            assertEquals(5, top.size());
            double mass = 0;
            for (int k = 0; k < top.size(); k++) {
                assertToken(top.get(k));
                mass += Math.exp(top.get(k).get("logprob").asDouble());
                if (k > 0) {
                    assertTrue(top.get(k - 1).get("logprob").asDouble() >= top.get(k).get("logprob").asDouble());
                }
            }
            assertTrue(mass <= 1 + 1e-9, "top mass " + mass);
        }
        assertEquals(content, spelled.toString());
        JsonNode usage = response.get("usage");
        assertEquals(positions.size(), usage.get("completion_tokens").asInt());
        assertEquals(usage.get("prompt_tokens").asInt() + usage.get("completion_tokens").asInt(),
                usage.get("total_tokens").asInt());
    }

    @Test
    void chatWithoutLogprobsAnswersLogprobsNull() throws Exception {
        JsonNode response = client.ok("/chat/completions", chat("cedar-3b", "hello", 2, null));
        assertTrue(response.get("choices").get(0).get("logprobs").isNull());
    }

    @Test
    void sameRequestTwiceGivesTheSameBodyButItsIdAndCreated() throws Exception {
        ObjectNode sampled = chat("dune-4b", "A seeded sample", 6, 3);
        sampled.put("temperature", 0.9);
        sampled.put("seed", 7);
        for (ObjectNode request : List.of(chat("boreal-8b", "Same twice", 6, 20), sampled)) {
            ObjectNode first = (ObjectNode) client.ok("/chat/completions", request);
            ObjectNode second = (ObjectNode) client.ok("/chat/completions", request);
            first.remove(List.of("id", "created"));
            second.remove(List.of("id", "created"));
            assertEquals(first, second);
        }
    }

    @Test
    void topLogprobsAreTheTruthsMostProbableTokens() throws Exception {
        for (String model : List.of("atlas-70b", "boreal-32b", "pupil-1b")) {
            for (int k : new int[] {1, 7, 20}) {
                String prompt = "Truth probe " + k + " for " + model;
                JsonNode top = client.ok("/chat/completions", chat(model, prompt, 1, k))
                        .get("choices").get(0).get("logprobs").get("content").get(0).get("top_logprobs");
                Map<String, Double> truth = endpoint.models().nextTokenDistribution(model, prompt);
                assertEquals(Math.min(k, truth.size()), top.size());
                Iterator<Map.Entry<String, Double>> expected = truth.entrySet().iterator();
                for (JsonNode entry : top) {
                    Map.Entry<String, Double> e = expected.next();
                    assertEquals(e.getKey(), entry.get("token").asText());
                    assertEquals(Math.log(e.getValue()), entry.get("logprob").asDouble(), 1e-9);
                }
            }
        }
    }

    @Test
    void greedyFirstTokenIsTheTruthsMostProbable() throws Exception {
        String prompt = "Greedy probe";
        JsonNode position = client.ok("/chat/completions", chat("loner-2b", prompt, 1, 0))
                .get("choices").get(0).get("logprobs").get("content").get(0);
        Map.Entry<String, Double> best = endpoint.models().nextTokenDistribution("loner-2b", prompt).entrySet()
                .iterator().next();
        assertEquals(best.getKey(), position.get("token").asText());
        assertEquals(0, position.get("top_logprobs").size());
    }

    @Test
    void legacyCompletionHasTokensLogprobsTopAndOffsets() throws Exception {
        ObjectNode request = JSON.createObjectNode();
        request.put("model", "atlas-13b");
        request.put("prompt", "Once upon");
        request.put("max_tokens", 3);
        request.put("temperature", 0);
        request.put("logprobs", 5);
        JsonNode response = client.ok("/completions", request);
        assertEquals("text_completion", response.get("object").asText());
        JsonNode choice = response.get("choices").get(0);
        JsonNode logprobs = choice.get("logprobs");
        int n = logprobs.get("tokens").size();
        assertTrue(n >= 1 && n <= 3);
        assertEquals(n, logprobs.get("token_logprobs").size());
        assertEquals(n, logprobs.get("top_logprobs").size());
        assertEquals(n, logprobs.get("text_offset").size());
        assertEquals("Once upon".length(), logprobs.get("text_offset").get(0).asInt());
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < n; i++) {
            text.append(logprobs.get("tokens").get(i).asText());
            assertTrue(logprobs.get("token_logprobs").get(i).asDouble() <= 0);
            JsonNode top = logprobs.get("top_logprobs").get(i);
            assertEquals(5, top.size());
            double previous = 0;
            for (Iterator<Map.Entry<String, JsonNode>> it = top.fields(); it.hasNext(); ) {
                double logprob = it.next().getValue().asDouble();
                assertTrue(logprob <= previous);
                previous = logprob;
            }
        }
        assertEquals(choice.get("text").asText(), text.toString());
    }

    @Test
    void embeddingsAnswerUnitVectorsForEachInput() throws Exception {
        ObjectNode request = JSON.createObjectNode();
        request.put("model", "pupil-embed");
        request.putArray("input").add("first text").add("second text");
        JsonNode response = client.ok("/embeddings", request);
        assertEquals("list", response.get("object").asText());
        assertEquals("pupil-embed", response.get("model").asText());
        assertTrue(response.get("usage").get("prompt_tokens").asInt() > 0);
        assertEquals(2, response.get("data").size());
        for (int i = 0; i < 2; i++) {
            JsonNode item = response.get("data").get(i);
            assertEquals("embedding", item.get("object").asText());
            assertEquals(i, item.get("index").asInt());
            double[] truth = endpoint.models().embedding("pupil-embed", i == 0 ? "first text" : "second text");
            assertEquals(truth.length, item.get("embedding").size());
            for (int d = 0; d < truth.length; d++) {
                assertEquals(truth[d], item.get("embedding").get(d).asDouble(), 1e-6);
            }
        }
    }

    @Test
    void eachKindOfModelAnswersOnlyItsOwnRoutes() throws Exception {
        ObjectNode embed = JSON.createObjectNode();
        embed.put("model", "atlas-7b");
        embed.put("input", "text");
        assertEquals(404, client.post("/embeddings", embed).statusCode());
        assertEquals(404, client.post("/chat/completions", chat("atlas-embed", "hi", 1, null)).statusCode());
    }

    @Test
    void requestErrorsGetOpenAiErrorBodies() throws Exception {
        assertError(client.post("/chat/completions", chat("gpt-imaginary", "hi", 1, null)), 404, "model_not_found");
        assertError(client.post("/chat/completions", chat("atlas-7b", "hi", 1, 21)), 400, "integer_above_max_value");
        ObjectNode withoutLogprobs = chat("atlas-7b", "hi", 1, 3);
        withoutLogprobs.remove("logprobs");
        assertError(client.post("/chat/completions", withoutLogprobs), 400, null);
        assertError(client.postRaw("/chat/completions", "{\"model\": \"atlas-7b\", "), 400, null);
        assertError(client.get("/nowhere"), 404, null);
    }

    @Test
    void requestsAreLoggedInArrivalOrderWithTheirStatus() throws Exception {
        client.ok("/chat/completions", chat("atlas-7b", "first", 1, null));
        client.post("/chat/completions", chat("nobody", "second", 1, null));
        List<SyntheticEndpoint.Request> requests = endpoint.requests();
        assertEquals(List.of(new SyntheticEndpoint.Request("/v1/chat/completions", "atlas-7b", "first", null, 200),
                new SyntheticEndpoint.Request("/v1/chat/completions", "nobody", "second", null, 404)), requests);
    }

    @Test
    void apiKeyIsRequiredWhenConfigured() throws Exception {
        try (SyntheticEndpoint guarded = SyntheticEndpoint.start("127.0.0.1", 0, "sk-test")) {
            guarded.faults().enqueue(Fault.status(500));
            assertError(new EndpointClient(guarded).post("/chat/completions", chat("atlas-7b", "hi", 1, null)), 401,
                    "invalid_api_key");
            assertError(new EndpointClient(guarded.baseUrl(), "sk-wrong").get("/models"), 401, "invalid_api_key");
            // The refused requests did not take the queued fault.
            assertEquals(500, new EndpointClient(guarded.baseUrl(), "sk-test").get("/models").statusCode());
            assertEquals(200, new EndpointClient(guarded.baseUrl(), "sk-test").get("/models").statusCode());
            assertEquals("Bearer sk-test", guarded.requests().get(3).authorization());
        }
    }

    @Test
    void manyConcurrentRequestsAreAllAnsweredCorrectly() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(16);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int thread = t;
                results.add(threads.submit(() -> {
                    for (int i = 0; i < 20; i++) {
                        String prompt = "concurrent " + thread + "/" + i;
                        JsonNode top = client.ok("/chat/completions", chat("cedar-9b", prompt, 1, 1))
                                .get("choices").get(0).get("logprobs").get("content").get(0).get("top_logprobs");
                        String expected = endpoint.models().nextTokenDistribution("cedar-9b", prompt).keySet()
                                .iterator().next();
                        if (!expected.equals(top.get(0).get("token").asText())) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> result : results) {
                assertTrue(result.get(60, TimeUnit.SECONDS));
            }
            assertEquals(320, endpoint.requests().size());
            assertFalse(endpoint.requests().stream().anyMatch(r -> r.status() != 200));
        } finally {
            threads.shutdownNow();
        }
    }

    private static void assertToken(JsonNode entry) {
        assertTrue(entry.get("token").isTextual());
        assertTrue(entry.get("logprob").isNumber());
        assertTrue(entry.get("logprob").asDouble() <= 0);
        byte[] utf8 = entry.get("token").asText().getBytes(StandardCharsets.UTF_8);
        assertEquals(utf8.length, entry.get("bytes").size());
        for (int i = 0; i < utf8.length; i++) {
            assertEquals(utf8[i] & 0xFF, entry.get("bytes").get(i).asInt());
        }
    }

    static void assertError(HttpResponse<String> response, int status, String code) throws Exception {
        assertEquals(status, response.statusCode(), response.body());
        JsonNode error = JSON.readTree(response.body()).get("error");
        assertTrue(error.get("message").isTextual());
        assertTrue(error.get("type").isTextual());
        if (code != null) {
            assertEquals(code, error.get("code").asText());
        }
    }
}
