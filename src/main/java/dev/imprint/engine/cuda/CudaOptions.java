package dev.imprint.engine.cuda;

/**
 * How the CUDA backend uses its device.
 *
 * @param deviceOrdinal   the CUDA device to use, 0 for the first
 * @param referenceBudget bytes of device memory references may hold, precomputed forms included;
 *                        0 means 90% of the memory free when the backend opens, less the scratch
 * @param scratchBytes    bytes of device memory one scoring pass may use for suspects and
 *                        intermediate products; larger batches are scored in several passes
 */
public record CudaOptions(int deviceOrdinal, long referenceBudget, long scratchBytes) {
    /** Default scratch: enough for 64 suspects of 256×1024 against a thousand references. */
    public static final long DEFAULT_SCRATCH_BYTES = 512L << 20;

    public CudaOptions {
        if (deviceOrdinal < 0) {
            throw new IllegalArgumentException("deviceOrdinal=" + deviceOrdinal + "; expected at least 0");
        }
        if (referenceBudget < 0) {
            throw new IllegalArgumentException("referenceBudget=" + referenceBudget + "; expected 0 (automatic) or more");
        }
        if (scratchBytes < (1 << 20)) {
            throw new IllegalArgumentException("scratchBytes=" + scratchBytes + "; expected at least 1 MiB");
        }
    }

    /** Device 0, an automatic reference budget and the default scratch. */
    public static CudaOptions defaults() {
        return new CudaOptions(0, 0, DEFAULT_SCRATCH_BYTES);
    }

    /** These options with an explicit reference budget in bytes. */
    public CudaOptions withReferenceBudget(long bytes) {
        return new CudaOptions(deviceOrdinal, bytes, scratchBytes);
    }
}
