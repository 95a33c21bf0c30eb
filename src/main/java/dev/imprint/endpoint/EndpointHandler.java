package dev.imprint.endpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Answers one HTTP exchange of the synthetic endpoint, in a fixed order: read and log the
 * request, check the API key, take the request's fault if one is queued, route it, and write
 * the reply as the fault shapes it.
 */
final class EndpointHandler implements HttpHandler {
    private static final Logger LOG = Logger.getLogger(EndpointHandler.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String apiKey;
    private final Faults faults;
    private final RequestLog log;
    private final ModelsRoute modelsRoute;
    private final ChatCompletionsRoute chatRoute;
    private final CompletionsRoute completionsRoute;
    private final EmbeddingsRoute embeddingsRoute;

    /** @param apiKey the key requests must carry as {@code Authorization: Bearer KEY}; null for none */
    EndpointHandler(SyntheticModels models, String apiKey, Faults faults, RequestLog log) {
        this.apiKey = apiKey;
        this.faults = faults;
        this.log = log;
        this.modelsRoute = new ModelsRoute(models);
        this.chatRoute = new ChatCompletionsRoute(models);
        this.completionsRoute = new CompletionsRoute(models);
        this.embeddingsRoute = new EmbeddingsRoute(models);
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] raw = exchange.getRequestBody().readAllBytes();
            JsonNode body = parse(raw);
            String path = exchange.getRequestURI().getPath();
            String authorization = exchange.getRequestHeaders().getFirst("Authorization");
            String promptText = RequestFields.promptText(body);
            int index = log.arrived(path, body == null ? null : textOrNull(body.get("model")), promptText,
                    authorization);
            if (apiKey != null && !("Bearer " + apiKey).equals(authorization)) {
                send(exchange, index, unauthorized(authorization));
                return;
            }
            Optional<Fault> fault = faults.take(promptText);
            Fault played = fault.orElse(null);
            if (played instanceof Fault.Drop) {
                // Closing an exchange before any header is sent closes the connection itself.
                return;
            }
            if (played instanceof Fault.Status status) {
                send(exchange, index, FaultEffects.statusReply(status));
                return;
            }
            if (played instanceof Fault.RateLimited limited) {
                send(exchange, index, FaultEffects.rateLimitedReply(limited));
                return;
            }
            if (played instanceof Fault.Slow slow) {
                Thread.sleep(slow.millis());
            }
            Reply reply = route(exchange.getRequestMethod(), path, body);
            if (played instanceof Fault.NoLogprobs) {
                reply = FaultEffects.withoutLogprobs(reply);
            } else if (played instanceof Fault.IgnoreTopLogprobs) {
                reply = FaultEffects.withEmptyTopLogprobs(reply);
            } else if (played instanceof Fault.Malformed) {
                write(exchange, index, 200, reply, FaultEffects.truncated(JSON.writeValueAsString(reply.body())));
                return;
            }
            send(exchange, index, reply);
        } catch (InterruptedException stopping) {
            // The endpoint is closing: leave without an answer, as a server going down does.
            Thread.currentThread().interrupt();
        } catch (RuntimeException | IOException e) {
            LOG.log(Level.FINE, "synthetic endpoint: exchange failed", e);
            throw e;
        }
    }

    private Reply route(String method, String path, JsonNode body) {
        boolean get = method.equals("GET");
        boolean post = method.equals("POST");
        try {
            switch (path) {
                case "/v1/models":
                    return get ? modelsRoute.answer() : wrongMethod(method, path);
                case "/v1/chat/completions":
                    return post ? chatRoute.answer(readable(body)) : wrongMethod(method, path);
                case "/v1/completions":
                    return post ? completionsRoute.answer(readable(body)) : wrongMethod(method, path);
                case "/v1/embeddings":
                    return post ? embeddingsRoute.answer(readable(body)) : wrongMethod(method, path);
                default:
                    return Reply.error(404, "Invalid URL (" + method + " " + path + ")", "invalid_request_error",
                            null, null);
            }
        } catch (ApiError refused) {
            return refused.reply();
        } catch (RuntimeException bug) {
            LOG.log(Level.WARNING, "synthetic endpoint: " + method + " " + path + " failed", bug);
            return Reply.error(500, "The synthetic endpoint failed: " + bug, "server_error", null, null);
        }
    }

    /** The parsed body; a 400 when the bytes were not JSON. */
    private static JsonNode readable(JsonNode body) {
        if (body == null) {
            throw ApiError.badRequest(null, "We could not parse the JSON body of your request. (HINT: This likely "
                    + "means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but "
                    + "what was sent was not valid JSON.)");
        }
        return body;
    }

    private static Reply wrongMethod(String method, String path) {
        return Reply.error(405, "Invalid method for URL (" + method + " " + path + ")", "invalid_request_error", null,
                null);
    }

    private static Reply unauthorized(String authorization) {
        String message = authorization == null
                ? "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                        + "Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
                : "Incorrect API key provided.";
        return Reply.error(401, message, "invalid_request_error", null, "invalid_api_key");
    }

    /** The body as JSON, or null when it is empty or not JSON. */
    private static JsonNode parse(byte[] raw) {
        if (raw.length == 0) {
            return null;
        }
        try {
            return JSON.readTree(raw);
        } catch (IOException notJson) {
            return null;
        }
    }

    private static String textOrNull(JsonNode node) {
        return node != null && node.isTextual() ? node.asText() : null;
    }

    private void send(HttpExchange exchange, int index, Reply reply) throws IOException {
        write(exchange, index, reply.status(), reply, JSON.writeValueAsBytes(reply.body()));
    }

    private void write(HttpExchange exchange, int index, int status, Reply reply, byte[] bytes) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        reply.headers().forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
        log.answered(index, status);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
