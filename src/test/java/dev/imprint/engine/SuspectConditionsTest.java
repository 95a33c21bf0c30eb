package dev.imprint.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.Tempering;
import dev.imprint.core.Truncation;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.testing.LogLinearModels;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SuspectConditionsTest {
    private static final int P = 48;
    private static final int D = 64;
    private static final ProbeSet SET = new ProbeSet("conditions", P, D, ProbeSetKind.DISTRIBUTION, 1e-6, "");
    private final LogLinearModels gen = new LogLinearModels(P, D, 9);
    private final int[] all = java.util.stream.IntStream.range(0, P).toArray();
    private final CpuBackend cpu = new CpuBackend(1);

    @AfterEach
    void closeBackend() {
        cpu.close();
    }

    private AttributionView emptyView() {
        return new AttributionView(SET, FormKind.LOG_RATIO,
                cpu.createResidentSet(AttributionView.residentSet(SET, FormKind.LOG_RATIO)));
    }

    private AttributionView references() {
        AttributionView view = emptyView();
        for (int r = 0; r < 12; r++) {
            view.install("m" + r, gen.softmax(gen.model(gen.gaussian(1.0))));
        }
        view.finishLoad();
        return view;
    }

    private static float[] tempered(float[] rows, double t) {
        float[] out = rows.clone();
        for (int base = 0; base < out.length; base += D) {
            Tempering.apply(out, base, D, t);
        }
        return out;
    }

    @Test
    void aModelSampledAtATemperatureIsMeasuredAtItRelativeToTheReferences() {
        AttributionView forms = references();
        float[] model = gen.softmax(gen.model(gen.gaussian(1.0)));
        double own = SuspectConditions.measure(forms, model, all).temperature();
        assertEquals(1, own, 0.25, "a model like the references is near 1");
        for (double t : new double[] {0.5, 0.7, 1.3, 2.0}) {
            SuspectConditions c = SuspectConditions.measure(forms, tempered(model, t), all);
            assertEquals(t * own, c.temperature(), 3e-3 * t, "t=" + t);
            assertNull(c.kept());
            // The references' own spread: only what lies beyond it is undone.
            assertTrue(c.coolest() <= 1 && c.hottest() >= 1 && c.hottest() < 1.5, c.toString());
            double edge = Math.max(c.coolest(), Math.min(c.hottest(), c.temperature()));
            assertEquals(c.temperature() / edge, c.excess(), 1e-12);
            assertTrue(t < 1 ? c.excess() < 1 : c.excess() > 1, "t=" + t + " is beyond every reference: " + c);
        }
        SuspectConditions typical = SuspectConditions.measure(forms, model, all);
        assertEquals(typical.temperature() >= typical.coolest() && typical.temperature() <= typical.hottest() ? 1
                : typical.excess(), typical.excess());
    }

    @Test
    void truncationIsReadPerProbeAndDoesNotBiasTheTemperature() {
        AttributionView forms = references();
        float[] model = gen.softmax(gen.model(gen.gaussian(1.0)));
        double own = SuspectConditions.measure(forms, model, all).temperature();
        float[] hot = tempered(model, 1.3);
        for (int p = 0; p < P; p++) {
            Truncation.apply(hot, p * D, D, p % 2 == 0 ? 20 : 5);
        }
        SuspectConditions c = SuspectConditions.measure(forms, hot, all);
        int[] expected = new int[P];
        Arrays.setAll(expected, p -> p % 2 == 0 ? 20 : 5);
        assertArrayEquals(expected, c.kept());
        // Fitted on the kept tokens against the references fitted on theirs: close to the full row's.
        assertEquals(1.3 * own, c.temperature(), 0.1 * 1.3 * own);
    }

    @Test
    void withoutReferencesOrForAnUnrelatedRowTheTemperatureIsOne() {
        float[] model = gen.softmax(gen.model(gen.gaussian(1.0)));
        assertEquals(1, SuspectConditions.measure(emptyView(), model, all).temperature());
        float[] uniform = new float[P * D];
        Arrays.fill(uniform, 1f / D);
        assertEquals(1, SuspectConditions.measure(references(), uniform, all).temperature(),
                "a row with nothing along the consensus has no temperature to undo");
    }
}
