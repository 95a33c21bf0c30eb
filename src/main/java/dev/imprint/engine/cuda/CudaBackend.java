package dev.imprint.engine.cuda;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.engine.DeviceInfo;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.ScoringBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * The CUDA backend: references resident in one device's memory, scored by the kernels of
 * {@code kernels/} through JCuda's driver API; only the scores come back to the host.
 *
 * <p>One {@link CudaDevice} worker thread owns the context and all device memory. Scoring calls
 * run in {@link CudaLane lanes}, as many as {@link #batchesInFlight()}, each with its own stream
 * and scratch, so one call's upload and kernels overlap another's. References of all probe sets
 * together may hold at most the reference budget; a put past it fails with RESOURCE_EXHAUSTED
 * and the numbers.
 */
public final class CudaBackend implements ScoringBackend {
    private static final long MIN_FREE = 64L << 20;
    /** See {@link #batchesInFlight()}. */
    private static final int BATCHES_IN_FLIGHT = 2;

    private final CudaDevice device;
    private final long budget;
    private final long scratchBytes;
    /** Device memory for the references being put, on the legacy stream. */
    private final CudaScratch scratch;
    private final CudaStages stages = new CudaStages();
    private final List<CudaLane> lanes;
    private final ArrayBlockingQueue<CudaLane> idleLanes = new ArrayBlockingQueue<>(BATCHES_IN_FLIGHT);
    /** cuBLAS when it loaded and was allowed, else null and {@link #blasStatus} says why. */
    private final CudaBlas blas;
    private final String blasStatus;
    /** Whether EMBEDDING sets hold their unit rows as bf16 ({@link CudaOptions#bf16Cosine}). */
    private final boolean bf16Cosine;
    /** Bytes reserved by every resident set; touched only on the worker thread. */
    private long reserved;

    private CudaBackend(CudaDevice device, long budget, long scratchBytes, CudaOptions options) {
        this.device = device;
        this.bf16Cosine = options.bf16Cosine();
        this.budget = budget;
        this.scratchBytes = scratchBytes;
        this.scratch = new CudaScratch(device);
        this.lanes = device.call(() -> {
            List<CudaLane> opened = new ArrayList<>();
            for (int i = 0; i < BATCHES_IN_FLIGHT; i++) {
                opened.add(new CudaLane(device, stages, options.laneBuffer()));
            }
            return List.copyOf(opened);
        });
        idleLanes.addAll(lanes);
        CudaBlas opened = null;
        String status;
        if (!options.cublas()) {
            status = "cuBLAS off";
        } else {
            try {
                opened = device.call(CudaBlas::open);
                status = opened.version();
            } catch (CudaUnavailableException e) {
                status = "no cuBLAS: " + e.getMessage() + "; own SGEMM kernel";
            }
        }
        this.blas = opened;
        this.blasStatus = status;
    }

    /**
     * Opens the device {@code options} name and loads the kernels.
     *
     * @throws CudaUnavailableException with the reason when no usable device is found
     */
    public static CudaBackend open(CudaOptions options) {
        CudaDevice device = CudaDevice.open(options.deviceOrdinal());
        try {
            long free = device.call(device::freeBytes);
            long scratch = options.scratchFor(device.totalBytes());
            long lanesScratch = BATCHES_IN_FLIGHT * scratch;
            long needed = lanesScratch + MIN_FREE;
            if (free < needed) {
                throw new CudaUnavailableException(String.format(Locale.ROOT,
                        "not enough device memory on %s: %d bytes free, the backend needs at least %d",
                        device.name(), free, needed));
            }
            long budget = options.referenceBudget() > 0 ? options.referenceBudget()
                    : (long) ((free - lanesScratch) * 0.9);
            return new CudaBackend(device, budget, scratch, options);
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return "cuda";
    }

    /**
     * One line of device facts for logs and GetServerInfo: name, compute capability, driver,
     * memory total and free, the reference budget, where the kernels came from, cuBLAS, and the
     * precision of EMBEDDING sets' rows.
     */
    public String describe() {
        long free = device.call(device::freeBytes);
        return String.format(Locale.ROOT,
                "%s (%s, %d SMs), driver %s, %.1f GiB total, %.1f GiB free, reference budget %.1f GiB, kernels from %s, %s, %s",
                device.name(), device.computeCapability(), device.multiprocessors(), device.driverVersion(),
                gib(device.totalBytes()), gib(free), gib(budget), device.kernels().origin, blasStatus,
                bf16Cosine ? "EMBEDDING rows bf16 (COSINE by own kernels, never cuBLAS)" : "EMBEDDING rows fp32");
    }

    private static double gib(long bytes) {
        return bytes / (double) (1L << 30);
    }

    /** Bytes of device memory references may hold, all probe sets together. */
    public long referenceBudget() {
        return budget;
    }

    @Override
    public ResidentReferences createResidentSet(ProbeSet set) {
        return new CudaResidentSet(set, this);
    }

    /**
     * Two, one per lane: while one batch runs its kernels, the next one's suspects go up, and
     * while one batch's results are ranked on its caller's thread, the next one runs.
     */
    @Override
    public int batchesInFlight() {
        return BATCHES_IN_FLIGHT;
    }

    @Override
    public DeviceInfo deviceInfo() {
        return new DeviceInfo(device.name(), device.computeCapability(), device.driverVersion(), device.totalBytes(),
                device.call(device::freeBytes));
    }

    CudaDevice device() {
        return device;
    }

    /** "cuBLAS 12.6", or why cuBLAS is not used. */
    String blasStatus() {
        return blasStatus;
    }

    /** Whether EMBEDDING sets hold their unit rows as bf16. */
    boolean bf16Cosine() {
        return bf16Cosine;
    }

    /** cuBLAS, or null when it is unavailable or off. */
    CudaBlas blas() {
        return blas;
    }

    /** The scratch of the references' puts, on the legacy stream; worker thread. */
    CudaScratch scratch() {
        return scratch;
    }

    /** Waits for an idle lane and takes it; any thread but the worker. Give it back with {@link #releaseLane}. */
    CudaLane acquireLane() {
        try {
            return idleLanes.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImprintException(ImprintException.Code.INTERNAL, "interrupted while waiting for a GPU lane", e);
        }
    }

    /** Returns a lane from {@link #acquireLane}, idle: nothing of its last call still running. */
    void releaseLane(CudaLane lane) {
        idleLanes.add(lane);
    }

    /** Per-stage timings of scoring calls, off until {@link CudaStages#enable} turns them on. */
    public CudaStages stages() {
        return stages;
    }

    /** Bytes of device memory each lane's scoring pass may use. */
    long scratchBytes() {
        return scratchBytes;
    }

    /**
     * Reserves {@code bytes} more for probe set {@code setId}'s references; worker thread only.
     *
     * @throws ImprintException RESOURCE_EXHAUSTED when the budget would be exceeded
     */
    void reserve(String setId, long bytes, int capacity) {
        if (reserved + bytes > budget) {
            throw ImprintException.resourceExhausted("the CUDA device memory budget is exhausted: probe set %s needs "
                    + "%d more bytes to hold %d references, but references already hold %d of the %d-byte budget",
                    setId, bytes, capacity, reserved, budget);
        }
        reserved += bytes;
    }

    /** Returns {@code bytes} to the budget; worker thread only. */
    void release(long bytes) {
        reserved -= bytes;
    }

    @Override
    public void close() {
        try {
            device.run(() -> {
                scratch.close();
                lanes.forEach(CudaLane::close);
                if (blas != null) {
                    blas.close();
                }
            });
        } catch (RuntimeException e) {
            // Already closed: its memory went with the context.
        }
        device.close();
    }
}
