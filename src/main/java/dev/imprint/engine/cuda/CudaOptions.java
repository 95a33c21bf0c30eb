package dev.imprint.engine.cuda;

/**
 * How the CUDA backend uses its device.
 *
 * @param deviceOrdinal   the CUDA device to use, 0 for the first
 * @param referenceBudget bytes of device memory references may hold, precomputed forms included;
 *                        0 means 90% of the memory free when the backend opens, less the scratch
 * @param scratchBytes    bytes of device memory a scoring pass may use for suspects and
 *                        intermediate products, larger batches being scored in several passes;
 *                        each of the backend's two lanes has this much; 0 means a sixteenth of the
 *                        device's memory, clamped to [256 MiB, 4 GiB]
 * @param cublas          use cuBLAS for the large products when libcublas.so.12 loads; our own
 *                        SGEMM kernel otherwise
 * @param bf16Cosine      hold the unit rows of EMBEDDING probe sets (scored by COSINE only) as
 *                        bf16, rounded to nearest even: about half the device memory and the bytes
 *                        read per query; products are still fp32 multiply and accumulate, always by
 *                        our own kernels (never cuBLAS). Each probe's COSINE may then move by up to
 *                        2^-8 beyond the fp32 tolerance (measured: median 4e-5, max 3e-4 at
 *                        D=768; kernels/PERF-NOTES.md, "bf16 COSINE"), so it no longer meets the
 *                        1e-5 contract. DISTRIBUTION sets stay fp32. Off by default
 * @param laneBufferBytes bytes of page-locked host memory per lane that a pass's suspects go up
 *                        and its scores come down through, asynchronously; a pass too large for it
 *                        copies synchronously instead. 0 means {@value CudaLane#BUFFER_BYTES}
 */
public record CudaOptions(int deviceOrdinal, long referenceBudget, long scratchBytes, boolean cublas,
                          boolean bf16Cosine, long laneBufferBytes) {

    public CudaOptions {
        if (deviceOrdinal < 0) {
            throw new IllegalArgumentException("deviceOrdinal=" + deviceOrdinal + "; expected at least 0");
        }
        if (referenceBudget < 0) {
            throw new IllegalArgumentException("referenceBudget=" + referenceBudget + "; expected 0 (automatic) or more");
        }
        if (scratchBytes != 0 && scratchBytes < (1 << 20)) {
            throw new IllegalArgumentException("scratchBytes=" + scratchBytes + "; expected 0 (automatic) or at least 1 MiB");
        }
        if (laneBufferBytes != 0 && (laneBufferBytes < 4096 || laneBufferBytes > Integer.MAX_VALUE)) {
            throw new IllegalArgumentException("laneBufferBytes=" + laneBufferBytes
                    + "; expected 0 (automatic) or 4096 to 2^31-1");
        }
    }

    /** Device 0 with an automatic reference budget and scratch, cuBLAS allowed, fp32 everywhere. */
    public static CudaOptions defaults() {
        return new CudaOptions(0, 0, 0, true, false, 0);
    }

    /** The scratch to use on a device of {@code totalBytes}. */
    long scratchFor(long totalBytes) {
        return scratchBytes > 0 ? scratchBytes : Math.max(256L << 20, Math.min(4L << 30, totalBytes / 16));
    }

    /** These options with an explicit reference budget in bytes. */
    public CudaOptions withReferenceBudget(long bytes) {
        return new CudaOptions(deviceOrdinal, bytes, scratchBytes, cublas, bf16Cosine, laneBufferBytes);
    }

    /** These options with {@code bytes} of scratch (0 for automatic). */
    public CudaOptions withScratch(long bytes) {
        return new CudaOptions(deviceOrdinal, referenceBudget, bytes, cublas, bf16Cosine, laneBufferBytes);
    }

    /** The page-locked bytes of each lane. */
    long laneBuffer() {
        return laneBufferBytes > 0 ? laneBufferBytes : CudaLane.BUFFER_BYTES;
    }

    /** These options with {@code bytes} of page-locked memory per lane (0 for automatic). */
    public CudaOptions withLaneBuffer(long bytes) {
        return new CudaOptions(deviceOrdinal, referenceBudget, scratchBytes, cublas, bf16Cosine, bytes);
    }

    /** These options with cuBLAS allowed or not. */
    public CudaOptions withCublas(boolean allowed) {
        return new CudaOptions(deviceOrdinal, referenceBudget, scratchBytes, allowed, bf16Cosine, laneBufferBytes);
    }

    /** These options with EMBEDDING sets' unit rows held as bf16 or as fp32. */
    public CudaOptions withBf16Cosine(boolean on) {
        return new CudaOptions(deviceOrdinal, referenceBudget, scratchBytes, cublas, on, laneBufferBytes);
    }

    /** These options on CUDA device {@code ordinal}. */
    public CudaOptions withDevice(int ordinal) {
        return new CudaOptions(ordinal, referenceBudget, scratchBytes, cublas, bf16Cosine, laneBufferBytes);
    }
}
