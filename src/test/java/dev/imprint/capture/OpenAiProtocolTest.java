package dev.imprint.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.core.ChatMessage;
import dev.imprint.core.Probe;
import dev.imprint.topk.TopKEntry;
import java.util.List;
import org.junit.jupiter.api.Test;

class OpenAiProtocolTest {
    private static JsonNode json(String text) throws Exception {
        return OpenAiProtocol.JSON.readTree(text);
    }

    @Test
    void chatBodyAsksForTheFirstTokensTopLogprobs() {
        ObjectNode body = OpenAiProtocol.chatBody("m", Probe.chat(List.of(new ChatMessage("system", "be brief"),
                new ChatMessage("user", "The capital of France is"))), 20, 1, 1.0);
        assertEquals("m", body.get("model").asText());
        assertEquals(2, body.get("messages").size());
        assertEquals("user", body.get("messages").get(1).get("role").asText());
        assertTrue(body.get("logprobs").asBoolean());
        assertEquals(20, body.get("top_logprobs").asInt());
        assertEquals(1, body.get("max_tokens").asInt());
    }

    @Test
    void readsChatTopLogprobsInOrderAndLeavesOutImpossibleTokens() throws Exception {
        JsonNode answer = json("""
                {"choices":[{"index":0,"message":{"role":"assistant","content":" Paris"},
                 "logprobs":{"content":[{"token":" Paris","logprob":-0.1,"bytes":[32,80],
                   "top_logprobs":[{"token":" Paris","logprob":-0.1,"bytes":[32]},{"token":" Lyon","logprob":-2.5},
                                   {"token":" x","logprob":-1e400}]}]}}]}""");
        List<TopKEntry> top = OpenAiProtocol.topK(answer, EndpointKind.CHAT, 3);
        assertEquals(List.of(new TopKEntry(" Paris", -0.1), new TopKEntry(" Lyon", -2.5)), top);
    }

    @Test
    void readsLegacyCompletionTopLogprobsMostProbableFirst() throws Exception {
        JsonNode answer = json("""
                {"choices":[{"text":" Paris","logprobs":{"tokens":[" Paris"],"token_logprobs":[-0.1],
                 "top_logprobs":[{" Lyon":-2.5," Paris":-0.1," Nice":-3.0}],"text_offset":[0]}}]}""");
        List<TopKEntry> top = OpenAiProtocol.topK(answer, EndpointKind.COMPLETIONS, 3);
        assertEquals(List.of(" Paris", " Lyon", " Nice"), top.stream().map(TopKEntry::token).toList());
    }

    @Test
    void badAnswersSayWhatIsMissing() throws Exception {
        assertEquals("the answer has no choices", assertThrows(BadAnswer.class,
                () -> OpenAiProtocol.topK(json("{\"choices\":[]}"), EndpointKind.CHAT, 5)).getMessage());
        assertTrue(assertThrows(BadAnswer.class, () -> OpenAiProtocol.topK(
                json("{\"choices\":[{\"logprobs\":null}]}"), EndpointKind.CHAT, 5)).getMessage()
                .startsWith("the answer carries no logprobs"));
        assertEquals("the answer lists 0 top logprobs of the 20 asked: the endpoint ignores top_logprobs",
                assertThrows(BadAnswer.class, () -> OpenAiProtocol.topK(json("""
                        {"choices":[{"logprobs":{"content":[{"token":"a","logprob":-1,"top_logprobs":[]}]}}]}"""),
                        EndpointKind.CHAT, 20)).getMessage());
        assertTrue(assertThrows(BadAnswer.class, () -> OpenAiProtocol.topK(json("""
                {"choices":[{"logprobs":{"content":[{"token":"a","top_logprobs":[{"token":"a","logprob":null},
                 {"token":"b","logprob":-1}]}]}}]}"""), EndpointKind.CHAT, 2)).getMessage()
                .contains("token 'a' has no numeric logprob"));
        assertTrue(assertThrows(BadAnswer.class, () -> OpenAiProtocol.topK(json("""
                {"choices":[{"logprobs":{"content":[{"token":"a","top_logprobs":[{"token":"a","logprob":0.5},
                 {"token":"b","logprob":-1}]}]}}]}"""), EndpointKind.CHAT, 2)).getMessage()
                .contains("a log-probability is at most 0"));
    }

    @Test
    void embeddingsKeepFloat32Exactly() throws Exception {
        float v = 0.1f;
        float[] row = OpenAiProtocol.embedding(json("{\"data\":[{\"embedding\":[" + v + ",-2.5,1e-3]}]}"));
        assertEquals(v, row[0]);
        assertEquals(-2.5f, row[1]);
        assertThrows(BadAnswer.class, () -> OpenAiProtocol.embedding(json("{\"data\":[]}")));
        assertThrows(BadAnswer.class, () -> OpenAiProtocol.embedding(json("{\"data\":[{\"embedding\":[1e39]}]}")));
    }

    /**
     * Found by EndpointAnswersFuzzTest: with decimals read as BigDecimal, Jackson threw a bare
     * NumberFormatException for an exponent beyond int, past HttpCaller's catch of "not JSON".
     */
    @Test
    void aNumberBigDecimalCannotHoldIsNotJson() throws Exception {
        assertThrows(JsonProcessingException.class,
                () -> OpenAiProtocol.readTree("{\"data\":[{\"embedding\":[0.1,1e9999999999]}]}"));
        assertEquals(new java.math.BigDecimal("1e999"), OpenAiProtocol.readTree("[1e999]").get(0).decimalValue());
        assertTrue(OpenAiProtocol.errorMessage("{\"error\":{\"message\":1e9999999999}}").startsWith("{\"error\""));
    }

    @Test
    void errorMessagesComeFromTheErrorBodyOrTheTextInOneLine() {
        assertEquals("Rate limit reached", OpenAiProtocol.errorMessage(
                "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}"));
        assertEquals("<html> <body>Bad gateway</body>", OpenAiProtocol.errorMessage("<html>\n<body>Bad gateway</body>"));
        assertEquals(120, OpenAiProtocol.abbreviate("x".repeat(500)).length());
    }

    @Test
    void chatProbesAreEmbeddedAsTheirContentsOnePerLine() {
        assertEquals("a\nb", OpenAiProtocol.text(Probe.chat(List.of(new ChatMessage("system", "a"),
                new ChatMessage("user", "b")))));
        assertEquals("p", OpenAiProtocol.text(Probe.completion("p")));
    }
}
