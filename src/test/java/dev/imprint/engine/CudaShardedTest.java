package dev.imprint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.engine.cuda.CudaOptions;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * References sharded over two CUDA devices score as the CPU backend does, through the engine:
 * {@link ShardedBackendTest}'s comparison with the device tolerances. Needs two devices: the
 * emulator gives them with {@code IMPRINT_EMULATOR_DEVICES=2} (kernels/emulator/run-emulated-tests.sh);
 * with fewer the test is skipped, saying so.
 */
@Tag("gpu")
class CudaShardedTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(ProbeSetKind.class)
    void twoDevicesScoreAsTheCpuBackend(ProbeSetKind kind) {
        ShardedBackendTest.ShardedComparison.check(dir, kind, () -> new CpuBackend(1), CudaShardedTest::twoDevices,
                1e-4);
    }

    private static ScoringBackend twoDevices() {
        SelectedBackend selected;
        try {
            selected = BackendProvider.select(BackendProvider.Choice.CUDA, CudaOptions.defaults(), List.of(0, 1));
        } catch (ImprintException e) {
            System.out.println("GPU test skipped: two CUDA devices are needed: " + e.getMessage());
            assumeTrue(false, "two CUDA devices are needed: " + e.getMessage());
            throw new AssertionError("unreachable: the assumption aborts the test");
        }
        assertTrue(selected.backend() instanceof ShardedBackend, selected.reason());
        ShardedBackend sharded = (ShardedBackend) selected.backend();
        assertEquals(2, sharded.shards().size());
        assertTrue(selected.reason().startsWith("cuda: 2 devices"), selected.reason());
        return sharded;
    }
}
