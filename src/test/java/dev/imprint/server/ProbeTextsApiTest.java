package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.api.v1.CreateProbeSetRequest;
import dev.imprint.api.v1.GetProbeSetRequest;
import dev.imprint.api.v1.ListProbeSetsRequest;
import dev.imprint.core.ChatMessage;
import dev.imprint.core.Probe;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ProbeTexts;
import dev.imprint.core.VocabularyMode;
import dev.imprint.testing.TestFingerprints;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Probe sets that carry their probes' texts, over gRPC: created, returned on request, durable. */
class ProbeTextsApiTest extends ServerTestBase {
    private static final ProbeTexts TEXTS = new ProbeTexts(List.of(Probe.completion("The capital of Peru is"),
            Probe.chat(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Name a colour.")))),
            1, 1, VocabularyMode.NORMALISED);
    private static final ProbeSet SET = ProbeSet.fromRequest("texts", 2, 6, ProbeSetKind.DISTRIBUTION, 0, "")
            .withTexts(TEXTS);

    @Test
    void textsComeBackOnlyWhenAskedForAndSurviveARestart() throws Exception {
        h.client().createProbeSet(SET);
        assertEquals(SET, h.client().getProbeSetWithTexts("texts"));
        dev.imprint.api.v1.ProbeSet light = h.stub().getProbeSet(GetProbeSetRequest.newBuilder()
                .setProbeSetId("texts").build());
        assertTrue(light.getHasTexts());
        assertFalse(light.hasTexts(), "texts only with include_texts");
        assertFalse(h.stub().listProbeSets(ListProbeSetsRequest.getDefaultInstance()).getProbeSets(0).hasTexts());
        h.restart();
        assertEquals(SET, h.client().getProbeSetWithTexts("texts"));
    }

    @Test
    void aReferenceNamingTheSetWithoutItsTextsBelongsToIt() {
        h.client().createProbeSet(SET);
        ProbeSet named = h.client().createProbeSet(SET.withTexts(null));
        assertEquals(SET, h.client().getProbeSetWithTexts(named.id()));
        h.client().putReference("texts", "m", Map.of(), new TestFingerprints(3).rows(ProbeSetKind.DISTRIBUTION, 2, 6),
                false);
        assertEquals(1, h.client().referenceCount("texts"));
    }

    @Test
    void badTextsAreRefusedNamingTheProbeAndChangeNothing() {
        ServerHarness.Snapshot before = h.snapshot();
        CreateProbeSetRequest valid = ProtoMapper.createRequest(SET);
        CreateProbeSetRequest both = valid.toBuilder().setTexts(valid.getTexts().toBuilder().setProbes(1,
                valid.getTexts().getProbes(1).toBuilder().setPrompt("and a prompt"))).build();
        assertRefused(both, "texts.probes[1]: a probe has both a prompt and messages");
        CreateProbeSetRequest short1 = valid.toBuilder().setNumProbes(3).build();
        assertRefused(short1, "2 probe texts for num_probes=3");
        CreateProbeSetRequest warm = valid.toBuilder().setTexts(valid.getTexts().toBuilder().setTemperature(0.7)).build();
        assertRefused(warm, "capture temperature=0.7; expected 0 or 1");
        assertEquals(before, h.snapshot());
    }

    private void assertRefused(CreateProbeSetRequest request, String message) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> h.stub().createProbeSet(request));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains(message), e.getStatus().getDescription());
    }
}
