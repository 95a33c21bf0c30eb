package dev.imprint.engine.cuda;

import dev.imprint.core.ImprintException;
import jcuda.driver.CUresult;

/** Turns JCuda's failures into one-line reasons and domain errors. */
final class CudaFailures {
    /** CUDA_ERROR_INSUFFICIENT_DRIVER, which JCuda's CUresult does not name. */
    static final int INSUFFICIENT_DRIVER = 35;

    private CudaFailures() {}

    /**
     * Why JCuda's native libraries did not load, from the {@link LinkageError} the first JCuda call
     * threw (the JVM then answers every later call with NoClassDefFoundError, so callers catch it
     * once and keep this answer).
     */
    static String describeLinkage(Throwable error) {
        String cuda = lineMentioning(error, "libcuda.so");
        if (cuda != null) {
            return "no libcuda.so.1: the NVIDIA driver is not installed or not on the library path (" + cuda + ")";
        }
        String natives = lineMentioning(error, "JCudaDriver");
        if (natives != null) {
            return "no JCuda natives for " + System.getProperty("os.name") + "/" + System.getProperty("os.arch")
                    + ": JCuda ships linux-x86_64 natives only (" + natives + ")";
        }
        return "JCuda's native libraries did not load: " + lineMentioning(error, "");
    }

    /**
     * The first line mentioning {@code needle} in the messages of {@code error} and its causes
     * (JCuda packs nested stack traces into one message), trimmed to what follows the last colon
     * before the needle's file name; null if none mentions it.
     */
    static String lineMentioning(Throwable error, String needle) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            String message = t.getMessage() != null ? t.getMessage() : t.getClass().getName();
            for (String line : message.split("\\R")) {
                if (line.contains(needle) && !line.isBlank()) {
                    String trimmed = line.trim();
                    int at = trimmed.indexOf(needle);
                    int cut = needle.isEmpty() ? -1 : trimmed.lastIndexOf(": ", at);
                    return cut >= 0 ? trimmed.substring(cut + 2) : trimmed;
                }
            }
        }
        return null;
    }

    /** A one-line reason for a failed driver call made while looking for a usable device. */
    static String describeResult(String call, int result) {
        String name = CUresult.stringFor(result);
        if (result == CUresult.CUDA_ERROR_NO_DEVICE) {
            return name + " from " + call + ": no CUDA device is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)";
        }
        if (result == INSUFFICIENT_DRIVER) {
            return "CUDA_ERROR_INSUFFICIENT_DRIVER from " + call
                    + ": the NVIDIA driver is older than the CUDA 12 driver API JCuda needs";
        }
        if (result == CUresult.CUDA_ERROR_STUB_LIBRARY) {
            return name + " from " + call + ": libcuda.so.1 is the toolkit's stub, not a real NVIDIA driver";
        }
        return name + " from " + call;
    }

    /** True for the module-load failures that compiling the kernels with NVRTC may cure. */
    static boolean kernelsRejected(int result) {
        return result == CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION || result == CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU
                || result == CUresult.CUDA_ERROR_INVALID_PTX || result == CUresult.CUDA_ERROR_INVALID_IMAGE
                || result == CUresult.CUDA_ERROR_JIT_COMPILER_NOT_FOUND;
    }

    /** Throws a domain error unless {@code result} is CUDA_SUCCESS; out of memory is RESOURCE_EXHAUSTED. */
    static void check(int result, String call) {
        if (result == CUresult.CUDA_SUCCESS) {
            return;
        }
        ImprintException.Code code = result == CUresult.CUDA_ERROR_OUT_OF_MEMORY
                ? ImprintException.Code.RESOURCE_EXHAUSTED : ImprintException.Code.INTERNAL;
        throw new ImprintException(code, "CUDA " + call + " failed: " + CUresult.stringFor(result));
    }
}
