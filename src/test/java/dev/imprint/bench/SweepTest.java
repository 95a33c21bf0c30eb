package dev.imprint.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SweepTest {
    @Test
    void aCurveAlongMTimesEveryPointWithAndWithoutAVerdictAndFitsBoth() {
        List<String> lines = new ArrayList<>();
        Sweep.Curve curve = Sweep.run(Sweep.Family.EMBEDDING, Sweep.Axis.M, 300, 1, 5, SweepTest::cpu, lines::add);
        assertEquals(List.of(10, 30, 100, 300), curve.points().stream().map(p -> p.shape().m()).toList());
        assertEquals(4, lines.size(), String.join("\n", lines));
        for (Sweep.Point p : curve.points()) {
            assertEquals(32, p.shape().p());
            assertEquals(256, p.shape().d());
            // The unit rows at least, in float32.
            assertTrue(p.bytesPerReference() >= 32 * 256 * Float.BYTES, p.line());
            assertTrue(p.batchSeconds() > 0 && p.attributionBatchSeconds() > 0, p.line());
            assertEquals(2.0 * p.shape().m() * 32 * 256, p.flops());
        }
        assertNotNull(curve.time());
        assertNotNull(curve.withVerdict());
        assertTrue(curve.fitLines().stream().anyMatch(l -> l.startsWith("fit family=EMBEDDING axis=M "
                + "measure=with_verdict_s_per_suspect points=4 ")), String.join("\n", curve.fitLines()));
    }

    @Test
    void aCurveAlongSScoresThatManySuspectsAtOnceWithoutAVerdict() {
        List<String> lines = new ArrayList<>();
        Sweep.Curve curve = Sweep.run(Sweep.Family.TOPK, Sweep.Axis.S, 10, 1, 5, SweepTest::cpu, lines::add);
        assertEquals(List.of(1, 2, 4, 8, 16, 32, 64, 128, 256),
                curve.points().stream().map(p -> p.shape().s()).toList());
        curve.points().forEach(p -> assertEquals(200, p.shape().m()));
        assertNull(curve.withVerdict());
        assertTrue(lines.get(0).startsWith("sweep family=TOPK axis=S M=200 P=256 D=64 S=1 "), lines.get(0));
        // Three products per suspect for a distribution: cosine and each KL's cross term.
        assertEquals(2.0 * 200 * 256 * 64 * 256 * 3, curve.points().get(8).flops());
    }

    private static SelectedBackend cpu() {
        return new SelectedBackend(new CpuBackend(2), "cpu: the test's");
    }
}
