package dev.imprint.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class HttpCallerTest {
    /**
     * Found by EndpointAnswersFuzzTest: a 200 whose body holds a number BigDecimal cannot hold made
     * Jackson throw a NumberFormatException out of post; it is a garbled answer, worth asking again.
     */
    @Test
    void anAnswerWithANumberBigDecimalCannotHoldIsRetryableNotJson() throws Exception {
        byte[] body = "{\"data\":[{\"embedding\":[0.5,1e9999999999]}]}".getBytes(StandardCharsets.UTF_8);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        try {
            Duration timeout = Duration.ofSeconds(5);
            HttpCaller caller = new HttpCaller(HttpCaller.newClient(timeout), timeout);
            URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1/embeddings");
            CallFailure failure = assertThrows(CallFailure.class,
                    () -> caller.post(uri, null, "no key", OpenAiProtocol.JSON.createObjectNode()));
            assertEquals(CallFailure.Kind.RETRYABLE, failure.kind());
            assertTrue(failure.getMessage().startsWith("the answer is not JSON"), failure.getMessage());
        } finally {
            server.stop(0);
        }
    }
}
