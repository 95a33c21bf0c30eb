package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.GetProbeSetRequest;
import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.ReferenceHeader;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.TopKRows;
import dev.imprint.api.v1.TopKToken;
import dev.imprint.client.ImprintClient.SuspectInput;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Supports;
import dev.imprint.core.VocabularyMode;
import dev.imprint.io.ReferenceFile;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.topk.ProbeAnswer;
import dev.imprint.topk.TopKEntry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;

/**
 * Top-k answers sent straight to the server: probe sets keep their supports durably, and top-k
 * references and suspects become exactly the rows {@link dev.imprint.topk.TopKRows} gives offline.
 */
class TopKApiTest extends ServerTestBase {
    private static final int P = 6;
    private static final int K = 5;
    private static final String[] TOKENS = {" Paris", " Lima", " London", " Lyon", " Berlin", " Bern", " Rome",
            " Oslo", " Madrid", " Moscow", " Athens", " Ankara", " Tokyo", " Kyiv", " Cairo"};

    private final Random rng = new Random(11);

    /** A model's top-K answer to every probe, by seeded noise over the tokens; logprobs sum to under 1. */
    private List<ProbeAnswer> model() {
        List<ProbeAnswer> answers = new ArrayList<>();
        for (int p = 0; p < P; p++) {
            double[] weight = new double[TOKENS.length];
            double sum = 0;
            for (int t = 0; t < TOKENS.length; t++) {
                weight[t] = Math.exp(rng.nextGaussian() * 1.5);
                sum += weight[t];
            }
            List<Integer> order = new ArrayList<>();
            for (int t = 0; t < TOKENS.length; t++) {
                order.add(t);
            }
            order.sort((a, b) -> Double.compare(weight[b], weight[a]));
            List<TopKEntry> entries = new ArrayList<>();
            for (int i = 0; i < K; i++) {
                entries.add(new TopKEntry(TOKENS[order.get(i)], Math.log(weight[order.get(i)] / sum)));
            }
            answers.add(new ProbeAnswer(p, entries));
        }
        return answers;
    }

    /** The set whose supports the references' answers make, as topk build would. */
    private static ProbeSet setFor(List<List<ProbeAnswer>> references, String id) {
        List<List<String>> keys = new ArrayList<>();
        for (int p = 0; p < P; p++) {
            List<List<TopKEntry>> onProbe = new ArrayList<>();
            for (List<ProbeAnswer> r : references) {
                onProbe.add(r.get(p).entries());
            }
            keys.add(dev.imprint.topk.TopKRows.support(onProbe, VocabularyMode.FIRST_CHARACTER));
        }
        Supports supports = new Supports(VocabularyMode.FIRST_CHARACTER, keys);
        return ProbeSet.fromRequest(id, P, supports.largest(), ProbeSetKind.DISTRIBUTION, 0, "top-k")
                .withSupports(supports);
    }

    /** Rows built offline, straight from TopKRows.row, in the answers' order. */
    private static float[] offline(ProbeSet set, List<ProbeAnswer> answers) {
        float[] rows = new float[answers.size() * set.dim()];
        for (int i = 0; i < answers.size(); i++) {
            int p = answers.get(i).probe();
            double[] row = dev.imprint.topk.TopKRows.row(answers.get(i).entries(), set.supports().keys().get(p),
                    set.supports().mode(), "offline");
            for (int k = 0; k < row.length; k++) {
                rows[i * set.dim() + k] = (float) row[k];
            }
        }
        return rows;
    }

    private final List<List<ProbeAnswer>> refs = List.of(model(), model(), model(), model());
    private final ProbeSet set = setFor(refs, "topk");

    private void putReferences() {
        h.client().createProbeSet(set);
        for (int r = 0; r < refs.size(); r++) {
            h.client().putReferenceTopK("topk", "m" + r, Map.of("family", "f" + r % 2),
                    r == 3 ? ReferenceRole.BACKGROUND : ReferenceRole.PROTECTED, refs.get(r), false);
        }
    }

    @Test
    void supportsComeBackOnlyWhenAskedForAndSurviveARestart() throws Exception {
        h.client().createProbeSet(set);
        dev.imprint.api.v1.ProbeSet light = h.stub().getProbeSet(GetProbeSetRequest.newBuilder()
                .setProbeSetId("topk").build());
        assertTrue(light.getHasSupports());
        assertFalse(light.hasSupports(), "supports only with include_supports");
        assertEquals(set, h.client().getProbeSet("topk", false, true));
        h.restart();
        assertEquals(set, h.client().getProbeSet("topk", false, true));
        h.client().createProbeSet(set.withSupports(null));
        assertEquals(set, h.client().getProbeSet("topk", false, true),
                "a reference file naming the set without supports belongs to it");
        ImprintException clash = assertThrows(ImprintException.class, () -> h.client().createProbeSet(
                setFor(List.of(model()), "topk").withSupports(setFor(List.of(model()), "x").supports())));
        assertEquals(ImprintException.Code.ALREADY_EXISTS, clash.code());
    }

    @Test
    void aTopKReferenceIsTheDenseReferenceOfTheSameRows() throws Exception {
        putReferences();
        h.client().putReference("topk", "dense", Map.of(), offline(set, refs.get(0)), false);
        Path refsDir = h.dataDir().resolve("topk").resolve(ArrowFingerprintStore.REFS_DIR);
        try (BufferAllocator allocator = new RootAllocator()) {
            float[] viaTopK = ReferenceFile.read(allocator, refsDir.resolve("m0.arrow")).reference().rows();
            float[] dense = ReferenceFile.read(allocator, refsDir.resolve("dense.arrow")).reference().rows();
            assertArrayEquals(dense, viaTopK);
        }
    }

    @Test
    void aTopKSuspectScoresExactlyAsTheDenseSuspectOfTheSameRows() {
        putReferences();
        // Some probes, out of order: the rows name their probes.
        List<ProbeAnswer> all = model();
        List<ProbeAnswer> suspect = List.of(all.get(4), all.get(1), all.get(3), all.get(0));
        int[] probes = {4, 1, 3, 0};
        ScoreOptions options = ScoreOptions.defaults().withMetrics(EnumSet.allOf(Metric.class)).withPerProbe(true)
                .withAttribution(0.05);
        ScoreResult topK = h.client().scoreTopK("topk", suspect, options);
        ScoreResult dense = h.client().score("topk", offline(set, suspect), probes, options);
        assertSameScores(dense, topK);

        List<ScoreResult> streamed = new ArrayList<>();
        h.client().scoreStream("topk", List.of(SuspectInput.topK("t", suspect),
                new SuspectInput("d", offline(set, suspect), probes)), options, (s, r) -> streamed.add(r));
        assertSameScores(dense, streamed.get(0));
        assertSameScores(dense, streamed.get(1));
    }

    private static void assertSameScores(ScoreResult expected, ScoreResult actual) {
        assertEquals(expected.probesUsed(), actual.probesUsed());
        assertEquals(expected.matches().size(), actual.matches().size());
        for (int i = 0; i < expected.matches().size(); i++) {
            Match e = expected.matches().get(i);
            Match a = actual.matches().get(i);
            assertEquals(e.modelId(), a.modelId());
            e.values().forEach((metric, v) -> assertEquals(Double.doubleToLongBits(v),
                    Double.doubleToLongBits(a.values().get(metric)), metric + " of " + e.modelId()));
            e.perProbe().forEach((metric, v) -> assertArrayEquals(v, a.perProbe().get(metric)));
            assertEquals(Double.doubleToLongBits(e.pValue()), Double.doubleToLongBits(a.pValue()));
        }
        assertEquals(expected.attribution().verdict(), actual.attribution().verdict());
        assertEquals(expected.attribution().modelId(), actual.attribution().modelId());
        assertEquals(Double.doubleToLongBits(expected.attribution().pValue()),
                Double.doubleToLongBits(actual.attribution().pValue()));
    }

    @Test
    void badTopKAnswersAreRefusedNamingTheProbeAndChangeNothing() throws Exception {
        putReferences();
        ServerHarness.Snapshot before = h.snapshot();
        TopKRows good = ProtoMapper.toProto(model());
        TopKRows outOfRange = good.toBuilder().setRows(2, good.getRows(2).toBuilder().setProbe(9)).build();
        TopKRows duplicate = good.toBuilder().setRows(2, good.getRows(2).toBuilder().setProbe(1)).build();
        TopKRows missing = good.toBuilder().removeRows(5).removeRows(2).build();
        TopKRows noLogprob = good.toBuilder().setRows(3, good.getRows(3).toBuilder()
                .setTokens(0, TopKToken.newBuilder().setToken(" Paris"))).build();
        TopKRows tooMuch = good.toBuilder().setRows(4, good.getRows(4).toBuilder()
                .addTokens(TopKToken.newBuilder().setToken(" Zurich").setLogprob(-0.01))).build();

        assertPutRefused(outOfRange, Status.Code.INVALID_ARGUMENT, "top_k.rows[2]: probe 9 is out of range [0, 6)");
        assertPutRefused(duplicate, Status.Code.INVALID_ARGUMENT, "top_k.rows[2]: probe 1 is answered twice");
        assertPutRefused(missing, Status.Code.INVALID_ARGUMENT, "top_k answers 4 of the 6 probes (missing probe [2, 5])");
        assertPutRefused(noLogprob, Status.Code.INVALID_ARGUMENT, "top_k probe 3: token ' Paris' has no logprob");
        assertPutRefused(tooMuch, Status.Code.INVALID_ARGUMENT, "top_k probe 4: its top-k probabilities sum to");

        assertScoreRefused(outOfRange, "suspect_top_k.rows[2]: probe 9 is out of range [0, 6)");
        assertScoreRefused(duplicate, "suspect_top_k.rows[2]: probe 1 is answered twice (also rows[1])");
        assertScoreRefused(noLogprob, "suspect_top_k probe 3: token ' Paris' has no logprob");
        assertScoreRefused(tooMuch, "suspect_top_k probe 4: its top-k probabilities sum to");
        assertScoreRefused(TopKRows.getDefaultInstance(), "suspect_top_k holds no rows");
        ScoreRequest both = ScoreRequest.newBuilder().setProbeSetId("topk").setSuspectTopK(good)
                .setSuspect(ProtoMapper.matrix(1, set.dim(), new float[set.dim()])).build();
        assertRefused(() -> h.stub().score(both), Status.Code.INVALID_ARGUMENT, "both suspect and suspect_top_k");
        ScoreRequest indices = ScoreRequest.newBuilder().setProbeSetId("topk").setSuspectTopK(good)
                .addProbeIndices(0).build();
        assertRefused(() -> h.stub().score(indices), Status.Code.INVALID_ARGUMENT, "leave probe_indices empty");
        ScoreRequest parts = ScoreRequest.newBuilder().setProbeSetId("topk").setSuspectTopK(good).setRequestId("c")
                .setContinued(true).build();
        assertRefused(() -> streamOne(parts), Status.Code.INVALID_ARGUMENT, "send top-k answers whole");

        assertEquals(before, h.snapshot());
    }

    @Test
    void aSetWithoutSupportsRefusesTopKSayingHowToCreateOne() {
        h.client().createProbeSet(set.withSupports(null));
        h.client().putReference("topk", "dense", Map.of(), offline(set, refs.get(0)), false);
        ServerHarness.Snapshot before = h.snapshot();
        String how = "probe set topk carries no supports, so it cannot map top-k answers; create it with supports "
                + "(imprint probe-set create --supports FILE)";
        assertPutRefused(ProtoMapper.toProto(model()), Status.Code.FAILED_PRECONDITION, how);
        assertScoreRefused(ProtoMapper.toProto(model()), Status.Code.FAILED_PRECONDITION, how);
        assertEquals(before, h.snapshot());
        assertNull(h.client().getProbeSet("topk", true, true).supports());
    }

    private void assertPutRefused(TopKRows rows, Status.Code code, String message) {
        assertRefused(() -> upload(rows), code, message);
    }

    private void assertScoreRefused(TopKRows rows, String message) {
        assertScoreRefused(rows, Status.Code.INVALID_ARGUMENT, message);
    }

    private void assertScoreRefused(TopKRows rows, Status.Code code, String message) {
        assertRefused(() -> h.stub().score(ScoreRequest.newBuilder().setProbeSetId("topk").setSuspectTopK(rows)
                .build()), code, message);
        assertRefused(() -> streamOne(ScoreRequest.newBuilder().setProbeSetId("topk").setSuspectTopK(rows)
                .setRequestId("s").build()), code, message);
    }

    private static void assertRefused(Runnable call, Status.Code code, String message) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().contains(message), e.getStatus().getDescription());
    }

    /** A raw PutReference call: header, one top_k message, half-close. */
    private void upload(TopKRows rows) {
        CompletableFuture<Object> done = new CompletableFuture<>();
        StreamObserver<PutReferenceRequest> requests = h.asyncStub().putReference(observer(done));
        requests.onNext(PutReferenceRequest.newBuilder().setHeader(ReferenceHeader.newBuilder()
                .setProbeSetId("topk").setModelId("bad")).build());
        requests.onNext(PutReferenceRequest.newBuilder().setTopK(rows).build());
        requests.onCompleted();
        await(done);
    }

    /** A raw ScoreStream call of one request. */
    private void streamOne(ScoreRequest request) {
        CompletableFuture<Object> done = new CompletableFuture<>();
        StreamObserver<ScoreRequest> requests = h.asyncStub().scoreStream(observer(done));
        requests.onNext(request);
        requests.onCompleted();
        await(done);
    }

    private static <T> StreamObserver<T> observer(CompletableFuture<Object> done) {
        return new StreamObserver<>() {
            @Override
            public void onNext(T value) {
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                done.complete(null);
            }
        };
    }

    private static void await(CompletableFuture<Object> done) {
        try {
            done.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw (RuntimeException) e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
