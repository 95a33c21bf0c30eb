package dev.imprint.cli;

import dev.imprint.capture.CaptureCheckpoint;
import dev.imprint.capture.CaptureOutput;
import dev.imprint.capture.CaptureSettings;
import dev.imprint.capture.Capturer;
import dev.imprint.capture.EndpointKind;
import dev.imprint.core.Ids;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Probe;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ProbeTexts;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.io.DurableFiles;
import dev.imprint.io.ProbesJson;
import dev.imprint.topk.ProbeAnswer;
import dev.imprint.topk.TopKAnswers;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code imprint capture}: a model's fingerprint from a running OpenAI-compatible endpoint, probe
 * by probe ({@link Capturer}), resumable from its checkpoint, written whole or not at all.
 */
@Command(name = "capture", mixinStandardHelpOptions = true,
        description = {"Send a probe set's prompts to an OpenAI-compatible endpoint and write the model's fingerprint: "
                + "a top-k answers file (chat or completions with top_logprobs; for put, score and topk build) or, "
                + "for an EMBEDDING probe set, a reference file.",
                "Each answer is kept in a checkpoint file the moment it arrives, so a capture stopped any way "
                        + "resumes where it stopped when run again, asking only for what is missing. --out is "
                        + "written only once every probe has its answer.",
                "The API key comes from an environment variable (--api-key-env), never from the command line."})
final class CaptureCommand implements Callable<Integer> {
    /** Failures listed one per line in the summary; the rest are counted. */
    private static final int LISTED_FAILURES = 10;

    @Spec
    private CommandSpec spec;

    @Mixin
    private TargetOptions target;

    @Option(names = "--base-url", paramLabel = "URL", required = true,
            description = "The endpoint's base URL, up to /v1, e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1.")
    String baseUrl;

    @Option(names = "--model", paramLabel = "NAME", required = true, description = "The model name the endpoint knows.")
    String model;

    @Option(names = "--out", paramLabel = "FILE", required = true,
            description = "Where to write the fingerprint; replaced only by a complete new one.")
    Path out;

    @Option(names = "--probes", paramLabel = "FILE",
            description = "The probes (JSON Lines, as probe-set export writes them). With --probe-set, checked "
                    + "against the set's own.")
    Path probes;

    @Option(names = "--probe-set", paramLabel = "ID",
            description = "Capture on this probe set (from --server or --data-dir): its probes, temperature and "
                    + "max tokens. Needed for an EMBEDDING capture and for --put.")
    String probeSetId;

    @Option(names = "--model-id", paramLabel = "ID",
            description = "The fingerprint's model id. Default: --model, if it is a valid id.")
    String modelId;

    @Option(names = "--label", paramLabel = "KEY=VALUE", description = "A label of the fingerprint, repeatable.")
    Map<String, String> labels = new LinkedHashMap<>();

    @Option(names = "--role", paramLabel = "ROLE", defaultValue = "protected",
            description = "protected (a candidate teacher) or background (a known-independent control). "
                    + "Default: ${DEFAULT-VALUE}.")
    String role;

    @Option(names = "--endpoint", paramLabel = "KIND",
            description = "CHAT, COMPLETIONS, EMBEDDINGS or ANSWER_THEN_EMBED (a chat answer, embedded by "
                    + "--embed-base-url). CHAT sends a completion prompt as one user message. Default: EMBEDDINGS "
                    + "for an EMBEDDING probe set, else CHAT.")
    EndpointKind endpoint;

    @Option(names = "--top-logprobs", paramLabel = "K", defaultValue = "20",
            description = "Top tokens asked per probe, 1..20. Default: ${DEFAULT-VALUE}.")
    int topLogprobs;

    @Option(names = "--max-tokens", paramLabel = "N",
            description = "Tokens asked per answer. Default: the probe set's, else 1 (64 for ANSWER_THEN_EMBED).")
    Integer maxTokens;

    @Option(names = "--temperature", paramLabel = "T",
            description = "The sampling temperature sent. Default: the probe set's, else 1.")
    Double temperature;

    @Option(names = "--api-key-env", paramLabel = "VAR", defaultValue = "OPENAI_API_KEY",
            description = "The environment variable holding the API key; unset or empty sends no key. "
                    + "Default: ${DEFAULT-VALUE}.")
    String apiKeyEnv;

    @Option(names = "--embed-base-url", paramLabel = "URL", description = "ANSWER_THEN_EMBED: the embedding endpoint.")
    String embedBaseUrl;

    @Option(names = "--embed-model", paramLabel = "NAME", description = "ANSWER_THEN_EMBED: the embedding model.")
    String embedModel;

    @Option(names = "--embed-api-key-env", paramLabel = "VAR", defaultValue = "OPENAI_API_KEY",
            description = "ANSWER_THEN_EMBED: the variable holding the embedding endpoint's key. Default: ${DEFAULT-VALUE}.")
    String embedApiKeyEnv;

    @Option(names = "--concurrency", paramLabel = "N", defaultValue = "4",
            description = "Requests in flight at once. Default: ${DEFAULT-VALUE}.")
    int concurrency;

    @Option(names = "--rps", paramLabel = "R", defaultValue = "0",
            description = "Most requests started per second; 0 for no limit. Default: ${DEFAULT-VALUE}.")
    double rps;

    @Option(names = "--timeout-ms", paramLabel = "MILLIS", defaultValue = "60000",
            description = "Longest one request may take. Default: ${DEFAULT-VALUE}.")
    long timeoutMillis;

    @Option(names = "--retries", paramLabel = "N", defaultValue = "5",
            description = "Times a request is asked again after 429, 5xx, a timeout or a dropped connection, "
                    + "with exponential backoff and jitter, never sooner than Retry-After. Default: ${DEFAULT-VALUE}.")
    int retries;

    @Option(names = "--checkpoint", paramLabel = "FILE",
            description = "Where answers are kept as they arrive. Default: --out with .checkpoint appended; "
                    + "deleted once --out is written.")
    Path checkpoint;

    @Option(names = "--put", description = "Also register the fingerprint with --probe-set at --server (or --data-dir).")
    boolean put;

    @Option(names = "--replace", description = "With --put: overwrite a reference with the same model id.")
    boolean replace;

    @Option(names = "--no-progress", description = "Draw no progress bar.")
    boolean noProgress;

    @Override
    public Integer call() throws IOException, InterruptedException {
        ReferenceRole referenceRole = ReferenceRole.parse("--role", role);
        String id = modelId();
        URI base = url("--base-url", baseUrl);
        checkFlags();
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();
        Path parent = out.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) {
            throw new CliException("--out " + out + ": directory " + parent + " does not exist");
        }
        Plan plan = plan();
        CaptureSettings settings = settings(base, plan);
        Path checkpointFile = checkpoint != null ? checkpoint : out.resolveSibling(out.getFileName() + ".checkpoint");
        List<Probe> list = plan.probes;
        Capturer.Result result;
        try (CaptureCheckpoint cp = CaptureCheckpoint.open(checkpointFile, settings.identity(digest(list)),
                list.size())) {
            int already = cp.answered().size();
            if (already > 0) {
                err.printf("resuming from checkpoint %s: %d of %d probes already captured%n", checkpointFile,
                        already, list.size());
                err.flush();
            }
            try (ProgressBar bar = noProgress ? ProgressBar.disabled(err)
                    : new ProgressBar(err, "probes", list.size() - already, ProgressBar.interactive(), System::nanoTime)) {
                result = new Capturer(settings).run(list, cp, plan.set == null ? 0 : plan.set.kind()
                        == ProbeSetKind.EMBEDDING ? plan.set.dim() : 0, p -> bar.advance(1));
            }
        }
        if (!result.complete(list.size())) {
            if (result.answers().isEmpty()) {
                // Nothing paid for: no checkpoint to resume from, and none left lying about.
                DurableFiles.delete(checkpointFile);
            }
            summarise(err, result, list.size(), checkpointFile);
            return ImprintCli.EXIT_FAILURE;
        }
        float[] rows = null;
        if (settings.kind().topK()) {
            CaptureOutput.writeTopK(out, id, labels, referenceRole, result.answers());
        } else {
            rows = CaptureOutput.embeddingRows(plan.set, result.answers());
            try (BufferAllocator allocator = new RootAllocator()) {
                CaptureOutput.writeReference(allocator, out, plan.set, id, labels, referenceRole, rows);
            }
        }
        DurableFiles.delete(checkpointFile);
        stdout.printf("captured %d probes of %s from %s; wrote %s%n", list.size(), model, base, out);
        stdout.flush();
        if (put) {
            putCaptured(stdout, plan.set, id, referenceRole, rows);
        }
        return ImprintCli.EXIT_OK;
    }

    private void putCaptured(PrintWriter stdout, ProbeSet set, String id, ReferenceRole referenceRole, float[] rows) {
        try (Target t = target.open(true)) {
            ReferenceMeta meta = rows != null
                    ? t.putReference(set.id(), id, labels, referenceRole, rows, replace)
                    : t.putReferenceTopK(set.id(), id, labels, referenceRole,
                    ProbeAnswer.of(TopKAnswers.read(out).get(0).answers()), replace);
            stdout.printf("put %s (%s) into probe set %s at %s%n", meta.modelId(), meta.role().wireName(), set.id(),
                    t.describe());
        } catch (RuntimeException e) {
            throw new CliException(out + " is written, but putting it failed: " + ImprintCli.describe(e)
                    + "; put it later with imprint put " + out + (rows == null ? " --probe-set " + set.id() : ""));
        }
        stdout.flush();
    }

    /** The probes to send and the probe set they belong to (null when only --probes names them). */
    private record Plan(List<Probe> probes, ProbeSet set, ProbeTexts texts) {
    }

    private Plan plan() {
        if (probeSetId == null) {
            if (probes == null) {
                throw usage("name the probes: --probes FILE, or --probe-set ID of a set that carries them");
            }
            if (put) {
                throw usage("--put needs --probe-set ID");
            }
            return new Plan(ProbesJson.readLines(probes), null, null);
        }
        ProbeSet set;
        try (Target t = target.open(false)) {
            set = t.getProbeSetWithTexts(probeSetId);
        }
        List<Probe> fromFile = probes == null ? null : ProbesJson.readLines(probes);
        ProbeTexts texts = set.texts();
        if (texts == null) {
            if (fromFile == null) {
                throw new CliException("probe set " + set.id() + " does not carry its probes' texts; give them with "
                        + "--probes FILE");
            }
            if (fromFile.size() != set.numProbes()) {
                throw new CliException("--probes " + probes + " holds " + fromFile.size() + " probes; probe set "
                        + set.id() + " has " + set.numProbes());
            }
            return new Plan(fromFile, set, null);
        }
        if (fromFile != null) {
            if (fromFile.size() != texts.probes().size()) {
                throw new CliException("--probes " + probes + " holds " + fromFile.size() + " probes; probe set "
                        + set.id() + " has " + texts.probes().size());
            }
            for (int p = 0; p < fromFile.size(); p++) {
                if (!fromFile.get(p).equals(texts.probes().get(p))) {
                    throw new CliException("--probes " + probes + " differs from probe set " + set.id()
                            + "'s own probes first at probe " + p + "; leave out --probes to use the set's");
                }
            }
        }
        if (temperature != null && temperature != texts.temperature()) {
            throw new CliException("probe set " + set.id() + " is captured at temperature " + texts.temperature()
                    + "; --temperature " + temperature + " would make another fingerprint");
        }
        if (maxTokens != null && maxTokens != texts.maxTokens()) {
            throw new CliException("probe set " + set.id() + " is captured with max tokens " + texts.maxTokens()
                    + "; --max-tokens " + maxTokens + " would make another fingerprint");
        }
        return new Plan(texts.probes(), set, texts);
    }

    private CaptureSettings settings(URI base, Plan plan) {
        boolean embeddingSet = plan.set != null && plan.set.kind() == ProbeSetKind.EMBEDDING;
        EndpointKind kind = endpoint != null ? endpoint
                : embeddingSet ? EndpointKind.EMBEDDINGS : EndpointKind.CHAT;
        if (plan.set != null && embeddingSet == kind.topK()) {
            throw usage("--endpoint " + kind + " records " + (kind.topK() ? "top-k rows" : "embeddings")
                    + ", but probe set " + plan.set.id() + " is " + plan.set.kind());
        }
        if (!kind.topK() && plan.set == null) {
            throw usage("an embedding capture writes a reference file of a probe set: name it with --probe-set ID");
        }
        for (int p = 0; p < plan.probes.size(); p++) {
            if (kind == EndpointKind.COMPLETIONS && !plan.probes.get(p).messages().isEmpty()) {
                throw usage("probe " + p + " is a chat (messages), which --endpoint COMPLETIONS cannot send; use CHAT");
            }
        }
        CaptureSettings.Embedder embedder = null;
        if (kind == EndpointKind.ANSWER_THEN_EMBED) {
            if (embedBaseUrl == null || embedModel == null) {
                throw usage("--endpoint ANSWER_THEN_EMBED needs --embed-base-url and --embed-model");
            }
            embedder = new CaptureSettings.Embedder(url("--embed-base-url", embedBaseUrl), embedModel,
                    key(embedApiKeyEnv), keyHint(embedApiKeyEnv));
        } else if (embedBaseUrl != null || embedModel != null) {
            throw usage("--embed-base-url and --embed-model go with --endpoint ANSWER_THEN_EMBED");
        }
        int tokens = maxTokens != null ? maxTokens : plan.texts != null ? plan.texts.maxTokens()
                : kind == EndpointKind.ANSWER_THEN_EMBED ? 64 : 1;
        double temp = temperature != null ? temperature : plan.texts != null ? plan.texts.temperature() : 1;
        return new CaptureSettings(base, model, key(apiKeyEnv), keyHint(apiKeyEnv), kind, topLogprobs, tokens, temp,
                embedder, concurrency, rps, Duration.ofMillis(timeoutMillis), retries);
    }

    private void checkFlags() {
        if (topLogprobs < 1 || topLogprobs > 20) {
            throw usage("--top-logprobs=" + topLogprobs + "; expected 1..20, what OpenAI-compatible endpoints allow");
        }
        if (concurrency < 1 || concurrency > 256) {
            throw usage("--concurrency=" + concurrency + "; expected 1..256");
        }
        if (!(rps >= 0) || Double.isInfinite(rps)) {
            throw usage("--rps=" + rps + "; expected 0 (no limit) or a positive rate");
        }
        if (timeoutMillis < 1) {
            throw usage("--timeout-ms=" + timeoutMillis + "; expected a positive number of milliseconds");
        }
        if (retries < 0 || retries > 100) {
            throw usage("--retries=" + retries + "; expected 0..100");
        }
        if (maxTokens != null && (maxTokens < 1 || maxTokens > ProbeTexts.MAX_TOKENS)) {
            throw usage("--max-tokens=" + maxTokens + "; expected 1.." + ProbeTexts.MAX_TOKENS);
        }
        if (temperature != null && !(temperature >= 0 && temperature <= 2)) {
            throw usage("--temperature=" + temperature + "; expected 0..2");
        }
        if (replace && !put) {
            throw usage("--replace goes with --put");
        }
    }

    private String modelId() {
        String id = modelId != null ? modelId : model;
        try {
            return Ids.requireValid("model id", id);
        } catch (ImprintException e) {
            throw usage((modelId != null ? "--model-id " : "--model ") + id + " is not a valid model id ("
                    + e.getMessage() + ")" + (modelId == null ? "; name the fingerprint with --model-id" : ""));
        }
    }

    private URI url(String flag, String value) {
        try {
            URI uri = new URI(value);
            if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null) {
                return uri;
            }
        } catch (java.net.URISyntaxException ignored) {
            // said below
        }
        throw usage(flag + "=" + value + "; expected an http:// or https:// URL such as http://127.0.0.1:8000/v1");
    }

    private String key(String variable) {
        return EnvDefaults.variable(spec.commandLine(), variable);
    }

    private static String keyHint(String variable) {
        return "set the key in $" + variable + " (--api-key-env names another variable)";
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    private void summarise(PrintWriter err, Capturer.Result result, int total, Path checkpointFile) {
        err.printf("captured %d of %d probes; %s not written%n", result.answers().size(), total, out);
        if (result.stoppedBy() != null) {
            err.printf("stopped: %s%n", result.stoppedBy());
        }
        if (!result.failures().isEmpty()) {
            err.printf("%d probe%s failed:%n", result.failures().size(), result.failures().size() == 1 ? "" : "s");
            for (Capturer.Failure f : result.failures().subList(0, Math.min(LISTED_FAILURES, result.failures().size()))) {
                err.printf("  probe %d: %s (%d tr%s)%n", f.probe(), f.message(), f.tries(), f.tries() == 1 ? "y" : "ies");
            }
            if (result.failures().size() > LISTED_FAILURES) {
                err.printf("  ... and %d more%n", result.failures().size() - LISTED_FAILURES);
            }
        }
        if (!result.answers().isEmpty()) {
            err.printf("the %d answers so far are kept in %s; run the same command again to ask only for the rest%n",
                    result.answers().size(), checkpointFile);
        }
        err.flush();
    }

    private static String digest(List<Probe> probes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(ProbesJson.toArray(probes).getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
