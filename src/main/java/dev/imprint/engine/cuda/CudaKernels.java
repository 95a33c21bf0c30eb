package dev.imprint.engine.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.nvrtc.JNvrtc;
import jcuda.nvrtc.nvrtcProgram;
import jcuda.nvrtc.nvrtcResult;

/**
 * The kernels of {@code kernels/}, loaded into the current context: from the shipped fatbin
 * (SASS for sm_75..sm_120 plus PTX), or, when the driver rejects it (too old for its PTX, no
 * binary for this GPU), compiled at run time with NVRTC from the kernel sources Maven packs
 * beside this class, joined into one translation unit exactly as scripts/build-kernels.sh joins
 * them for nvcc.
 */
final class CudaKernels {
    static final String FATBIN = "imprint_kernels.fatbin";
    /** The name NVRTC gives the unity source in its messages. */
    static final String SOURCE = "imprint_kernels.cu";
    /** The kernel families in build-kernels.sh's order, after kernels/common.cuh. */
    static final List<String> FAMILIES = List.of("prepare.cu", "products.cu", "combine.cu", "select.cu");
    private static final String COMMON_INCLUDE = "#include \"common.cuh\"";
    /** The fused kernels' accumulator counts, ascending; more suspects than the last go to SGEMM. */
    static final int[] FUSED_WIDTHS = {1, 2, 4, 8};

    final CUfunction prepareRows;
    final CUfunction[] fusedDots = new CUfunction[FUSED_WIDTHS.length];
    /** The fused cosine product over bf16 unit rows, per width of {@link #FUSED_WIDTHS}. */
    final CUfunction[] fusedCosineBf16 = new CUfunction[FUSED_WIDTHS.length];
    final CUfunction sgemm;
    /** {@link #sgemm} with bf16 A (the unit rows). */
    final CUfunction sgemmBf16;
    final CUfunction js;
    final CUfunction pointerTable;
    final CUfunction combine;
    final CUfunction closest;
    final CUfunction gatherKept;
    /** Where the code came from, for logs: "fatbin" or "NVRTC (compute_XY) because ...". */
    final String origin;

    private CudaKernels(CUmodule module, String origin) {
        this.origin = origin;
        this.prepareRows = function(module, "imprint_prepare_rows");
        for (int i = 0; i < FUSED_WIDTHS.length; i++) {
            fusedDots[i] = function(module, "imprint_fused_dots_" + FUSED_WIDTHS[i]);
            fusedCosineBf16[i] = function(module, "imprint_fused_cosine_bf16_" + FUSED_WIDTHS[i]);
        }
        this.sgemm = function(module, "imprint_sgemm_tn");
        this.sgemmBf16 = function(module, "imprint_sgemm_tn_bf16");
        this.js = function(module, "imprint_js");
        this.pointerTable = function(module, "imprint_pointer_table");
        this.combine = function(module, "imprint_combine");
        this.closest = function(module, "imprint_closest");
        this.gatherKept = function(module, "imprint_gather_kept");
    }

    /**
     * The fused kernel for {@code suspects} (at most the widest) over fp32 rows, or over bf16 unit
     * rows when {@code bf16}; null when SGEMM must do.
     */
    CUfunction fusedFor(int suspects, boolean bf16) {
        for (int i = 0; i < FUSED_WIDTHS.length; i++) {
            if (suspects <= FUSED_WIDTHS[i]) {
                return bf16 ? fusedCosineBf16[i] : fusedDots[i];
            }
        }
        return null;
    }

    private static CUfunction function(CUmodule module, String name) {
        CUfunction f = new CUfunction();
        int result = JCudaDriver.cuModuleGetFunction(f, module, name);
        if (result != CUresult.CUDA_SUCCESS) {
            throw new CudaUnavailableException("the loaded kernels lack " + name + " ("
                    + CUresult.stringFor(result) + "); rebuild them with scripts/build-kernels.sh");
        }
        return f;
    }

    /**
     * Loads the kernels for a device of compute capability {@code major.minor} into the current
     * context.
     *
     * @throws CudaUnavailableException when neither the fatbin nor NVRTC gives loadable code
     */
    static CudaKernels load(int major, int minor) {
        CUmodule module = new CUmodule();
        int result = JCudaDriver.cuModuleLoadData(module, resource(FATBIN));
        if (result == CUresult.CUDA_SUCCESS) {
            return new CudaKernels(module, "fatbin");
        }
        String rejected = CudaFailures.describeResult("cuModuleLoadData(" + FATBIN + ")", result);
        if (!CudaFailures.kernelsRejected(result)) {
            throw new CudaUnavailableException("the kernels did not load: " + rejected);
        }
        String arch = "compute_" + major + minor;
        String ptx = compileWithNvrtc(arch, rejected);
        result = JCudaDriver.cuModuleLoadData(module, ptx);
        if (result != CUresult.CUDA_SUCCESS) {
            throw new CudaUnavailableException("the kernels did not load: " + rejected + ", and NVRTC's PTX for "
                    + arch + " neither: " + CUresult.stringFor(result));
        }
        return new CudaKernels(module, "NVRTC (" + arch + ") because " + rejected);
    }

    private static String compileWithNvrtc(String arch, String rejected) {
        try {
            JNvrtc.setExceptionsEnabled(false);
        } catch (LinkageError e) {
            throw new CudaUnavailableException("the kernels did not load (" + rejected
                    + ") and NVRTC is unavailable to compile them (needs libnvrtc.so.12: "
                    + java.util.Objects.requireNonNullElse(CudaFailures.lineMentioning(e, "libnvrtc"),
                            CudaFailures.lineMentioning(e, "")) + ")");
        }
        String source = unitySource();
        nvrtcProgram program = new nvrtcProgram();
        int result = JNvrtc.nvrtcCreateProgram(program, source, SOURCE, 0, null, null);
        if (result != nvrtcResult.NVRTC_SUCCESS) {
            throw new CudaUnavailableException("NVRTC could not create a program: " + nvrtcResult.stringFor(result));
        }
        try {
            result = JNvrtc.nvrtcCompileProgram(program, 3,
                    new String[] {"--gpu-architecture=" + arch, "--std=c++17", "-default-device"});
            if (result != nvrtcResult.NVRTC_SUCCESS) {
                String[] log = new String[1];
                JNvrtc.nvrtcGetProgramLog(program, log);
                throw new CudaUnavailableException("the kernels did not load (" + rejected + ") and NVRTC failed to compile "
                        + SOURCE + " for " + arch + ": " + nvrtcResult.stringFor(result) + "\n" + log[0]);
            }
            String[] ptx = new String[1];
            JNvrtc.nvrtcGetPTX(program, ptx);
            return ptx[0];
        } finally {
            JNvrtc.nvrtcDestroyProgram(program);
        }
    }

    /**
     * kernels/common.cuh followed by every family without its include line: the one translation
     * unit build-kernels.sh compiles (its SHA-256 is recorded beside the fatbin).
     */
    static String unitySource() {
        StringBuilder unity = new StringBuilder(new String(resource("kernels/common.cuh"), StandardCharsets.UTF_8));
        for (String family : FAMILIES) {
            String text = new String(resource("kernels/" + family), StandardCharsets.UTF_8);
            text.lines().filter(line -> !line.equals(COMMON_INCLUDE)).forEach(line -> unity.append(line).append('\n'));
        }
        return unity.toString();
    }

    /** The bytes of a resource beside this class; missing is an error in the build. */
    static byte[] resource(String name) {
        try (InputStream in = CudaKernels.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " is missing beside " + CudaKernels.class.getName()
                        + "; run scripts/build-kernels.sh");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading resource " + name, e);
        }
    }
}
