package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.Evidence;
import dev.imprint.api.v1.ListReferencesRequest;
import dev.imprint.api.v1.Match;
import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.Reference;
import dev.imprint.api.v1.ReferenceHeader;
import dev.imprint.api.v1.ReferenceRole;
import dev.imprint.api.v1.ScoreRequest;
import dev.imprint.api.v1.ScoreResponse;
import dev.imprint.api.v1.Verdict;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreQuery;
import dev.imprint.core.Suspect;
import dev.imprint.testing.LogLinearModels;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Attribution over the wire: Score, ScoreStream and reference roles on a real server. */
class AttributionApiTest extends ServerTestBase {
    private static final int P = 64;
    private static final int D = 24;
    private static final ProbeSet SET = ProbeSet.fromRequest("attr", P, D, ProbeSetKind.DISTRIBUTION, 0, "");

    private final LogLinearModels gen = new LogLinearModels(P, D, 77);
    private final double[][] families = {gen.gaussian(1.0), gen.gaussian(1.0), gen.gaussian(1.0)};
    private final List<double[]> references = new ArrayList<>();

    @BeforeEach
    void registerPanel() {
        h.client().createProbeSet(SET);
        for (int i = 0; i < 9; i++) {
            references.add(gen.model(families[i / 3]));
            h.client().putReference(SET.id(), "m" + i, Map.of("family", "f" + i / 3),
                    gen.softmax(references.get(i)), false);
        }
        h.client().putReference(SET.id(), "bg", Map.of(), dev.imprint.core.ReferenceRole.BACKGROUND,
                gen.softmax(gen.model(gen.gaussian(1.0))), false);
    }

    private float[] studentOf(int teacher) {
        return gen.softmax(LogLinearModels.mix(references.get(teacher), gen.model(gen.gaussian(1.0)), 0.5));
    }

    private static ScoreRequest.Builder request(String id, float[] rows) {
        return ScoreRequest.newBuilder().setRequestId(id).setProbeSetId(SET.id())
                .setSuspect(ProtoMapper.matrix(P, D, rows));
    }

    @Test
    void scoreGivesTheEnginesVerdictEvidenceAndAPValuePerProtectedMatch() {
        float[] student = studentOf(3);
        ScoreResponse r = h.stub().score(request("", student).setAttribution(true).build());

        assertTrue(r.hasAttribution());
        assertEquals(Verdict.DISTILLED_FROM, r.getAttribution().getVerdict(), r.getAttribution().getReason());
        assertEquals("m3", r.getAttribution().getModelId());
        assertEquals("f1", r.getAttribution().getFamily());
        assertEquals(ScoreQuery.DEFAULT_ALPHA, r.getAttribution().getAlpha(), "unset alpha means 0.01");
        assertEquals(P, r.getAttribution().getProbesUsed());
        Evidence top = r.getAttribution().getEvidence(0);
        assertEquals("m3", top.getModelId());
        assertFalse(top.getProbesList().isEmpty());
        assertEquals(top.getProbesCount(), top.getContributionsCount());
        for (Match m : r.getMatchesList()) {
            if (m.getModelId().equals("bg")) {
                assertFalse(m.hasPValue(), "a background reference is never a teacher");
            }
            if (m.getModelId().equals("m3")) {
                assertEquals(r.getAttribution().getPValue(), m.getPValue());
            }
        }
        // The wire answer is exactly what the engine computes in-process.
        ScoreQuery query = ScoreQuery.defaults(SET).withAttribution(ScoreQuery.DEFAULT_ALPHA);
        assertEquals(ProtoMapper.toProto("", h.engine().score(SET, Suspect.of(SET, P, D, student, new int[0]), query)),
                r);
    }

    @Test
    void aRequestWithoutAttributionGetsNoVerdictAndNoPValues() {
        ScoreResponse r = h.stub().score(request("", studentOf(0)).build());
        assertFalse(r.hasAttribution());
        assertTrue(r.getMatchesList().stream().noneMatch(Match::hasPValue));
    }

    @Test
    void anAlphaOutsideItsRangeOrWithoutAttributionIsInvalidArgument() {
        StatusRuntimeException big = assertThrows(StatusRuntimeException.class,
                () -> h.stub().score(request("", studentOf(0)).setAttribution(true).setAlpha(0.7).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, big.getStatus().getCode());
        assertTrue(big.getStatus().getDescription().startsWith("alpha=0.7; expected a significance level in (0, 0.5]"),
                big.getStatus().getDescription());
        StatusRuntimeException negative = assertThrows(StatusRuntimeException.class,
                () -> h.stub().score(request("", studentOf(0)).setAttribution(true).setAlpha(-0.01).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, negative.getStatus().getCode());
        StatusRuntimeException alone = assertThrows(StatusRuntimeException.class,
                () -> h.stub().score(request("", studentOf(0)).setAlpha(0.05).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, alone.getStatus().getCode());
        assertTrue(alone.getStatus().getDescription().contains("needs attribution=true"),
                alone.getStatus().getDescription());
    }

    @Test
    void scoreStreamCarriesEachVerdictAsTheUnaryCallGivesIt() throws Exception {
        List<ScoreRequest> requests = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            ScoreRequest.Builder b = request("r" + i, studentOf(i % 9));
            // Runs with and without attribution and with two alphas, so the batcher must keep them apart.
            if (i % 3 != 2) {
                b.setAttribution(true).setAlpha(i % 3 == 0 ? 0.01 : 0.05);
            }
            requests.add(b.build());
        }
        CallRecorder<ScoreRequest, ScoreResponse> recorder = new CallRecorder<>();
        StreamObserver<ScoreRequest> out = h.asyncStub().scoreStream(recorder);
        requests.forEach(out::onNext);
        out.onCompleted();
        assertEquals(Status.Code.OK, recorder.await().getCode());
        List<ScoreResponse> got = recorder.responses();
        assertEquals(requests.size(), got.size());
        for (int i = 0; i < requests.size(); i++) {
            assertEquals(h.stub().score(requests.get(i)), got.get(i), "response " + i);
            assertEquals(i % 3 != 2, got.get(i).hasAttribution(), "response " + i);
        }
    }

    @Test
    void rolesAreStoredListedFilteredAndSurviveARestart() throws Exception {
        assertEquals(ReferenceRole.BACKGROUND, h.stub().getReference(dev.imprint.api.v1.GetReferenceRequest.newBuilder()
                .setProbeSetId(SET.id()).setModelId("bg").build()).getRole());
        assertEquals(List.of("bg"), modelIds(ReferenceRole.BACKGROUND));
        assertEquals(List.of("m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"), modelIds(ReferenceRole.PROTECTED));
        assertEquals(10, modelIds(ReferenceRole.REFERENCE_ROLE_UNSPECIFIED).size());
        h.restart();
        assertEquals(List.of("bg"), modelIds(ReferenceRole.BACKGROUND));
    }

    @Test
    void anUnknownRoleIsInvalidArgumentAndStoresNothing() {
        ServerHarness.Snapshot before = h.snapshot();
        Status status = Uploads.send(h.asyncStub(),
                PutReferenceRequest.newBuilder().setHeader(ReferenceHeader.newBuilder().setProbeSetId(SET.id())
                        .setModelId("odd").setRoleValue(9)).build(),
                Uploads.chunk(0, gen.softmax(gen.model(families[0])), 0, P * D));
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
        assertEquals("header.role=9 is not a role; expected PROTECTED or BACKGROUND", status.getDescription());
        assertEquals(before, h.snapshot());
        StatusRuntimeException list = assertThrows(StatusRuntimeException.class, () -> h.stub().listReferences(
                ListReferencesRequest.newBuilder().setProbeSetId(SET.id()).setRoleValue(5).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, list.getStatus().getCode());
    }

    private List<String> modelIds(ReferenceRole role) {
        return h.stub().listReferences(ListReferencesRequest.newBuilder().setProbeSetId(SET.id()).setRole(role)
                .build()).getReferencesList().stream().map(Reference::getModelId).toList();
    }
}
