package dev.imprint.capture;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * Posts one JSON request to an OpenAI-compatible endpoint and returns the parsed answer, or says
 * in a {@link CallFailure} what went wrong and whether asking again can help.
 */
final class HttpCaller {
    private final HttpClient client;
    private final Duration timeout;

    /** @param timeout how long one request may take, from sending to the last byte of the answer */
    HttpCaller(HttpClient client, Duration timeout) {
        this.client = client;
        this.timeout = timeout;
    }

    /** A client for {@code connectTimeout}; HTTP/1.1, which every OpenAI-compatible server speaks. */
    static HttpClient newClient(Duration connectTimeout) {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(connectTimeout).build();
    }

    /**
     * @param apiKey sent as {@code Authorization: Bearer}; null sends none (local servers need none)
     * @param keyHint names where the key comes from, for the message of a refused one
     */
    JsonNode post(URI uri, String apiKey, String keyHint, ObjectNode body) throws CallFailure, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8));
        if (apiKey != null) {
            request.header("Authorization", "Bearer " + apiKey);
        }
        HttpResponse<String> response;
        try {
            response = client.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (HttpTimeoutException e) {
            throw new CallFailure(CallFailure.Kind.RETRYABLE, "no answer within " + seconds(timeout), null);
        } catch (ConnectException e) {
            throw new CallFailure(CallFailure.Kind.RETRYABLE, "cannot connect to " + uri.getHost() + ":"
                    + uri.getPort() + " (" + (e.getMessage() == null ? "connection refused" : e.getMessage()) + ")",
                    null);
        } catch (IOException e) {
            throw new CallFailure(CallFailure.Kind.RETRYABLE, "the connection broke before a whole answer ("
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")", null);
        }
        int status = response.statusCode();
        if (status / 100 == 2) {
            try {
                return OpenAiProtocol.readTree(response.body());
            } catch (JsonProcessingException e) {
                throw new CallFailure(CallFailure.Kind.RETRYABLE, "the answer is not JSON: "
                        + OpenAiProtocol.abbreviate(response.body()), null);
            }
        }
        String said = "HTTP " + status + ": " + OpenAiProtocol.errorMessage(response.body());
        if (status == 429 || status == 408 || status == 409 || status >= 500) {
            throw new CallFailure(CallFailure.Kind.RETRYABLE, said, retryAfter(response, Instant.now()));
        }
        if (status == 401 || status == 403) {
            throw new CallFailure(CallFailure.Kind.FATAL, "the endpoint refused the key (" + said + "); " + keyHint,
                    null);
        }
        if (status == 404) {
            throw new CallFailure(CallFailure.Kind.FATAL, said + " at " + uri + "; check --base-url and --model", null);
        }
        throw new CallFailure(CallFailure.Kind.PROBE, said, null);
    }

    /**
     * The wait an answer asks for: {@code retry-after-ms} (OpenAI's), else {@code Retry-After} in
     * seconds or as an HTTP date; null when it asks for none or says something unreadable.
     */
    static Duration retryAfter(HttpResponse<?> response, Instant now) {
        Optional<String> millis = response.headers().firstValue("retry-after-ms");
        if (millis.isPresent()) {
            try {
                return Duration.ofMillis(Math.max(0, (long) Double.parseDouble(millis.get().trim())));
            } catch (NumberFormatException ignored) {
                // try Retry-After
            }
        }
        return response.headers().firstValue("retry-after").map(v -> parseRetryAfter(v, now)).orElse(null);
    }

    static Duration parseRetryAfter(String value, Instant now) {
        String v = value.trim();
        try {
            return Duration.ofMillis(Math.max(0, (long) (Double.parseDouble(v) * 1000)));
        } catch (NumberFormatException notSeconds) {
            try {
                Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                return at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO;
            } catch (DateTimeParseException notADate) {
                return null;
            }
        }
    }

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }
}
