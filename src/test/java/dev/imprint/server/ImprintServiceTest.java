package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.CreateProbeSetRequest;
import dev.imprint.api.v1.DeleteProbeSetRequest;
import dev.imprint.api.v1.DeleteReferenceRequest;
import dev.imprint.api.v1.GetReferenceRequest;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ScoreResponse;
import dev.imprint.api.v1.ServerInfo;
import dev.imprint.client.ScoreOptions;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.ScoreResult;
import dev.imprint.core.Suspect;
import dev.imprint.engine.DeviceInfo;
import dev.imprint.engine.ForwardingBackend;
import dev.imprint.engine.ScoreBatching;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.testing.Float64Metrics;
import dev.imprint.testing.TestFingerprints;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImprintServiceTest extends ServerTestBase {
    private static final int P = 12;
    private static final int D = 40;

    private final TestFingerprints gen = new TestFingerprints(20261128L);
    private final Map<String, float[]> refs = new LinkedHashMap<>();

    private ProbeSet distributionSetWithFiveReferences() {
        ProbeSet set = h.client().createProbeSet(ProbeSet.fromRequest("dist", P, D, ProbeSetKind.DISTRIBUTION, 0, "d"));
        for (int m = 0; m < 5; m++) {
            float[] rows = gen.rows(ProbeSetKind.DISTRIBUTION, P, D);
            refs.put("m" + m, rows);
            h.client().putReference("dist", "m" + m, Map.of("family", m % 2 == 0 ? "even" : "odd",
                    "index", Integer.toString(m)), rows, false);
        }
        return set;
    }

    private static StatusRuntimeException statusOf(Runnable call) {
        return assertThrows(StatusRuntimeException.class, call::run);
    }

    @Test
    void createsGetsListsAndDeletesProbeSets() {
        ProbeSet created = h.client().createProbeSet(ProbeSet.fromRequest("a", 3, 4, ProbeSetKind.DISTRIBUTION, 0, "x"));
        assertEquals(ProbeSet.DEFAULT_SMOOTHING_EPSILON, created.smoothingEpsilon());
        h.client().createProbeSet(ProbeSet.fromRequest("b", 5, 6, ProbeSetKind.EMBEDDING, 0, ""));
        assertEquals(created, h.client().getProbeSet("a"));
        assertEquals(List.of("a", "b"), h.client().listProbeSets().stream().map(ProbeSet::id).toList());
        assertEquals(0, h.client().deleteProbeSet("a", false));
        assertEquals(List.of("b"), h.client().listProbeSets().stream().map(ProbeSet::id).toList());
        assertEquals(Status.Code.NOT_FOUND, statusOf(() -> h.stub().deleteProbeSet(
                DeleteProbeSetRequest.newBuilder().setProbeSetId("a").build())).getStatus().getCode());
    }

    @Test
    void repeatingAnIdenticalCreateIsOkButADifferentOneIsAlreadyExists() {
        CreateProbeSetRequest req = CreateProbeSetRequest.newBuilder().setProbeSetId("s").setNumProbes(4).setDim(8)
                .setKind(dev.imprint.api.v1.ProbeSetKind.DISTRIBUTION).setDescription("first").build();
        dev.imprint.api.v1.ProbeSet first = h.stub().createProbeSet(req);
        assertEquals(first, h.stub().createProbeSet(req));
        ServerHarness.Snapshot before = h.snapshot();
        StatusRuntimeException e = statusOf(() -> h.stub().createProbeSet(req.toBuilder().setDim(9).build()));
        assertEquals(Status.Code.ALREADY_EXISTS, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("probe set s already exists"), e.getMessage());
        assertEquals(before, h.snapshot());
    }

    @Test
    void deleteProbeSetRefusesWhileReferencesExistUnlessForced() {
        distributionSetWithFiveReferences();
        ServerHarness.Snapshot before = h.snapshot();
        StatusRuntimeException e = statusOf(() -> h.stub().deleteProbeSet(
                DeleteProbeSetRequest.newBuilder().setProbeSetId("dist").build()));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("5 references"), e.getMessage());
        assertEquals(before, h.snapshot());

        assertEquals(5, h.client().deleteProbeSet("dist", true));
        assertTrue(h.client().listProbeSets().isEmpty());
        assertTrue(ServerHarness.files(dataDir).keySet().stream().noneMatch(f -> f.contains("m0")),
                "files left after a forced delete: " + ServerHarness.files(dataDir));
    }

    @Test
    void unknownIdsAreNotFound() {
        distributionSetWithFiveReferences();
        assertEquals(Status.Code.NOT_FOUND, statusOf(() -> h.stub().getReference(GetReferenceRequest.newBuilder()
                .setProbeSetId("dist").setModelId("nobody").build())).getStatus().getCode());
        assertEquals(Status.Code.NOT_FOUND, statusOf(() -> h.stub().getReference(GetReferenceRequest.newBuilder()
                .setProbeSetId("nowhere").setModelId("m0").build())).getStatus().getCode());
        StatusRuntimeException e = statusOf(() -> h.stub().score(scoreRequest("dist", refs.get("m0"))
                .addModelIds("m1").addModelIds("ghost").build()));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("ghost"), e.getMessage());
        assertEquals(Status.Code.NOT_FOUND, statusOf(() -> h.stub().deleteReference(DeleteReferenceRequest.newBuilder()
                .setProbeSetId("dist").setModelId("ghost").build())).getStatus().getCode());
    }

    @Test
    void referencesCarryTheirLabelsAndListBySelector() {
        distributionSetWithFiveReferences();
        ReferenceMeta m3 = h.client().getReference("dist", "m3");
        assertEquals(Map.of("family", "odd", "index", "3"), m3.labels());
        assertEquals(P, m3.numProbes());
        assertEquals(D, m3.dim());
        assertTrue(m3.createdUnixMs() > 0);
        assertEquals(List.of("m1", "m3"), h.client().listReferences("dist", Map.of("family", "odd")).stream()
                .map(ReferenceMeta::modelId).toList());
        assertEquals(5, h.client().referenceCount("dist"));
        h.client().deleteReference("dist", "m3");
        assertEquals(List.of("m1"), h.client().listReferences("dist", Map.of("family", "odd")).stream()
                .map(ReferenceMeta::modelId).toList());
    }

    @Test
    void scoreAnswersExactlyWhatTheEngineAnswersInProcess() {
        ProbeSet set = distributionSetWithFiveReferences();
        float[] suspect = gen.near(ProbeSetKind.DISTRIBUTION, refs.get("m2"), D, 0.05);
        ScoreResult remote = h.client().score("dist", suspect, new int[0], ScoreOptions.defaults());
        ScoreResult local = h.engine().score(set, Suspect.of(set, P, D, suspect, new int[0]), ScoreQuery.defaults(set));
        assertEquals(local.matches(), remoteMatchesWithoutPerProbe(remote));
        assertEquals("m2", remote.matches().get(0).modelId());
        assertEquals(Metric.KL_REF_SUSPECT, remote.orderBy());
        assertEquals(P, remote.probesUsed());
        assertEquals(5, remote.referencesScored());
        assertEquals("cpu", remote.backend());
        assertEquals(EnumSet.of(Metric.COSINE, Metric.KL_REF_SUSPECT, Metric.KL_SUSPECT_REF, Metric.TOP1_AGREEMENT),
                remote.matches().get(0).values().keySet());
        // And the engine's numbers are the metric contract's, checked against the float64 definition.
        for (Match m : remote.matches()) {
            double expected = Float64Metrics.mean(set, Metric.KL_REF_SUSPECT, refs.get(m.modelId()), suspect, allProbes());
            double got = m.values().get(Metric.KL_REF_SUSPECT);
            assertEquals(expected, got, 1e-4 + 1e-3 * Math.abs(expected), m.modelId());
        }
    }

    @Test
    void scoreHonoursTopKSelectorsModelIdsOrderAndPerProbe() {
        ProbeSet set = distributionSetWithFiveReferences();
        int[] probes = {7, 2, 9, 0};
        float[] suspect = gen.near(ProbeSetKind.DISTRIBUTION,
                dev.imprint.testing.TestFingerprints.selectRows(refs.get("m4"), D, probes), D, 0.1);
        ScoreOptions options = ScoreOptions.defaults().withMetrics(EnumSet.of(Metric.COSINE, Metric.JS))
                .withOrderBy(Metric.COSINE).withTopK(2).withLabelSelector(Map.of("family", "even"))
                .withModelIds(List.of("m0", "m1", "m4")).withPerProbe(true);
        ScoreResult remote = h.client().score("dist", suspect, probes, options);
        ScoreResult local = h.engine().score(set, Suspect.of(set, probes.length, D, suspect, probes),
                ScoreQuery.resolve(set, EnumSet.of(Metric.COSINE, Metric.JS), Metric.COSINE, 2,
                        List.of("m0", "m1", "m4"), Map.of("family", "even"), true));
        // Selected: model_ids ∩ family=even = {m0, m4}; m1 is odd.
        assertEquals(2, remote.referencesScored());
        assertEquals(List.of("m4", "m0"), remote.matches().stream().map(Match::modelId).toList());
        assertEquals(List.of(1, 2), remote.matches().stream().map(Match::rank).toList());
        assertEquals(probes.length, remote.probesUsed());
        for (int i = 0; i < remote.matches().size(); i++) {
            Match r = remote.matches().get(i);
            Match l = local.matches().get(i);
            assertEquals(l.values(), r.values());
            assertEquals(Set.of(Metric.COSINE, Metric.JS), r.values().keySet());
            for (Metric m : l.perProbe().keySet()) {
                assertArrayEquals(l.perProbe().get(m), r.perProbe().get(m), m.name());
            }
            assertEquals(probes.length, r.perProbe().get(Metric.JS).length);
        }

        ScoreResponse top1 = h.stub().score(scoreRequest("dist", refs.get("m1")).setTopK(1).setRequestId("q1").build());
        assertEquals("q1", top1.getRequestId());
        assertEquals(1, top1.getMatchesCount());
        assertEquals(5, top1.getReferencesScored());
        assertFalse(top1.getMatches(0).hasJs(), "JS is set although it was not computed");
        assertFalse(top1.getMatches(0).hasPerProbe());
    }

    @Test
    void embeddingSetsRankByCosineDescending() {
        ProbeSet set = h.client().createProbeSet(ProbeSet.fromRequest("emb", P, D, ProbeSetKind.EMBEDDING, 0, ""));
        for (int m = 0; m < 4; m++) {
            float[] rows = gen.rows(ProbeSetKind.EMBEDDING, P, D);
            refs.put("e" + m, rows);
            h.client().putReference("emb", "e" + m, Map.of(), rows, false);
        }
        float[] suspect = gen.near(ProbeSetKind.EMBEDDING, refs.get("e3"), D, 0.2);
        ScoreResult remote = h.client().score("emb", suspect, new int[0], ScoreOptions.defaults());
        assertEquals(Metric.COSINE, remote.orderBy());
        assertEquals("e3", remote.matches().get(0).modelId());
        assertEquals(Set.of(Metric.COSINE), remote.matches().get(0).values().keySet());
        assertEquals(h.engine().score(set, Suspect.of(set, P, D, suspect, new int[0]), ScoreQuery.defaults(set))
                .matches(), remoteMatchesWithoutPerProbe(remote));
    }

    @Test
    void serverInfoReportsVersionBackendCountsAndTheMessageLimit() {
        distributionSetWithFiveReferences();
        ServerInfo info = h.client().getServerInfo();
        assertEquals(ImprintServer.version(), info.getVersion());
        assertFalse(info.getVersion().isEmpty() || info.getVersion().equals("unknown")
                || info.getVersion().contains("${"), info.getVersion());
        assertEquals("cpu", info.getBackend());
        assertTrue(info.getBackendReason().startsWith("cpu"), info.getBackendReason());
        assertEquals(1, info.getProbeSetCount());
        assertEquals(5, info.getReferenceCount());
        assertTrue(info.getReferenceBytes() >= 5L * P * D * Float.BYTES, "reference_bytes=" + info.getReferenceBytes());
        assertEquals(ServerHarness.TEST_MESSAGE_LIMIT, info.getMaxInboundMessageBytes());
        assertTrue(info.getDataDir().contains(dataDir.getFileName().toString()), info.getDataDir());
        assertTrue(info.getQuarantinedFilesList().isEmpty());
        assertFalse(info.hasDevice(), "the CPU backend has no accelerator to report");
    }

    @Test
    void serverInfoReportsTheBackendsDevice(@TempDir Path elsewhere) throws Exception {
        DeviceInfo device = new DeviceInfo("Test GPU", "sm_90", "13.0", 8L << 30, 6L << 30);
        try (ServerHarness gpuLike = ServerHarness.start(elsewhere, () -> new ForwardingBackend(new CpuBackend(1)) {
            @Override
            public DeviceInfo deviceInfo() {
                return device;
            }
        }, ScoreBatching.defaults())) {
            dev.imprint.api.v1.DeviceInfo reported = gpuLike.client().getServerInfo().getDevice();

            assertEquals(ProtoMapper.toProto(device), reported);
            assertEquals("Test GPU", reported.getName());
            assertEquals(6L << 30, reported.getMemoryFreeBytes());
        }
    }

    /** The remote matches with empty per-probe maps, as the engine returns them when none were asked. */
    private static List<Match> remoteMatchesWithoutPerProbe(ScoreResult remote) {
        return remote.matches().stream().map(m -> new Match(m.modelId(), m.labels(), m.rank(), m.values(), Map.of()))
                .toList();
    }

    private static ScoreRequest.Builder scoreRequest(String probeSetId, float[] suspect) {
        return ScoreRequest.newBuilder().setProbeSetId(probeSetId).setSuspect(ProtoMapper.matrix(P, D, suspect));
    }

    private static int[] allProbes() {
        int[] all = new int[P];
        for (int i = 0; i < P; i++) {
            all[i] = i;
        }
        return all;
    }
}
