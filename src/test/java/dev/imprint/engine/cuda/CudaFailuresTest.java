package dev.imprint.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.ImprintException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import jcuda.driver.CUresult;
import org.junit.jupiter.api.Test;

class CudaFailuresTest {

    @Test
    void aMissingDriverLibraryIsNamedAsSuch() {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\"");
        e.initCause(new UnsatisfiedLinkError("/tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file"));
        String reason = CudaFailures.describeLinkage(e);
        assertEquals("no libcuda.so.1: the NVIDIA driver is not installed or not on the library path "
                + "(libcuda.so.1: cannot open shared object file)", reason);
    }

    @Test
    void missingJCudaNativesAreNamedWithThePlatform() {
        String reason = CudaFailures.describeLinkage(
                new UnsatisfiedLinkError("no JCudaDriver-12.6.0-linux-aarch64 in java.library.path"));
        assertTrue(reason.startsWith("no JCuda natives for "), reason);
        assertTrue(reason.endsWith("(no JCudaDriver-12.6.0-linux-aarch64 in java.library.path)"), reason);
    }

    @Test
    void anUnknownLinkageFailureKeepsItsMessage() {
        String reason = CudaFailures.describeLinkage(new NoClassDefFoundError("jcuda/driver/JCudaDriver"));
        assertTrue(reason.contains("jcuda/driver/JCudaDriver"), reason);
    }

    @Test
    void noDeviceAndAnOldDriverAreExplained() {
        String none = CudaFailures.describeResult("cuInit", CUresult.CUDA_ERROR_NO_DEVICE);
        assertTrue(none.startsWith("CUDA_ERROR_NO_DEVICE from cuInit"), none);
        assertTrue(none.contains("nvidia-smi"), none);
        String old = CudaFailures.describeResult("cuInit", CudaFailures.INSUFFICIENT_DRIVER);
        assertTrue(old.startsWith("CUDA_ERROR_INSUFFICIENT_DRIVER from cuInit"), old);
    }

    @Test
    void onlyRejectedBinariesAreWorthCompilingWithNvrtc() {
        assertTrue(CudaFailures.kernelsRejected(CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION));
        assertTrue(CudaFailures.kernelsRejected(CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU));
        assertFalse(CudaFailures.kernelsRejected(CUresult.CUDA_ERROR_OUT_OF_MEMORY));
        assertFalse(CudaFailures.kernelsRejected(CUresult.CUDA_ERROR_NO_DEVICE));
    }

    @Test
    void deviceOutOfMemoryIsResourceExhaustedAndOtherFailuresInternal() {
        ImprintException oom = assertThrows(ImprintException.class,
                () -> CudaFailures.check(CUresult.CUDA_ERROR_OUT_OF_MEMORY, "cuMemAlloc(64)"));
        assertEquals(ImprintException.Code.RESOURCE_EXHAUSTED, oom.code());
        assertTrue(oom.getMessage().contains("cuMemAlloc(64)"), oom.getMessage());
        ImprintException other = assertThrows(ImprintException.class,
                () -> CudaFailures.check(CUresult.CUDA_ERROR_LAUNCH_FAILED, "cuCtxSynchronize"));
        assertEquals(ImprintException.Code.INTERNAL, other.code());
        CudaFailures.check(CUresult.CUDA_SUCCESS, "cuInit");
    }

    @Test
    void theShippedFatbinWasBuiltFromTheSourcesNvrtcWouldCompile() throws Exception {
        byte[] fatbin = CudaKernels.resource(CudaKernels.FATBIN);
        String unity = CudaKernels.unitySource();
        String recorded = new String(CudaKernels.resource("imprint_kernels.sha256"), StandardCharsets.UTF_8);
        assertTrue(recorded.contains(sha256(unity.getBytes(StandardCharsets.UTF_8)) + "  " + CudaKernels.SOURCE),
                "the unity source's checksum is recorded: " + recorded);
        assertTrue(recorded.contains(sha256(fatbin) + "  " + CudaKernels.FATBIN), "the fatbin's too: " + recorded);
        for (String entry : new String[] {"void imprint_prepare_rows(", "IMPRINT_FUSED_ENTRY(1,", "IMPRINT_FUSED_ENTRY(8,",
            "void __launch_bounds__(256) imprint_sgemm_tn(", "void imprint_js(", "void __launch_bounds__(256) imprint_combine(",
            "void imprint_pointer_table("}) {
            assertTrue(unity.contains(entry), entry);
        }
        assertFalse(unity.lines().anyMatch(l -> l.startsWith("#include")), "NVRTC gets no include path");
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
