package dev.imprint.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SweepTest {
    @Test
    void aCurveAlongMTimesEveryPointWithAndWithoutAVerdictAndFitsBoth() {
        List<String> lines = new ArrayList<>();
        Sweep.Curve curve = Sweep.run(Sweep.Family.EMBEDDING, Sweep.Axis.M, 300, 1, 5, 1, SweepTest::cpu, lines::add);
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
        Sweep.Curve curve = Sweep.run(Sweep.Family.TOPK, Sweep.Axis.S, 10, 1, 5, 1, SweepTest::cpu, lines::add);
        assertEquals(List.of(1, 2, 4, 8, 16, 32, 64, 128, 256),
                curve.points().stream().map(p -> p.shape().s()).toList());
        curve.points().forEach(p -> assertEquals(200, p.shape().m()));
        assertNull(curve.withVerdict());
        assertTrue(lines.get(0).startsWith("sweep family=TOPK axis=S M=200 P=256 D=64 S=1 "), lines.get(0));
        // Three products per suspect for a distribution: cosine and each KL's cross term.
        assertEquals(2.0 * 200 * 256 * 64 * 256 * 3, curve.points().get(8).flops());
    }

    @Test
    void overSeveralRoundsEachPointIsTheMedianOfItsRoundsAndEveryRoundIsReportedAsItEnds() {
        List<String> lines = new ArrayList<>();
        Sweep.Curve curve = Sweep.run(Sweep.Family.EMBEDDING, Sweep.Axis.M, 30, 1, 5, 3, SweepTest::cpu, lines::add);
        assertEquals(List.of(10, 30), curve.points().stream().map(p -> p.shape().m()).toList());
        // Round 1's two points, then round 2's and round 3's, then the two points themselves.
        assertEquals(8, lines.size(), String.join("\n", lines));
        for (int round = 1; round <= 3; round++) {
            assertTrue(lines.get(2 * round - 2).startsWith("round " + round + "/3 sweep family=EMBEDDING axis=M M=10 "),
                    lines.get(2 * round - 2));
            assertTrue(lines.get(2 * round - 1).startsWith("round " + round + "/3 sweep family=EMBEDDING axis=M M=30 "),
                    lines.get(2 * round - 1));
        }
        for (Sweep.Point p : curve.points()) {
            double[] rounds = p.roundSeconds().clone();
            assertEquals(3, rounds.length);
            Arrays.sort(rounds);
            assertEquals(rounds[1], p.batchSeconds(), 0.0);
            assertTrue(p.attributionBatchSeconds() > 0, p.line());
        }
        assertTrue(lines.get(6).startsWith("sweep family=EMBEDDING axis=M M=10 "), lines.get(6));
        assertTrue(lines.get(6).matches(".* rounds=3 spread=\\d\\.\\d\\d-\\d+\\.\\d\\d"), lines.get(6));
        assertEquals(curve.points().get(1).line(), lines.get(7));
    }

    @Test
    void aPointOfRoundsTakesTheMedianRoundAndShowsHowFarTheOthersLay() {
        Sweep.Shape shape = new Sweep.Shape(100, 32, 256, 2);
        // Four rounds: the median (10 ms, the mean of the middle two) is none of them, wherever it sat.
        List<Sweep.Point> rounds = List.of(round(shape, 0.004, 0.010), round(shape, 0.020, 0.030),
                round(shape, 0.008, 0.012), round(shape, 0.012, 0.016));
        Sweep.Point p = Sweep.Point.ofRounds(rounds);
        assertEquals(0.010, p.batchSeconds(), 1e-15);
        assertEquals(0.005, p.secondsPerSuspect(), 1e-15);
        assertEquals(0.014, p.attributionBatchSeconds(), 1e-15);
        assertArrayEquals(new double[] {0.004, 0.020, 0.008, 0.012}, p.roundSeconds());
        // 100*32*256 floats (3.28 MB) read in 10 ms: 0.33 GB/s; the rounds at 0.4 to 2.0 times the median.
        assertTrue(p.line().contains(" read_gbps=0.33 "), p.line());
        assertTrue(p.line().endsWith(" with_verdict_s_per_suspect=7.000e-03 verdict=regressed rounds=4 spread=0.40-2.00"),
                p.line());
        assertFalse(round(shape, 0.004, 0.010).line().contains("rounds="), "one round has no spread");
    }

    private static Sweep.Point round(Sweep.Shape shape, double seconds, double withVerdict) {
        return new Sweep.Point(Sweep.Family.EMBEDDING, Sweep.Axis.M, shape, seconds, 40_000, withVerdict, false,
                new double[] {seconds});
    }

    private static SelectedBackend cpu() {
        return new SelectedBackend(new CpuBackend(2), "cpu: the test's");
    }
}
