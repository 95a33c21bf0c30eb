package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.imprint.api.v1.CreateProbeSetRequest;
import dev.imprint.api.v1.DeleteProbeSetRequest;
import dev.imprint.api.v1.DeleteReferenceRequest;
import dev.imprint.api.v1.GetProbeSetRequest;
import dev.imprint.api.v1.GetReferenceRequest;
import dev.imprint.api.v1.ListReferencesRequest;
import dev.imprint.api.v1.Matrix;
import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.ReferenceHeader;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.testing.TestFingerprints;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kind of bad input the API promises to refuse: each gets the promised status with a message
 * naming the field and the problem, and leaves the server's state and data directory unchanged.
 * One server serves all cases, which is sound because each case proves it changed nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {
    private static final int P = 6;
    private static final int D = 16;

    private Path dataDir;
    private ServerHarness h;
    private final TestFingerprints gen = new TestFingerprints(7L);
    private float[] distRows;
    private float[] embRows;

    @BeforeAll
    void start() throws Exception {
        dataDir = Files.createTempDirectory("imprint-bad-input");
        h = ServerHarness.start(dataDir);
        h.client().createProbeSet(ProbeSet.fromRequest("dist", P, D, ProbeSetKind.DISTRIBUTION, 0, ""));
        h.client().createProbeSet(ProbeSet.fromRequest("emb", P, D, ProbeSetKind.EMBEDDING, 0, ""));
        distRows = gen.rows(ProbeSetKind.DISTRIBUTION, P, D);
        embRows = gen.rows(ProbeSetKind.EMBEDDING, P, D);
        h.client().putReference("dist", "m0", Map.of("family", "f"), distRows, false);
        h.client().putReference("emb", "e0", Map.of(), embRows, false);
        // The snapshots compare the data directory too; make sure it sees the files.
        assertEquals(4, h.snapshot().files().keySet().stream().filter(f -> f.endsWith(".arrow")).count(),
                h.snapshot().files().toString());
    }

    @AfterAll
    void stop() throws Exception {
        h.close();
        try (Stream<Path> walk = Files.walk(dataDir)) {
            for (Path p : walk.sorted((a, b) -> b.compareTo(a)).toList()) {
                Files.delete(p);
            }
        }
    }

    /** One bad call: what it should get back and a fragment its message must contain. */
    record Case(String name, Status.Code code, String message, Supplier<Status> call) {
        @Override
        public String toString() {
            return name;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusesWithAClearErrorAndChangesNothing(Case c) {
        ServerHarness.Snapshot before = h.snapshot();
        Status status = c.call().get();
        assertEquals(c.code(), status.getCode(), "status of " + c.name() + ": " + status);
        assertTrue(status.getDescription() != null && status.getDescription().contains(c.message()),
                "message of " + c.name() + " should contain '" + c.message() + "' but was: " + status.getDescription());
        assertEquals(before, h.snapshot(), c.name() + " changed the server's state");
    }

    Stream<Case> cases() {
        List<Case> cases = new ArrayList<>();
        Status.Code invalid = Status.Code.INVALID_ARGUMENT;

        // Uploads.
        cases.add(new Case("a chunk holding a partial row", invalid, "rows hold 19 values",
                () -> upload(header("dist", "new"), chunk(0, slice(distRows, 0, D + 3)))));
        cases.add(new Case("a packed-float chunk holding a partial row", invalid, "rows hold 19 values",
                () -> upload(header("dist", "new"), PutReferenceRequest.newBuilder()
                        .setRows(ProtoMapper.packedRowChunk(0, distRows, 0, D + 3)).build())));
        cases.add(new Case("a chunk with both values and data", invalid, "set both values and data",
                () -> upload(header("dist", "new"), PutReferenceRequest.newBuilder().setRows(
                        ProtoMapper.rowChunk(0, distRows, 0, P * D).toBuilder().addValues(0.5f)).build())));
        cases.add(new Case("row bytes that are not whole floats", invalid, "has 6 bytes, not a whole number",
                () -> upload(header("dist", "new"), PutReferenceRequest.newBuilder().setRows(
                        dev.imprint.api.v1.RowChunk.newBuilder().setData(com.google.protobuf.ByteString.copyFrom(
                                new byte[6]))).build())));
        cases.add(new Case("a row never sent", invalid, "row 5 was never sent",
                () -> upload(header("dist", "new"), chunk(0, slice(distRows, 0, (P - 1) * D)))));
        cases.add(new Case("a row sent twice", invalid, "row 2 was sent more than once",
                () -> upload(header("dist", "new"), chunk(0, slice(distRows, 0, 3 * D)),
                        chunk(2, slice(distRows, 2 * D, (P - 2) * D)))));
        cases.add(new Case("rows past the end", invalid, "out of range",
                () -> upload(header("dist", "new"), chunk(P - 1, slice(distRows, 0, 2 * D)))));
        cases.add(new Case("a first_row beyond int range", invalid, "rows.first_row=4294967295",
                () -> upload(header("dist", "new"), chunk(-1, slice(distRows, 0, D)))));
        cases.add(new Case("a NaN in an uploaded row", invalid, "rows row 3 column 5 is NaN",
                () -> upload(header("dist", "new"), chunk(0, with(distRows, 3 * D + 5, Float.NaN)))));
        cases.add(new Case("an infinity in an uploaded row", invalid, "is Infinity",
                () -> upload(header("emb", "new"), chunk(0, with(embRows, 7, Float.POSITIVE_INFINITY)))));
        cases.add(new Case("a negative probability", invalid, "probabilities must be >= 0",
                () -> upload(header("dist", "new"), chunk(0, negativeEntry(distRows, 4)))));
        cases.add(new Case("a distribution row off 1 by 2e-3", invalid, "rows row 1 sums to 1.002",
                () -> upload(header("dist", "new"), chunk(0, scaledRow(distRows, 1, 1.002f)))));
        cases.add(new Case("a zero-norm embedding row", invalid, "rows row 2 has zero norm",
                () -> upload(header("emb", "new"), chunk(0, zeroRow(embRows, 2)))));
        cases.add(new Case("rows before the header", invalid, "rows arrived before the header",
                () -> upload(chunk(0, distRows), header("dist", "new"))));
        cases.add(new Case("a second header", invalid, "header was sent twice",
                () -> upload(header("dist", "new"), chunk(0, slice(distRows, 0, D)), header("dist", "new2"))));
        cases.add(new Case("an empty upload message", invalid, "neither header nor rows",
                () -> upload(header("dist", "new"), PutReferenceRequest.getDefaultInstance())));
        cases.add(new Case("an upload without header", invalid, "ended without a header", this::upload));
        cases.add(new Case("an existing model without replace", Status.Code.ALREADY_EXISTS,
                "reference m0 already exists in probe set dist",
                () -> upload(header("dist", "m0"), chunk(0, distRows))));
        cases.add(new Case("an upload to an unknown probe set", Status.Code.NOT_FOUND, "probe set ghost does not exist",
                () -> upload(header("ghost", "new"), chunk(0, distRows))));
        cases.add(new Case("an empty label key", invalid, "header.labels has a key of length 0",
                () -> upload(PutReferenceRequest.newBuilder().setHeader(ReferenceHeader.newBuilder()
                        .setProbeSetId("dist").setModelId("new").putLabels("", "x")).build(), chunk(0, distRows))));
        for (String bad : badIds()) {
            cases.add(new Case("model_id " + printable(bad), invalid, "header.model_id",
                    () -> upload(header("dist", bad), chunk(0, distRows))));
            cases.add(new Case("probe_set_id " + printable(bad) + " in an upload", invalid, "probe_set_id",
                    () -> upload(header(bad, "new"), chunk(0, distRows))));
        }

        // Scoring.
        cases.add(new Case("suspect data one byte short", invalid,
                "suspect.data has 383 bytes; expected rows*cols*4 = 6*16*4 = 384",
                () -> score(score("dist").setSuspect(Matrix.newBuilder().setRows(P).setCols(D)
                        .setData(ByteString.copyFrom(new byte[P * D * 4 - 1]))))));
        cases.add(new Case("suspect cols other than dim", invalid, "suspect.cols=8 but probe set dist has dim=16",
                () -> score(score("dist").setSuspect(ProtoMapper.matrix(2 * P, D / 2, distRows)))));
        cases.add(new Case("suspect rows other than num_probes", invalid, "suspect.rows=5 but the probe set has num_probes=6",
                () -> score(score("dist").setSuspect(ProtoMapper.matrix(P - 1, D, slice(distRows, 0, (P - 1) * D))))));
        cases.add(new Case("suspect rows other than probe_indices", invalid, "suspect.rows=6 but probe_indices has 2 entries",
                () -> score(score("dist").addProbeIndices(0).addProbeIndices(1))));
        cases.add(new Case("a probe index out of range", invalid, "probe_indices[1]=6 is out of range [0, 6)",
                () -> score(twoRows("dist", 0, P))));
        cases.add(new Case("a probe index beyond int range", invalid, "probe_indices[0]=4294967295 is out of range",
                () -> score(twoRows("dist", -1, 0))));
        cases.add(new Case("a duplicate probe index", invalid, "probe_indices[1]=3 is a duplicate",
                () -> score(twoRows("dist", 3, 3))));
        cases.add(new Case("a NaN in the suspect", invalid, "suspect row 0 column 1 is NaN",
                () -> score(score("dist").setSuspect(ProtoMapper.matrix(P, D, with(distRows, 1, Float.NaN))))));
        cases.add(new Case("an infinity in the suspect", invalid, "is -Infinity",
                () -> score(score("emb").setSuspect(ProtoMapper.matrix(P, D, with(embRows, 20, Float.NEGATIVE_INFINITY))))));
        cases.add(new Case("a negative suspect probability", invalid, "probabilities must be >= 0",
                () -> score(score("dist").setSuspect(ProtoMapper.matrix(P, D, negativeEntry(distRows, 5))))));
        cases.add(new Case("a suspect row off 1 by 2e-3", invalid, "suspect row 4 sums to 0.998",
                () -> score(score("dist").setSuspect(ProtoMapper.matrix(P, D, scaledRow(distRows, 4, 0.998f))))));
        cases.add(new Case("a zero-norm suspect row", invalid, "suspect row 0 has zero norm",
                () -> score(score("emb").setSuspect(ProtoMapper.matrix(P, D, zeroRow(embRows, 0))))));
        cases.add(new Case("KL on an embedding set", invalid, "metrics contains KL_REF_SUSPECT, which EMBEDDING",
                () -> score(score("emb").addMetrics(dev.imprint.api.v1.Metric.KL_REF_SUSPECT))));
        cases.add(new Case("top-1 agreement on an embedding set", invalid, "metrics contains TOP1_AGREEMENT",
                () -> score(score("emb").addMetrics(dev.imprint.api.v1.Metric.TOP1_AGREEMENT))));
        cases.add(new Case("order_by JS on an embedding set", invalid, "order_by=JS",
                () -> score(score("emb").setOrderBy(dev.imprint.api.v1.Metric.JS))));
        cases.add(new Case("order_by outside the requested metrics", invalid, "order_by=JS is not among the requested metrics",
                () -> score(score("dist").addMetrics(dev.imprint.api.v1.Metric.COSINE)
                        .setOrderBy(dev.imprint.api.v1.Metric.JS))));
        cases.add(new Case("an unspecified metric", invalid, "metrics[0]=0 is not a metric",
                () -> score(score("dist").addMetricsValue(0))));
        cases.add(new Case("an unknown metric number", invalid, "metrics[1]=99 is not a metric",
                () -> score(score("dist").addMetricsValue(1).addMetricsValue(99))));
        cases.add(new Case("a top_k beyond int range", invalid, "top_k=4294967295",
                () -> score(score("dist").setTopK(-1))));
        cases.add(new Case("a bad id in model_ids", invalid, "model_ids[1]",
                () -> score(score("dist").addModelIds("m0").addModelIds("../m0"))));
        cases.add(new Case("an unknown probe set to score", Status.Code.NOT_FOUND, "probe set ghost does not exist",
                () -> score(score("ghost"))));

        // Probe sets.
        for (String bad : badIds()) {
            cases.add(new Case("create with probe_set_id " + printable(bad), invalid, "probe_set_id",
                    () -> create(createDist(bad))));
            cases.add(new Case("get with probe_set_id " + printable(bad), invalid, "probe_set_id",
                    () -> status(() -> h.stub().getProbeSet(GetProbeSetRequest.newBuilder().setProbeSetId(bad).build()))));
            cases.add(new Case("delete with probe_set_id " + printable(bad), invalid, "probe_set_id",
                    () -> status(() -> h.stub().deleteProbeSet(DeleteProbeSetRequest.newBuilder().setProbeSetId(bad)
                            .setForce(true).build()))));
            cases.add(new Case("get reference with model_id " + printable(bad), invalid, "model_id",
                    () -> status(() -> h.stub().getReference(GetReferenceRequest.newBuilder().setProbeSetId("dist")
                            .setModelId(bad).build()))));
            cases.add(new Case("delete reference with model_id " + printable(bad), invalid, "model_id",
                    () -> status(() -> h.stub().deleteReference(DeleteReferenceRequest.newBuilder()
                            .setProbeSetId("dist").setModelId(bad).build()))));
        }
        cases.add(new Case("list references of a bad probe_set_id", invalid, "probe_set_id",
                () -> status(() -> h.stub().listReferences(ListReferencesRequest.newBuilder()
                        .setProbeSetId("a/../b").build()))));
        cases.add(new Case("an unspecified kind", invalid, "kind is unspecified",
                () -> create(createDist("k").setKind(dev.imprint.api.v1.ProbeSetKind.PROBE_SET_KIND_UNSPECIFIED))));
        cases.add(new Case("an unknown kind number", invalid, "kind has an unknown value",
                () -> create(createDist("k").setKindValue(7))));
        cases.add(new Case("zero probes", invalid, "num_probes=0", () -> create(createDist("k").setNumProbes(0))));
        cases.add(new Case("zero dim", invalid, "dim=0", () -> create(createDist("k").setDim(0))));
        cases.add(new Case("num_probes beyond int range", invalid, "num_probes=4294967295",
                () -> create(createDist("k").setNumProbes(-1))));
        cases.add(new Case("a fingerprint too large", invalid, "num_probes*dim=536870912 exceeds",
                () -> create(createDist("k").setNumProbes(1 << 15).setDim(1 << 14))));
        cases.add(new Case("smoothing on an embedding set", invalid, "smoothing_epsilon=0.01 on an EMBEDDING set",
                () -> create(createDist("k").setKind(dev.imprint.api.v1.ProbeSetKind.EMBEDDING).setSmoothingEpsilon(0.01))));
        cases.add(new Case("a smoothing epsilon of 1.5", invalid, "smoothing_epsilon=1.5; expected a value in (0, 1)",
                () -> create(createDist("k").setSmoothingEpsilon(1.5))));
        cases.add(new Case("a negative smoothing epsilon", invalid, "smoothing_epsilon=-0.1",
                () -> create(createDist("k").setSmoothingEpsilon(-0.1))));
        return cases.stream();
    }

    @Test
    void acceptsTheLongestIdAndARowJustInsideTheSumTolerance() {
        String longest = "a".repeat(128);
        h.client().createProbeSet(ProbeSet.fromRequest(longest, P, D, ProbeSetKind.DISTRIBUTION, 0, ""));
        h.client().putReference(longest, "x:y.z-_9", Map.of(), scaledRow(distRows, 0, 1.0009f), false);
        assertEquals(1, h.client().referenceCount(longest));
        h.client().deleteProbeSet(longest, true);
    }

    /** Empty, too long, outside the alphabet, directory names and path tricks. */
    private static List<String> badIds() {
        return List.of("", "a".repeat(129), "a/b", "..", ".", "../etc", "..\\x", "a b", "caf\u00e9", "nul\u0000",
                "%2e%2e", "~root");
    }

    private static String printable(String id) {
        String shown = id.length() > 20 ? id.substring(0, 10) + "...(" + id.length() + " chars)" : id;
        return "'" + shown.replace("\u0000", "\\0") + "'";
    }

    private Status upload(PutReferenceRequest... messages) {
        return Uploads.send(h.asyncStub(), messages);
    }

    private static PutReferenceRequest header(String probeSetId, String modelId) {
        return Uploads.header(probeSetId, modelId);
    }

    private static PutReferenceRequest chunk(int firstRow, float[] values) {
        return Uploads.chunk(firstRow, values, 0, values.length);
    }

    private ScoreRequest.Builder score(String probeSetId) {
        float[] rows = probeSetId.equals("emb") ? embRows : distRows;
        return ScoreRequest.newBuilder().setProbeSetId(probeSetId).setSuspect(ProtoMapper.matrix(P, D, rows));
    }

    private ScoreRequest.Builder twoRows(String probeSetId, int first, int second) {
        return ScoreRequest.newBuilder().setProbeSetId(probeSetId)
                .setSuspect(ProtoMapper.matrix(2, D, slice(distRows, 0, 2 * D)))
                .addProbeIndices(first).addProbeIndices(second);
    }

    private Status score(ScoreRequest.Builder req) {
        return status(() -> h.stub().score(req.build()));
    }

    private static CreateProbeSetRequest.Builder createDist(String id) {
        return CreateProbeSetRequest.newBuilder().setProbeSetId(id).setNumProbes(P).setDim(D)
                .setKind(dev.imprint.api.v1.ProbeSetKind.DISTRIBUTION);
    }

    private Status create(CreateProbeSetRequest.Builder req) {
        return status(() -> h.stub().createProbeSet(req.build()));
    }

    private static Status status(Runnable call) {
        try {
            call.run();
            return Status.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
    }

    private static float[] slice(float[] values, int from, int count) {
        float[] out = new float[count];
        System.arraycopy(values, from, out, 0, count);
        return out;
    }

    private static float[] with(float[] values, int index, float value) {
        float[] out = values.clone();
        out[index] = value;
        return out;
    }

    /** Row {@code row} with one entry at -0.01 and another raised to match, so it still sums to 1. */
    private static float[] negativeEntry(float[] values, int row) {
        float[] out = values.clone();
        out[row * D + 1] += out[row * D] + 0.01f;
        out[row * D] = -0.01f;
        return out;
    }

    /** Row {@code row} rescaled to sum to {@code sum} instead of 1. */
    private static float[] scaledRow(float[] values, int row, float sum) {
        float[] out = values.clone();
        double total = 0;
        for (int k = 0; k < D; k++) {
            total += values[row * D + k];
        }
        for (int k = 0; k < D; k++) {
            out[row * D + k] = (float) (values[row * D + k] * sum / total);
        }
        return out;
    }

    private static float[] zeroRow(float[] values, int row) {
        float[] out = values.clone();
        java.util.Arrays.fill(out, row * D, (row + 1) * D, 0f);
        return out;
    }
}
