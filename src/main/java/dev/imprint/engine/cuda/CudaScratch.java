package dev.imprint.engine.cuda;

import java.util.EnumMap;
import java.util.Map;
import jcuda.driver.CUdeviceptr;

/**
 * Device buffers that scoring passes and uploads reuse, grown on demand and never shrunk below
 * what the last pass needed; worker thread only.
 */
final class CudaScratch implements AutoCloseable {
    /** The scratch buffers, one allocation each. */
    enum Use {
        /** The suspects of a pass in three planes: raw rows, ln s~, s~. */
        SUSPECTS,
        /** The raw rows of a reference being put. */
        STAGING,
        SLOTS,
        PROBES,
        SUSPECT_TERMS,
        SUSPECT_ARGMAX,
        DOT_UNIT,
        DOT_LOG,
        JS,
        MEANS,
        /** Per-probe operand addresses for cuBLAS's batched SGEMM. */
        POINTERS,
        PER_PROBE,
        /** Per suspect, the indices of the references a top_k query keeps. */
        KEPT,
        /** The means and per-probe values of only the kept references. */
        KEPT_VALUES
    }

    private final CudaDevice device;
    private final Map<Use, CUdeviceptr> buffers = new EnumMap<>(Use.class);
    private final Map<Use, Long> sizes = new EnumMap<>(Use.class);

    CudaScratch(CudaDevice device) {
        this.device = device;
    }

    /** A buffer of at least {@code bytes} for {@code use}; its contents are undefined. */
    CUdeviceptr get(Use use, long bytes) {
        long have = sizes.getOrDefault(use, 0L);
        if (have < bytes || buffers.get(use) == null) {
            device.free(buffers.remove(use));
            sizes.remove(use);
            buffers.put(use, device.alloc(bytes));
            sizes.put(use, bytes);
        }
        return buffers.get(use);
    }

    /** Bytes currently allocated. */
    long bytes() {
        return sizes.values().stream().mapToLong(Long::longValue).sum();
    }

    @Override
    public void close() {
        for (CUdeviceptr p : buffers.values()) {
            device.free(p);
        }
        buffers.clear();
        sizes.clear();
    }
}
