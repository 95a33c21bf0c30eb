package dev.imprint.engine.cuda;

import static dev.imprint.engine.cuda.CudaFailures.check;

import dev.imprint.core.ImprintException;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * One CUDA device and the single worker thread that owns its context: every JCuda call of the
 * backend runs on that thread through {@link #call}, so callers (gRPC threads among them) never
 * touch JCuda directly and device work is serialised without locks.
 *
 * <p>Methods other than {@link #open}, {@link #call} and {@link #close} may be called only from
 * inside {@link #call}.
 */
final class CudaDevice implements AutoCloseable {
    private static final int THREADS = 256;
    private static final int MAX_BLOCKS = 1 << 20;
    /** Padding past dim: ld - dim is at most 7 (ld is dim rounded up to 4, or to 8 for bf16 sets). */
    private static final float[] ZERO_PAD = new float[8];
    /** What loading JCuda's natives gave: null until tried, "" on success, else the reason. */
    private static String nativesFailure;

    private final ExecutorService worker;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private CudaKernels kernels;
    private String name;
    private int major;
    private int minor;
    private int multiprocessors;
    private int driverVersion;
    private long totalBytes;
    private boolean closed;
    /** Page-locked host memory uploads go through, so the GPU reads them by DMA. */
    private final PinnedStaging staging;

    private CudaDevice(ExecutorService worker, int stagingBuffers) {
        this.worker = worker;
        this.staging = new PinnedStaging(stagingBuffers);
    }

    /**
     * Loads JCuda, creates the worker, makes device {@code ordinal}'s primary context current on it,
     * loads the kernels and allocates {@code stagingBuffers} page-locked upload buffers.
     *
     * @throws CudaUnavailableException with the reason when any step fails
     */
    static CudaDevice open(int ordinal, int stagingBuffers) {
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "imprint-cuda-" + ordinal);
            t.setDaemon(true);
            return t;
        });
        CudaDevice d = new CudaDevice(worker, stagingBuffers);
        try {
            d.run(() -> d.start(ordinal));
            return d;
        } catch (RuntimeException e) {
            d.close();
            throw e instanceof CudaUnavailableException u ? u
                    : new CudaUnavailableException("opening CUDA device " + ordinal + " failed: " + e.getMessage(), e);
        }
    }

    /** Loads JCuda's natives once per process; later calls repeat the first answer. */
    static synchronized String loadNatives() {
        if (nativesFailure == null) {
            try {
                JCudaDriver.setExceptionsEnabled(false);
                nativesFailure = "";
            } catch (LinkageError e) {
                nativesFailure = CudaFailures.describeLinkage(e);
            }
        }
        return nativesFailure;
    }

    private void start(int ordinal) {
        String natives = loadNatives();
        if (!natives.isEmpty()) {
            throw new CudaUnavailableException(natives);
        }
        probe("cuInit", JCudaDriver.cuInit(0));
        int[] value = new int[1];
        probe("cuDeviceGetCount", JCudaDriver.cuDeviceGetCount(value));
        if (value[0] == 0) {
            throw new CudaUnavailableException(CudaFailures.describeResult("cuDeviceGetCount", CUresult.CUDA_ERROR_NO_DEVICE));
        }
        if (ordinal >= value[0]) {
            throw new CudaUnavailableException("CUDA device " + ordinal + " asked for, but only " + value[0] + " visible");
        }
        probe("cuDeviceGet", JCudaDriver.cuDeviceGet(device, ordinal));
        byte[] raw = new byte[256];
        probe("cuDeviceGetName", JCudaDriver.cuDeviceGetName(raw, raw.length, device));
        int end = 0;
        while (end < raw.length && raw[end] != 0) {
            end++;
        }
        name = new String(raw, 0, end, java.nio.charset.StandardCharsets.UTF_8);
        major = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        minor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        multiprocessors = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        probe("cuDriverGetVersion", JCudaDriver.cuDriverGetVersion(value));
        driverVersion = value[0];
        probe("cuDevicePrimaryCtxRetain", JCudaDriver.cuDevicePrimaryCtxRetain(context, device));
        probe("cuCtxSetCurrent", JCudaDriver.cuCtxSetCurrent(context));
        long[] free = new long[1];
        long[] total = new long[1];
        probe("cuMemGetInfo", JCudaDriver.cuMemGetInfo(free, total));
        totalBytes = total[0];
        kernels = CudaKernels.load(major, minor);
        staging.allocate();
    }

    private int attribute(int attribute) {
        int[] v = new int[1];
        probe("cuDeviceGetAttribute", JCudaDriver.cuDeviceGetAttribute(v, attribute, device));
        return v[0];
    }

    private static void probe(String call, int result) {
        if (result != CUresult.CUDA_SUCCESS) {
            throw new CudaUnavailableException(CudaFailures.describeResult(call, result));
        }
    }

    /** Runs {@code work} on the device's worker thread and returns its result, rethrowing its failure. */
    <T> T call(Callable<T> work) {
        Future<T> f;
        try {
            f = worker.submit(work);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new ImprintException(ImprintException.Code.FAILED_PRECONDITION, "the CUDA backend is closed");
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImprintException(ImprintException.Code.INTERNAL, "interrupted while waiting for the GPU", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new ImprintException(ImprintException.Code.INTERNAL, "GPU work failed: " + cause, cause);
        }
    }

    /** Runs {@code work} on the worker thread and waits for it, rethrowing its failure. */
    void run(Runnable work) {
        call(() -> {
            work.run();
            return null;
        });
    }

    /** The page-locked upload buffers; any thread. */
    PinnedStaging staging() {
        return staging;
    }

    CudaKernels kernels() {
        return kernels;
    }

    String name() {
        return name;
    }

    /** Compute capability as "sm_90". */
    String computeCapability() {
        return "sm_" + major + minor;
    }

    int multiprocessors() {
        return multiprocessors;
    }

    /** Driver version as "13.0". */
    String driverVersion() {
        return driverVersion / 1000 + "." + (driverVersion % 1000) / 10;
    }

    long totalBytes() {
        return totalBytes;
    }

    long freeBytes() {
        long[] free = new long[1];
        long[] total = new long[1];
        check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return free[0];
    }

    /** Allocates {@code bytes} (at least 1) of device memory; out of memory is RESOURCE_EXHAUSTED. */
    CUdeviceptr alloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        int result = JCudaDriver.cuMemAlloc(p, Math.max(1, bytes));
        if (result == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
            throw ImprintException.resourceExhausted("the GPU is out of memory allocating %d bytes (%d bytes free)",
                    bytes, freeBytes());
        }
        check(result, "cuMemAlloc(" + bytes + ")");
        return p;
    }

    /** Frees {@code p} unless it is null. */
    void free(CUdeviceptr p) {
        if (p != null) {
            check(JCudaDriver.cuMemFree(p), "cuMemFree");
        }
    }

    /**
     * Copies {@code src} to {@code dst + dstOffset} bytes through a page-locked buffer (or
     * straight from the heap when none is free).
     */
    void upload(CUdeviceptr dst, long dstOffset, float[] src) {
        PinnedStaging.Buffer buffer = staging.tryAcquire();
        if (buffer == null) {
            upload(dst, dstOffset, Pointer.to(src), (long) src.length * Float.BYTES);
            return;
        }
        try {
            for (int from = 0; from < src.length; from += PinnedStaging.FLOATS) {
                int count = Math.min(PinnedStaging.FLOATS, src.length - from);
                buffer.view().clear();
                buffer.view().put(src, from, count);
                upload(dst, dstOffset + (long) from * Float.BYTES, buffer.pointer(), (long) count * Float.BYTES);
            }
        } finally {
            staging.release(buffer);
        }
    }

    /**
     * Copies arrays {@code first .. first+count-1} of {@code arrays}, each {@code rows} rows of
     * {@code dim} floats, to {@code dst} as consecutive rows of {@code ld} floats, zero padded:
     * as many whole arrays as a page-locked buffer holds are packed into it per copy, so a batch
     * is one copy, not one per array. Marks stages "pack_suspects" and "upload_suspects".
     */
    void uploadRows(CUdeviceptr dst, List<float[]> arrays, int first, int count, int rows, int dim, int ld,
                    CudaStages stages) {
        long arrayFloats = (long) rows * ld;
        PinnedStaging.Buffer buffer = staging.tryAcquire();
        int perCopy = buffer != null ? (int) Math.min(count, PinnedStaging.FLOATS / arrayFloats) : 0;
        try {
            if (perCopy == 0) {
                for (int a = 0; a < count; a++) {
                    float[] padded = padRows(arrays.get(first + a), rows, dim, ld);
                    stages.lap("pack_suspects");
                    upload(dst, a * arrayFloats * Float.BYTES, Pointer.to(padded), (long) padded.length * Float.BYTES);
                    stages.lap("upload_suspects");
                }
                return;
            }
            for (int a0 = 0; a0 < count; a0 += perCopy) {
                int n = Math.min(perCopy, count - a0);
                pack(buffer.view(), arrays, first + a0, n, rows, dim, ld);
                stages.lap("pack_suspects");
                upload(dst, a0 * arrayFloats * Float.BYTES, buffer.pointer(), n * arrayFloats * Float.BYTES);
                stages.lap("upload_suspects");
            }
        } finally {
            if (buffer != null) {
                staging.release(buffer);
            }
        }
    }

    /**
     * Writes arrays {@code first .. first+count-1} of {@code arrays}, each {@code rows} rows of
     * {@code dim} floats, from the start of {@code into} as consecutive rows of {@code ld} floats,
     * zero padded; any thread.
     */
    static void pack(FloatBuffer into, List<float[]> arrays, int first, int count, int rows, int dim, int ld) {
        long arrayFloats = (long) rows * ld;
        // Packing a large batch is a host memory copy of tens of MB: spread it over the cores.
        // Each array owns a disjoint region, so duplicates of the view can fill them at once.
        IntStream.range(0, count).parallel().forEach(a -> {
            FloatBuffer view = into.duplicate();
            view.clear().position(Math.toIntExact(a * arrayFloats));
            float[] src = arrays.get(first + a);
            if (ld == dim) {
                view.put(src, 0, rows * dim);
                return;
            }
            for (int r = 0; r < rows; r++) {
                view.put(src, r * dim, dim);
                view.put(ZERO_PAD, 0, ld - dim);
            }
        });
    }

    /** {@code rows} rows of {@code dim} floats copied into rows of {@code ld}, zero padded. */
    static float[] padRows(float[] src, int rows, int dim, int ld) {
        if (ld == dim) {
            return src;
        }
        float[] out = new float[Math.multiplyExact(rows, ld)];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(src, r * dim, out, r * ld, dim);
        }
        return out;
    }

    void upload(CUdeviceptr dst, long dstOffset, Pointer src, long bytes) {
        if (bytes > 0) {
            check(JCudaDriver.cuMemcpyHtoD(dst.withByteOffset(dstOffset), src, bytes), "cuMemcpyHtoD");
        }
    }

    void download(Pointer dst, CUdeviceptr src, long srcOffset, long bytes) {
        if (bytes > 0) {
            check(JCudaDriver.cuMemcpyDtoH(dst, src.withByteOffset(srcOffset), bytes), "cuMemcpyDtoH");
        }
    }

    void copy(CUdeviceptr dst, long dstOffset, CUdeviceptr src, long srcOffset, long bytes) {
        if (bytes > 0) {
            check(JCudaDriver.cuMemcpyDtoD(dst.withByteOffset(dstOffset), src.withByteOffset(srcOffset), bytes),
                    "cuMemcpyDtoD");
        }
    }

    /** Blocks of 256 threads for one warp per item (grid-stride beyond the cap). */
    static int blocksForWarps(long warps) {
        return (int) Math.max(1, Math.min(MAX_BLOCKS, (warps + THREADS / 32 - 1) / (THREADS / 32)));
    }

    /** Blocks of 256 threads for one thread per item. */
    static int blocksForThreads(long items) {
        return (int) Math.max(1, Math.min(MAX_BLOCKS, (items + THREADS - 1) / THREADS));
    }

    /** Blocks of 256 threads for one block per item. */
    static int blocksForItems(long items) {
        return (int) Math.max(1, Math.min(MAX_BLOCKS, items));
    }

    /**
     * Launches {@code f} on the default stream with 256-thread blocks. Arguments map to kernel
     * parameters by type: {@link CUdeviceptr} (null for a null pointer), Integer, Long, Double.
     */
    void launch(CUfunction f, String kernel, int gridX, int gridY, int gridZ, Object... args) {
        Pointer[] params = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a == null) {
                params[i] = Pointer.to(new CUdeviceptr());
            } else if (a instanceof CUdeviceptr p) {
                params[i] = Pointer.to(p);
            } else if (a instanceof Integer v) {
                params[i] = Pointer.to(new int[] {v});
            } else if (a instanceof Long v) {
                params[i] = Pointer.to(new long[] {v});
            } else if (a instanceof Double v) {
                params[i] = Pointer.to(new double[] {v});
            } else {
                throw new IllegalArgumentException("kernel argument " + i + " of " + kernel + " has type "
                        + a.getClass().getName() + "; expected CUdeviceptr, Integer, Long or Double");
            }
        }
        check(JCudaDriver.cuLaunchKernel(f, gridX, gridY, gridZ, THREADS, 1, 1, 0, null, Pointer.to(params), null),
                "cuLaunchKernel(" + kernel + ")");
    }

    /** Waits for every launched kernel; a kernel's failure surfaces here. */
    void synchronize(String what) {
        check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize after " + what);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            worker.submit(() -> {
                staging.close();
                if (name != null) {
                    JCudaDriver.cuCtxSetCurrent(null);
                    JCudaDriver.cuDevicePrimaryCtxRelease(device);
                }
            }).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            // The context goes with the process anyway; closing must not fail.
        }
        worker.shutdownNow();
    }
}
