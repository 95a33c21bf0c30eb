package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ChatMessage;
import dev.imprint.core.Probe;
import dev.imprint.endpoint.Fault;
import dev.imprint.endpoint.SyntheticEndpoint;
import dev.imprint.io.ProbesJson;
import dev.imprint.topk.TopKAnswers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code imprint capture} as a user runs it, against a loopback OpenAI-compatible endpoint. */
class CaptureCommandTest {
    private static final String KEY = "sk-capture-test";
    private static final Map<String, String> ENV = Map.of("OPENAI_API_KEY", KEY);

    @TempDir
    Path dir;

    private SyntheticEndpoint endpoint;
    private Path probes;

    @BeforeEach
    void start() throws Exception {
        endpoint = SyntheticEndpoint.start("127.0.0.1", 0, KEY);
        List<Probe> list = new ArrayList<>();
        for (int p = 0; p < 12; p++) {
            list.add(Probe.chat(List.of(new ChatMessage("user", "Tell me about item " + p + "."))));
        }
        probes = dir.resolve("probes.jsonl");
        ProbesJson.writeLines(probes, list);
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    private CliRun capture(Map<String, String> env, String... extra) {
        List<String> args = new ArrayList<>(List.of("capture", "--base-url", endpoint.baseUrl(), "--no-progress"));
        args.addAll(List.of(extra));
        return CliRun.run(env, args.toArray(String[]::new));
    }

    private List<String> filesIn(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesATopKAnswersFileThatTopkBuildReads() throws Exception {
        Path out = dir.resolve("atlas.jsonl");
        CliRun run = capture(ENV, "--model", "atlas-7b", "--probes", probes.toString(), "--out", out.toString(),
                "--label", "vendor=atlas");
        assertEquals(0, run.exit(), run.toString());
        assertTrue(run.out().contains("captured 12 probes of atlas-7b"), run.out());
        List<TopKAnswers.Model> models = TopKAnswers.read(out);
        assertEquals(1, models.size());
        assertEquals("atlas-7b", models.get(0).modelId());
        assertEquals(Map.of("vendor", "atlas"), models.get(0).labels());
        assertEquals(12, models.get(0).answers().size());
        assertEquals(20, models.get(0).answers().get(0).size());
        assertFalse(Files.exists(dir.resolve("atlas.jsonl.checkpoint")), "the checkpoint goes once --out is whole");
    }

    @Test
    void aFailedCaptureSummarisesKeepsItsCheckpointAndLeavesOutUntouched() throws Exception {
        Path out = dir.resolve("atlas.jsonl");
        Files.writeString(out, "an earlier capture\n");
        endpoint.faults().forPrompt("item 3.", Fault.status(500), Fault.status(500));
        endpoint.faults().forPrompt("item 8.", Fault.status(400));
        CliRun failed = capture(ENV, "--model", "atlas-7b", "--probes", probes.toString(), "--out", out.toString(),
                "--retries", "1");
        assertEquals(1, failed.exit(), failed.toString());
        assertTrue(failed.err().contains("captured 10 of 12 probes; " + out + " not written"), failed.err());
        assertTrue(failed.err().contains("2 probes failed:"), failed.err());
        assertTrue(failed.err().contains("  probe 3: HTTP 500"), failed.err());
        assertTrue(failed.err().contains("(2 tries)"), failed.err());
        assertTrue(failed.err().contains("  probe 8: HTTP 400"), failed.err());
        assertTrue(failed.err().contains("run the same command again to ask only for the rest"), failed.err());
        assertEquals("an earlier capture\n", Files.readString(out));
        assertTrue(Files.exists(dir.resolve("atlas.jsonl.checkpoint")));

        int before = endpoint.requests().size();
        CliRun resumed = capture(ENV, "--model", "atlas-7b", "--probes", probes.toString(), "--out", out.toString());
        assertEquals(0, resumed.exit(), resumed.toString());
        assertTrue(resumed.err().contains("resuming from checkpoint " + dir.resolve("atlas.jsonl.checkpoint")
                + ": 10 of 12 probes already captured"), resumed.err());
        assertEquals(2, endpoint.requests().size() - before);
        assertEquals(12, TopKAnswers.read(out).get(0).answers().size());
        assertEquals(List.of("atlas.jsonl", "probes.jsonl"), filesIn(dir));
    }

    @Test
    void theKeyComesFromTheNamedVariable() {
        Path out = dir.resolve("a.jsonl");
        CliRun noKey = capture(Map.of(), "--model", "atlas-7b", "--probes", probes.toString(), "--out", out.toString());
        assertEquals(1, noKey.exit(), noKey.toString());
        assertTrue(noKey.err().contains("stopped: probe ") && noKey.err().contains("the endpoint refused the key "
                + "(HTTP 401") && noKey.err().contains("set the key in $OPENAI_API_KEY"), noKey.err());
        assertFalse(Files.exists(dir.resolve("a.jsonl.checkpoint")), "a capture that got nothing leaves nothing");
        assertFalse(noKey.err().contains("kept in"), noKey.err());
        CliRun named = capture(Map.of("LAB_KEY", KEY), "--model", "atlas-7b", "--probes", probes.toString(), "--out",
                out.toString(), "--api-key-env", "LAB_KEY");
        assertEquals(0, named.exit(), named.toString());
    }

    @Test
    void wrongFlagsAreOneLineUsageErrorsAndAskNothing() {
        String out = dir.resolve("x.jsonl").toString();
        String[][] cases = {
                {"--model", "atlas-7b", "--probes", probes.toString(), "--out", out, "--top-logprobs", "21"},
                {"--model", "atlas-7b", "--out", out},
                {"--model", "meta/llama", "--probes", probes.toString(), "--out", out},
                {"--model", "atlas-7b", "--probes", probes.toString(), "--out", out, "--endpoint", "COMPLETIONS"},
                {"--model", "atlas-7b", "--probes", probes.toString(), "--out", out, "--endpoint", "EMBEDDINGS"},
                {"--model", "atlas-7b", "--probes", probes.toString(), "--out", out, "--rps", "-1"},
        };
        String[] said = {"--top-logprobs=21; expected 1..20", "name the probes: --probes FILE",
                "--model meta/llama is not a valid model id", "probe 0 is a chat (messages), which --endpoint "
                + "COMPLETIONS cannot send; use CHAT", "an embedding capture writes a reference file of a probe set",
                "--rps=-1.0; expected 0 (no limit) or a positive rate"};
        for (int i = 0; i < cases.length; i++) {
            CliRun run = capture(ENV, cases[i]);
            assertEquals(2, run.exit(), run.toString());
            assertEquals(1, run.errLines().length, run.toString());
            assertTrue(run.err().contains(said[i]), run.err());
        }
        CliRun badUrl = CliRun.run(ENV, "capture", "--base-url", "localhost:8000", "--model", "m", "--probes",
                probes.toString(), "--out", out);
        assertEquals(2, badUrl.exit());
        assertTrue(badUrl.err().contains("expected an http:// or https:// URL"), badUrl.err());
        CliRun noDir = capture(ENV, "--model", "atlas-7b", "--probes", probes.toString(), "--out",
                dir.resolve("missing/x.jsonl").toString());
        assertEquals(1, noDir.exit());
        assertTrue(noDir.err().contains("does not exist"), noDir.err());
        assertTrue(endpoint.requests().isEmpty(), "no request was sent");
    }

    @Test
    void anEmbeddingCaptureOnAProbeSetWritesAReferenceAndPutsIt() throws Exception {
        Path data = dir.resolve("data");
        CliRun created = CliRun.run(ENV, "probe-set", "create", "emb", "--probes", probes.toString(), "--kind",
                "EMBEDDING", "--dim", "256", "--data-dir", data.toString());
        assertEquals(0, created.exit(), created.toString());
        Path out = dir.resolve("atlas-embed.arrow");
        CliRun run = capture(ENV, "--model", "atlas-embed", "--probe-set", "emb", "--data-dir", data.toString(),
                "--out", out.toString(), "--put");
        assertEquals(0, run.exit(), run.toString());
        assertTrue(run.out().contains("put atlas-embed (protected) into probe set emb"), run.out());
        CliRun scored = CliRun.run(ENV, "score", out.toString(), "--data-dir", data.toString(), "--no-verdict");
        assertEquals(0, scored.exit(), scored.toString());
        assertTrue(scored.out().contains("atlas-embed"), scored.out());

        Path other = dir.resolve("other.jsonl");
        ProbesJson.writeLines(other, List.of(Probe.chat(List.of(new ChatMessage("user", "something else")))));
        CliRun differs = capture(ENV, "--model", "atlas-embed", "--probe-set", "emb", "--data-dir", data.toString(),
                "--probes", other.toString(), "--out", dir.resolve("y.arrow").toString());
        assertEquals(1, differs.exit());
        assertTrue(differs.err().contains("holds 1 probes; probe set emb has 12"), differs.err());
        CliRun hot = capture(ENV, "--model", "atlas-embed", "--probe-set", "emb", "--data-dir", data.toString(),
                "--temperature", "0", "--out", dir.resolve("y.arrow").toString());
        assertEquals(1, hot.exit());
        assertTrue(hot.err().contains("is captured at temperature 1.0"), hot.err());
    }

    @Test
    void aTopKCaptureOnAProbeSetWithSupportsIsPutAndScored() throws Exception {
        Path caps = Files.createDirectory(dir.resolve("caps"));
        for (String m : List.of("atlas-7b", "boreal-8b")) {
            assertEquals(0, capture(ENV, "--model", m, "--probes", probes.toString(), "--out",
                    caps.resolve(m + ".jsonl").toString()).exit());
        }
        Path fp = dir.resolve("fp");
        CliRun built = CliRun.run(ENV, "topk", "build", "--references", caps.toString(), "--probe-set", "s",
                "--out-dir", fp.toString());
        assertEquals(0, built.exit(), built.toString());
        Path data = dir.resolve("data");
        CliRun created = CliRun.run(ENV, "probe-set", "create", "s", "--supports", fp.resolve("supports.json").toString(),
                "--probes", probes.toString(), "--data-dir", data.toString());
        assertEquals(0, created.exit(), created.toString());
        assertTrue(created.out().contains("with their texts and supports"), created.out());

        Path out = dir.resolve("cedar-3b.jsonl");
        CliRun put = capture(ENV, "--model", "cedar-3b", "--probe-set", "s", "--data-dir", data.toString(), "--out",
                out.toString(), "--put", "--label", "family=cedar");
        assertEquals(0, put.exit(), put.toString());
        assertTrue(put.out().contains("put cedar-3b (protected) into probe set s"), put.out());
        CliRun again = capture(ENV, "--model", "cedar-3b", "--probe-set", "s", "--data-dir", data.toString(), "--out",
                out.toString(), "--put");
        assertEquals(1, again.exit(), again.toString());
        assertTrue(again.err().contains(out + " is written, but putting it failed: ALREADY_EXISTS"), again.err());
        assertTrue(again.err().contains("put it later with imprint put " + out + " --probe-set s"), again.err());

        CliRun scored = CliRun.run(ENV, "score", out.toString(), "--probe-set", "s", "--data-dir", data.toString(),
                "--no-verdict", "--top-k", "1");
        assertEquals(0, scored.exit(), scored.toString());
        assertTrue(scored.out().contains("1  cedar-3b"), scored.out());
    }
}
