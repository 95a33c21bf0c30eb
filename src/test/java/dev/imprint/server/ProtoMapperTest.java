package dev.imprint.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.imprint.api.v1.Matrix;
import dev.imprint.api.v1.ScoreResponse;
import dev.imprint.core.ImprintException;
import dev.imprint.core.Match;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.core.ScoreResult;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ProtoMapperTest {

    @Test
    void encodesMatricesAsLittleEndianFloat32RowMajor() {
        Random rng = new Random(1);
        float[] values = new float[3 * 5];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rng.nextGaussian();
        }
        values[7] = Float.MIN_VALUE;
        values[8] = -0.0f;
        Matrix m = ProtoMapper.matrix(3, 5, values);
        byte[] expected = new byte[values.length * 4];
        for (int i = 0; i < values.length; i++) {
            int bits = Float.floatToRawIntBits(values[i]);
            for (int b = 0; b < 4; b++) {
                expected[4 * i + b] = (byte) (bits >>> (8 * b));
            }
        }
        assertEquals(3, m.getRows());
        assertEquals(5, m.getCols());
        assertArrayEquals(expected, m.getData().toByteArray());
        assertArrayEquals(values, ProtoMapper.matrixValues("suspect", m));
    }

    @Test
    void rejectsMatrixDataWhoseLengthIsNotRowsTimesColsTimesFour() {
        Matrix m = Matrix.newBuilder().setRows(2).setCols(3).setData(ByteString.copyFrom(new byte[25])).build();
        ImprintException e = assertThrows(ImprintException.class, () -> ProtoMapper.matrixValues("suspect", m));
        assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
        assertEquals("suspect.data has 25 bytes; expected rows*cols*4 = 2*3*4 = 24 (little-endian float32, row-major)",
                e.getMessage());
    }

    @Test
    void rejectsShapesWhoseProductOverflowsAnInt() {
        Matrix m = Matrix.newBuilder().setRows(-1).setCols(-1).setData(ByteString.EMPTY).build();
        ImprintException e = assertThrows(ImprintException.class, () -> ProtoMapper.matrixValues("suspect", m));
        assertTrue(e.getMessage().contains("4294967295*4294967295*4"), e.getMessage());
    }

    @Test
    void probeSetsRoundTripThroughTheirCreateRequest() {
        ProbeSet set = ProbeSet.fromRequest("p", 7, 9, ProbeSetKind.DISTRIBUTION, 0.002, "desc");
        assertEquals(set, ProtoMapper.probeSet(ProtoMapper.createRequest(set)));
        assertEquals(set, ProtoMapper.fromProto(ProtoMapper.toProto(set, 3)));
        assertEquals(3, ProtoMapper.toProto(set, 3).getReferenceCount());
    }

    @Test
    void scoreResultsRoundTripWithOnlyComputedMetricsPresent() {
        Map<Metric, Double> values = new EnumMap<>(Metric.class);
        values.put(Metric.COSINE, 0.75);
        values.put(Metric.JS, 0.125);
        Map<Metric, double[]> perProbe = new EnumMap<>(Metric.class);
        perProbe.put(Metric.COSINE, new double[] {0.5, 1.0});
        perProbe.put(Metric.JS, new double[] {0.25, 0.0});
        ScoreResult result = new ScoreResult("p", List.of(new Match("m", Map.of("k", "v"), 1, values, perProbe)),
                2, 4, "cpu", Metric.JS);

        ScoreResponse wire = ProtoMapper.toProto("req", result);
        assertEquals("req", wire.getRequestId());
        assertTrue(wire.getMatches(0).hasCosine());
        assertFalse(wire.getMatches(0).hasKlRefSuspect());
        assertFalse(wire.getMatches(0).hasTop1Agreement());
        assertEquals(List.of(0.25, 0.0), wire.getMatches(0).getPerProbe().getJsList());
        assertTrue(wire.getMatches(0).getPerProbe().getKlSuspectRefList().isEmpty());

        ScoreResult back = ProtoMapper.fromProto(wire);
        assertEquals(result.probeSetId(), back.probeSetId());
        assertEquals(result.probesUsed(), back.probesUsed());
        assertEquals(result.referencesScored(), back.referencesScored());
        assertEquals(result.backend(), back.backend());
        assertEquals(result.orderBy(), back.orderBy());
        Match m = back.matches().get(0);
        assertEquals(values, m.values());
        assertEquals(perProbe.keySet(), m.perProbe().keySet());
        assertArrayEquals(perProbe.get(Metric.COSINE), m.perProbe().get(Metric.COSINE));
        assertArrayEquals(perProbe.get(Metric.JS), m.perProbe().get(Metric.JS));
    }
}
