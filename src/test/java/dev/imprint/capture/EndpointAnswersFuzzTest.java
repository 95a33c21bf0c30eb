package dev.imprint.capture;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.core.ImprintException;
import dev.imprint.testing.FuzzScratch;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

/**
 * What an endpoint sends back, on arbitrary bytes: answer bodies, error bodies, Retry-After
 * values, and a checkpoint file a crash or a person left behind. Each is read or refused the
 * documented way (BadAnswer, null, ImprintException), never anything else. Inputs under
 * {@code EndpointAnswersFuzzTestInputs/} replay as ordinary tests. A checkpoint is opened by path:
 * each input is written to one reused file in memory ({@link FuzzScratch}).
 */
class EndpointAnswersFuzzTest {
    private static final int MAX_EXECUTIONS = 1_000_000;

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void answerBody(FuzzedDataProvider data) {
        int requested = data.consumeInt(1, 20);
        String body = data.consumeRemainingAsString();
        OpenAiProtocol.errorMessage(body);
        JsonNode answer;
        try {
            answer = OpenAiProtocol.readTree(body);
        } catch (JsonProcessingException notJson) {
            return;
        }
        if (answer == null) {
            return;
        }
        for (EndpointKind kind : new EndpointKind[] {EndpointKind.CHAT, EndpointKind.COMPLETIONS}) {
            try {
                OpenAiProtocol.topK(answer, kind, requested).forEach(e -> {
                    if (!(e.logprob() <= 0)) {
                        throw new AssertionError("a top-k entry kept logprob " + e.logprob());
                    }
                });
            } catch (BadAnswer expected) {
                // a clear refusal
            }
        }
        try {
            OpenAiProtocol.content(answer);
        } catch (BadAnswer expected) {
            // a clear refusal
        }
        try {
            for (float v : OpenAiProtocol.embedding(answer)) {
                if (!Float.isFinite(v)) {
                    throw new AssertionError("an embedding kept " + v);
                }
            }
        } catch (BadAnswer expected) {
            // a clear refusal
        }
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void retryAfter(String value) {
        if (value == null) {
            return; // Jazzer may pass null; a header value never is
        }
        java.time.Duration d = HttpCaller.parseRetryAfter(value, Instant.EPOCH);
        if (d != null && d.isNegative()) {
            throw new AssertionError("a negative wait from '" + value + "'");
        }
    }

    @FuzzTest(maxDuration = "2h", maxExecutions = MAX_EXECUTIONS)
    void checkpoint(byte[] data) throws IOException {
        Path file = FuzzScratch.write("input.checkpoint", data);
        ObjectNode settings = OpenAiProtocol.JSON.createObjectNode().put("model", "m").put("temperature", 1.0);
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(file, settings, 8)) {
            cp.answered().keySet().forEach(p -> {
                if (p < 0 || p >= 8) {
                    throw new AssertionError("resumed probe " + p + " of 8");
                }
            });
        } catch (ImprintException expected) {
            // a clear refusal
        }
    }
}
