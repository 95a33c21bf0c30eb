package dev.imprint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.engine.cuda.CudaOptions;
import dev.imprint.engine.cuda.CudaProbe;
import dev.imprint.engine.cuda.CudaUnavailableException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class BackendProviderTest {
    private final Logger logger = Logger.getLogger(BackendProvider.class.getName());
    private final List<String> lines = new ArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            lines.add(record.getMessage());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void captureLog() {
        logger.addHandler(capture);
    }

    @AfterEach
    void releaseLog() {
        logger.removeHandler(capture);
    }

    /** The reasons a real probe gives for each way a host can lack a usable GPU. */
    static Stream<String> failures() {
        return Stream.of(
                "no JCuda natives for Mac OS X/aarch64: JCuda ships linux-x86_64 natives only",
                "no libcuda.so.1: the NVIDIA driver is not installed or not on the library path",
                "CUDA_ERROR_NO_DEVICE from cuInit: no CUDA device is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)",
                "the kernels did not load (CUDA_ERROR_UNSUPPORTED_PTX_VERSION from cuModuleLoadData) and NVRTC is "
                        + "unavailable to compile them (needs libnvrtc.so.12)",
                "not enough device memory on Tesla T4: 1048576 bytes free, the backend needs at least 603979776");
    }

    @ParameterizedTest
    @MethodSource("failures")
    void autoFallsBackToTheCpuWithOneLogLineGivingTheReason(String reason) {
        SelectedBackend selected = BackendProvider.select(BackendProvider.Choice.AUTO, failing(reason));
        try {
            assertEquals("cpu", selected.backend().name());
            assertTrue(selected.reason().contains(reason), selected.reason());
            assertEquals(1, lines.size(), lines.toString());
            assertTrue(lines.get(0).contains(reason), lines.get(0));
        } finally {
            selected.backend().close();
        }
    }

    @ParameterizedTest
    @MethodSource("failures")
    void cudaFailsFastWithTheReason(String reason) {
        ImprintException e = assertThrows(ImprintException.class,
                () -> BackendProvider.select(BackendProvider.Choice.CUDA, failing(reason)));
        assertEquals(ImprintException.Code.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    @Test
    void cpuNeverLooksForAGpu() {
        AtomicInteger probes = new AtomicInteger();
        SelectedBackend selected = BackendProvider.select(BackendProvider.Choice.CPU, () -> {
            probes.incrementAndGet();
            throw new CudaUnavailableException("unreachable");
        });
        try {
            assertEquals(0, probes.get());
            assertEquals("cpu", selected.backend().name());
            assertTrue(selected.reason().contains("--backend cpu"), selected.reason());
            assertEquals(1, lines.size(), lines.toString());
        } finally {
            selected.backend().close();
        }
    }

    @Test
    void autoAndCudaTakeTheDeviceTheProbeOpens() {
        SelectedBackend gpu = new SelectedBackend(new FakeBackend(), "cuda: Fake GPU (sm_90)");
        for (BackendProvider.Choice choice : List.of(BackendProvider.Choice.AUTO, BackendProvider.Choice.CUDA)) {
            lines.clear();
            SelectedBackend selected = BackendProvider.select(choice, () -> gpu);
            assertSame(gpu, selected, choice.name());
            assertEquals(List.of("scoring backend cuda: Fake GPU (sm_90)"), lines);
        }
    }

    @Test
    void theRealProbeEitherOpensADeviceOrSaysWhyNot() {
        try {
            SelectedBackend selected = CudaProbe.of(CudaOptions.defaults()).open();
            try {
                assertEquals("cuda", selected.backend().name());
                assertTrue(selected.reason().startsWith("cuda: "), selected.reason());
            } finally {
                selected.backend().close();
            }
        } catch (CudaUnavailableException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "a reason");
            assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
            CudaUnavailableException again = assertThrows(CudaUnavailableException.class,
                    () -> CudaProbe.of(CudaOptions.defaults()).open());
            assertEquals(e.getMessage(), again.getMessage(), "the second probe repeats the first answer");
        }
    }

    @Test
    void parsesTheChoiceInAnyCaseAndRejectsOthersNamingTheValue() {
        assertEquals(BackendProvider.Choice.AUTO, BackendProvider.Choice.parse("auto"));
        assertEquals(BackendProvider.Choice.CUDA, BackendProvider.Choice.parse("CUDA"));
        assertEquals(BackendProvider.Choice.CPU, BackendProvider.Choice.parse(" Cpu "));
        ImprintException e = assertThrows(ImprintException.class, () -> BackendProvider.Choice.parse("tpu"));
        assertEquals(ImprintException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("tpu"), e.getMessage());
    }

    private static CudaProbe failing(String reason) {
        return () -> {
            throw new CudaUnavailableException(reason);
        };
    }

    /** Stands in for an opened GPU backend. */
    private static final class FakeBackend implements ScoringBackend {
        @Override
        public String name() {
            return "cuda";
        }

        @Override
        public ResidentReferences createResidentSet(ProbeSet set) {
            return fail("not used");
        }

        @Override
        public void close() {
        }
    }
}
