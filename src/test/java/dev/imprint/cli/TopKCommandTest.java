package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Top-k answers from two tokenizers, end to end: references answer with whole-word tokens (a GPT-2
 * style space marker), suspects with two-letter SentencePiece pieces, all over the same words;
 * {@code topk build} puts them on first-character supports, and {@code put} and {@code score} give
 * verdicts as for any fingerprint.
 */
class TopKCommandTest {
    private static final int P = 64;
    private static final int WORDS = 150;
    private static final int K = 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private final Random rng = new Random(5);
    private final String[] words = new String[WORDS];
    private final double[][] consensus = gaussian(2.0);

    TopKCommandTest() {
        for (int w = 0; w < WORDS; w++) {
            // Letters spread the first characters; the suffix keeps words distinct.
            words[w] = (char) ('a' + w % 26) + "" + (char) ('a' + (w / 26) % 26) + "x" + w;
        }
    }

    private double[][] gaussian(double scale) {
        double[][] v = new double[P][WORDS];
        for (double[] row : v) {
            for (int w = 0; w < WORDS; w++) {
                row[w] = rng.nextGaussian() * scale;
            }
        }
        return v;
    }

    private double[][] model(double[][] family) {
        double[][] own = gaussian(0.5);
        double[][] out = new double[P][WORDS];
        for (int p = 0; p < P; p++) {
            for (int w = 0; w < WORDS; w++) {
                out[p][w] = consensus[p][w] + family[p][w] + own[p][w];
            }
        }
        return out;
    }

    private static double[][] mix(double[][] a, double[][] b, double beta) {
        double[][] out = new double[P][WORDS];
        for (int p = 0; p < P; p++) {
            for (int w = 0; w < WORDS; w++) {
                out[p][w] = beta * a[p][w] + (1 - beta) * b[p][w];
            }
        }
        return out;
    }

    /** One model's answers with tokenizer A (whole words) or B (two-letter pieces), top-K each. */
    private List<ObjectNode> answers(String id, double[][] logits, boolean pieces, Map<String, String> labels,
                                     String role) {
        List<ObjectNode> lines = new ArrayList<>();
        for (int p = 0; p < P; p++) {
            double max = java.util.Arrays.stream(logits[p]).max().orElse(0);
            double sum = 0;
            double[] prob = new double[WORDS];
            for (int w = 0; w < WORDS; w++) {
                prob[w] = Math.exp(logits[p][w] - max);
                sum += prob[w];
            }
            Map<String, Double> tokens = new LinkedHashMap<>();
            for (int w = 0; w < WORDS; w++) {
                String token = pieces ? "\u2581" + words[w].substring(0, 2) : "\u0120" + words[w];
                tokens.merge(token, prob[w] / sum, Double::sum);
            }
            ObjectNode line = JSON.createObjectNode().put("model_id", id).put("probe", p);
            if (labels != null) {
                ObjectNode l = line.putObject("labels");
                labels.forEach(l::put);
            }
            if (role != null) {
                line.put("role", role);
            }
            ArrayNode top = line.putArray("top_logprobs");
            tokens.entrySet().stream().sorted(Map.Entry.comparingByValue(Comparator.reverseOrder())).limit(K)
                    .forEach(e -> top.addObject().put("token", e.getKey()).put("logprob", Math.log(e.getValue())));
            lines.add(line);
        }
        return lines;
    }

    private Path write(String name, List<ObjectNode> lines) throws IOException {
        StringBuilder text = new StringBuilder();
        for (ObjectNode l : lines) {
            text.append(JSON.writeValueAsString(l)).append('\n');
        }
        return Files.writeString(tmp.resolve(name), text.toString(), StandardCharsets.UTF_8);
    }

    @Test
    void aStudentAnsweringWithAnotherTokenizerIsFoundAndASiblingIsNot() throws IOException {
        double[][][] families = {gaussian(1.0), gaussian(1.0), gaussian(1.0)};
        Map<String, double[][]> refs = new LinkedHashMap<>();
        List<ObjectNode> refLines = new ArrayList<>();
        for (int f = 0; f < 3; f++) {
            for (int i = 0; i < 3; i++) {
                double[][] m = model(families[f]);
                refs.put("f" + f + "-" + i, m);
                refLines.addAll(answers("f" + f + "-" + i, m, false, Map.of("family", "f" + f), null));
            }
        }
        for (int b = 0; b < 2; b++) {
            refLines.addAll(answers("bg" + b, model(gaussian(1.0)), false, null, "background"));
        }
        List<ObjectNode> suspectLines = new ArrayList<>();
        suspectLines.addAll(answers("student", mix(refs.get("f1-2"), model(gaussian(1.0)), 0.7), true, null, null));
        suspectLines.addAll(answers("sibling", model(families[2]), true, null, null));
        Path references = write("refs.jsonl", refLines);
        Path suspects = write("suspects.jsonl", suspectLines);
        Path out = tmp.resolve("built");

        CliRun build = CliRun.run("topk", "build", "--references", references.toString(), "--suspects",
                suspects.toString(), "--probe-set", "api", "--out-dir", out.toString());
        assertEquals(0, build.exit(), build.toString());
        assertTrue(build.out().contains("probe set api: 64 probes x"), build.out());
        assertTrue(build.out().contains("vocabulary FIRST_CHARACTER; 11 references, 2 suspects"), build.out());
        assertTrue(Files.exists(out.resolve("supports.json")));

        Path data = tmp.resolve("data");
        assertEquals(0, CliRun.run("put", out.resolve("references").toString(), "--data-dir", data.toString()).exit());
        CliRun score = CliRun.run("score", out.resolve("suspects.arrow").toString(), "--data-dir", data.toString(),
                "--format", "json");
        assertEquals(0, score.exit(), score.toString());
        Map<String, com.fasterxml.jackson.databind.JsonNode> verdicts = new LinkedHashMap<>();
        for (String line : score.out().lines().toList()) {
            com.fasterxml.jackson.databind.JsonNode node = JSON.readTree(line);
            verdicts.put(node.get("suspect").asText(), node.get("attribution"));
        }
        assertEquals("DISTILLED_FROM", verdicts.get("student").get("verdict").asText(), verdicts.toString());
        assertEquals("f1-2", verdicts.get("student").get("model_id").asText());
        assertNotEquals("DISTILLED_FROM", verdicts.get("sibling").get("verdict").asText(), verdicts.toString());

        // Later suspects map onto the same supports.
        Path again = tmp.resolve("again");
        CliRun reuse = CliRun.run("topk", "build", "--supports", out.resolve("supports.json").toString(),
                "--suspects", suspects.toString(), "--out-dir", again.toString());
        assertEquals(0, reuse.exit(), reuse.toString());
        assertEquals(Files.size(out.resolve("suspects.arrow")), Files.size(again.resolve("suspects.arrow")));
    }

    @Test
    void answersFilesGoStraightToADataDirAndToAServerAndScoreAsTheBuiltFiles() throws Exception {
        double[][][] families = {gaussian(1.0), gaussian(1.0)};
        Map<String, double[][]> refs = new LinkedHashMap<>();
        List<Path> refFiles = new ArrayList<>();
        for (int f = 0; f < 2; f++) {
            for (int i = 0; i < 3; i++) {
                String id = "f" + f + "-" + i;
                refs.put(id, model(families[f]));
                // One file per model, as a capture writes them.
                refFiles.add(write(id + ".jsonl", answers(id, refs.get(id), false, Map.of("family", "f" + f), null)));
            }
        }
        List<ObjectNode> suspectLines = new ArrayList<>(answers("student", mix(refs.get("f0-1"),
                model(gaussian(1.0)), 0.7), true, null, null));
        // A suspect may answer some probes only.
        suspectLines.addAll(answers("partial", model(families[1]), true, null, null).subList(5, 40));
        Path suspects = write("suspects.jsonl", suspectLines);
        Path out = tmp.resolve("built");
        CliRun build = CliRun.run("topk", "build", "--references", refFiles.get(0) + "," + refFiles.get(1),
                "--references", refFiles.get(2).toString(), "--references", String.join(",",
                        refFiles.subList(3, 6).stream().map(Path::toString).toList()),
                "--suspects", suspects.toString(), "--probe-set", "api", "--out-dir", out.toString());
        assertEquals(0, build.exit(), build.toString());
        assertTrue(build.out().contains("6 references, 2 suspects"), build.out());

        // What the built files score to, as the reference for both targets.
        Path builtData = tmp.resolve("built-data");
        assertEquals(0, CliRun.run("put", out.resolve("references").toString(), "--data-dir", builtData.toString())
                .exit());
        CliRun expected = CliRun.run("score", out.resolve("suspects.arrow").toString(), "--data-dir",
                builtData.toString(), "--format", "json");
        assertEquals(0, expected.exit(), expected.toString());
        assertTrue(expected.out().contains("\"verdict\":\"DISTILLED_FROM\""), expected.out());

        String supports = out.resolve("supports.json").toString();
        String[] answersFiles = refFiles.stream().map(Path::toString).toArray(String[]::new);
        Path data = tmp.resolve("data");
        assertEquals(expected.out(), putAndScore(answersFiles, suspects, supports, "--data-dir", data.toString()));
        try (dev.imprint.server.ServerHarness server = dev.imprint.server.ServerHarness.start(tmp.resolve("served"))) {
            String address = "127.0.0.1:" + server.server().port();
            // Against the same server (its one-thread backend sums in another order than the in-process one).
            String viaAnswers = putAndScore(answersFiles, suspects, supports, "--server", address);
            CliRun builtSuspects = CliRun.run("score", out.resolve("suspects.arrow").toString(), "--server", address,
                    "--format", "json");
            assertEquals(builtSuspects.out(), viaAnswers);
            assertTrue(viaAnswers.contains("\"verdict\":\"DISTILLED_FROM\",\"model_id\":\"f0-1\""), viaAnswers);
            CliRun export = CliRun.run("probe-set", "export", "api", "--out", tmp.resolve("p.jsonl").toString(),
                    "--server", address);
            assertTrue(export.err().contains("it carries supports for 64 probes, vocabulary FIRST_CHARACTER"),
                    export.toString());
        }
    }

    /** probe-set create --supports, put of every answers file, score of the suspects: score's output. */
    private static String putAndScore(String[] references, Path suspects, String supports, String... target) {
        List<String> create = new ArrayList<>(List.of("probe-set", "create", "api", "--supports", supports));
        create.addAll(List.of(target));
        CliRun created = CliRun.run(create.toArray(String[]::new));
        assertEquals(0, created.exit(), created.toString());
        assertTrue(created.out().contains("DISTRIBUTION, 64 probes x"), created.out());
        List<String> put = new ArrayList<>(List.of("put", "--probe-set", "api"));
        put.addAll(List.of(references));
        put.addAll(List.of(target));
        CliRun putRun = CliRun.run(put.toArray(String[]::new));
        assertEquals(0, putRun.exit(), putRun.toString());
        assertTrue(putRun.out().contains("put f1-2 (protected) into probe set api"), putRun.out());
        List<String> score = new ArrayList<>(List.of("score", suspects.toString(), "--probe-set", "api",
                "--format", "json"));
        score.addAll(List.of(target));
        CliRun scoreRun = CliRun.run(score.toArray(String[]::new));
        assertEquals(0, scoreRun.exit(), scoreRun.toString());
        return scoreRun.out();
    }

    @Test
    void answersNeedAProbeSetWithSupports() throws IOException {
        Path answers = write("m.jsonl", answers("m", model(gaussian(1.0)), false, null, null));
        Path data = tmp.resolve("data");
        CliRun noSet = CliRun.run("put", answers.toString(), "--data-dir", data.toString());
        assertEquals(ImprintCli.EXIT_USAGE, noSet.exit(), noSet.toString());
        assertTrue(noSet.err().contains("needs --probe-set ID"), noSet.toString());
        Path probes = Files.writeString(tmp.resolve("probes.jsonl"), "{\"prompt\": \"a\"}\n".repeat(P));
        assertEquals(0, CliRun.run("probe-set", "create", "bare", "--probes", probes.toString(), "--dim", "8",
                "--data-dir", data.toString()).exit());
        CliRun bare = CliRun.run("put", answers.toString(), "--probe-set", "bare", "--data-dir", data.toString());
        assertEquals(ImprintCli.EXIT_FAILURE, bare.exit(), bare.toString());
        assertTrue(bare.err().contains("probe set bare carries no supports"), bare.toString());
        Path supports = Files.writeString(tmp.resolve("supports.json"), "{\"probe_set_id\": \"x\", \"dim\": 3, "
                + "\"vocabulary\": \"EXACT\", \"supports\": [[\"a\", \"<other>\"]]}");
        CliRun conflicting = CliRun.run("probe-set", "create", "x", "--supports", supports.toString(), "--dim", "4",
                "--data-dir", data.toString());
        assertEquals(ImprintCli.EXIT_USAGE, conflicting.exit(), conflicting.toString());
        assertTrue(conflicting.err().contains("has dim 3; leave --dim out with --supports"), conflicting.toString());
    }

    @Test
    void badAnswersAreRefusedNamingTheLineAndLeaveNoDirectory() throws IOException {
        Path out = tmp.resolve("out");
        Path missingProbe = write("gap.jsonl", List.of(
                JSON.createObjectNode().put("model_id", "m").put("probe", 0).set("top_logprobs", JSON.createArrayNode()),
                JSON.createObjectNode().put("model_id", "m").put("probe", 2).set("top_logprobs", JSON.createArrayNode())));
        CliRun gap = CliRun.run("topk", "build", "--references", missingProbe.toString(), "--probe-set", "x",
                "--out-dir", out.toString());
        assertEquals(ImprintCli.EXIT_FAILURE, gap.exit(), gap.toString());
        assertTrue(gap.err().contains("reference m answers 2 of the 3 probes (missing [1])"), gap.toString());
        Path noLogprob = Files.writeString(tmp.resolve("nolog.jsonl"),
                "{\"model_id\": \"m\", \"probe\": 0, \"top_logprobs\": [{\"token\": \"a\", \"logprob\": null}]}\n");
        CliRun missing = CliRun.run("topk", "build", "--references", noLogprob.toString(), "--probe-set", "x",
                "--out-dir", out.toString());
        assertEquals(ImprintCli.EXIT_FAILURE, missing.exit(), missing.toString());
        assertTrue(missing.err().contains("token 'a' has no logprob"), missing.toString());
        Path unknown = Files.writeString(tmp.resolve("unknown.jsonl"), "{\"model_id\": \"m\", \"probe\": 0, "
                + "\"top_logprobs\": [], \"temperature\": 1}\n");
        CliRun field = CliRun.run("topk", "build", "--references", unknown.toString(), "--probe-set", "x",
                "--out-dir", out.toString());
        assertTrue(field.err().contains("unknown.jsonl line 1: unknown field temperature"), field.toString());
        CliRun neither = CliRun.run("topk", "build", "--out-dir", out.toString());
        assertEquals(ImprintCli.EXIT_USAGE, neither.exit(), neither.toString());
        assertFalse(Files.exists(out), "a failed build leaves no directory");
        try (var listing = Files.list(tmp)) {
            assertTrue(listing.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "and no temporary one");
        }
    }
}
