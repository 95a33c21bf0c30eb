package dev.imprint.engine.cuda;

import static dev.imprint.engine.cuda.CudaFailures.check;

import dev.imprint.core.ImprintException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * One CUDA device and the single worker thread that owns its context: every JCuda call of the
 * backend runs on that thread through {@link #call}, so callers (gRPC threads among them) never
 * touch JCuda directly and device work is serialised without locks.
 *
 * <p>Work enqueued on a stream finishes later: {@link #whenDone} records an event behind it, and
 * between tasks the worker polls the events of the work still running, as TensorFlow's EventMgr
 * does, completing each one's future when its event fires. So the worker never blocks on the
 * device for a stream's work, and one lane's upload and kernels are enqueued while another
 * lane's still run.
 *
 * <p>Methods other than {@link #open}, {@link #call}, {@link #run}, {@link #await} and {@link
 * #close} may be called only from inside {@link #call}.
 */
final class CudaDevice implements AutoCloseable {
    private static final int THREADS = 256;
    private static final int MAX_BLOCKS = 1 << 20;
    /**
     * How long the worker waits for a task before it polls the running work's events again: the
     * most a finished pass waits to be noticed. cuEventQuery costs about a microsecond.
     */
    private static final long POLL_NANOS = 20_000;
    /** Bytes of the worker's own page-locked buffer, which its synchronous uploads go through. */
    private static final long UPLOAD_BUFFER_BYTES = 64L << 20;
    /** Padding past dim: ld - dim is at most 7 (ld is dim rounded up to 4, or to 8 for bf16 sets). */
    private static final float[] ZERO_PAD = new float[8];
    /** What loading JCuda's natives gave: null until tried, "" on success, else the reason. */
    private static String nativesFailure;

    /** Work enqueued on a stream, the event recorded behind it, and what to do when it fires. */
    private record Running(CUevent event, Runnable onDone, CompletableFuture<Void> finished) {
    }

    private final Thread worker;
    private final LinkedBlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
    /** Guards {@link #accepting} against a task queued behind the worker's last one. */
    private final Object submitting = new Object();
    private boolean accepting = true;
    /** Worker thread only. */
    private final ArrayDeque<Running> running = new ArrayDeque<>();
    /** Set by the worker's last task. */
    private boolean stopped;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private CudaKernels kernels;
    private String name;
    private int major;
    private int minor;
    private int multiprocessors;
    private int driverVersion;
    private long totalBytes;
    /** Page-locked memory the worker's synchronous uploads go through; null when none was granted. */
    private PinnedBuffer uploadBuffer;

    private CudaDevice(int ordinal) {
        this.worker = new Thread(this::work, "imprint-cuda-" + ordinal);
        worker.setDaemon(true);
        worker.start();
    }

    /**
     * Loads JCuda, starts the worker, makes device {@code ordinal}'s primary context current on
     * it and loads the kernels.
     *
     * @throws CudaUnavailableException with the reason when any step fails
     */
    static CudaDevice open(int ordinal) {
        CudaDevice d = new CudaDevice(ordinal);
        try {
            d.run(() -> d.start(ordinal));
            return d;
        } catch (RuntimeException e) {
            d.close();
            throw e instanceof CudaUnavailableException u ? u
                    : new CudaUnavailableException("opening CUDA device " + ordinal + " failed: " + e.getMessage(), e);
        }
    }

    /** The worker: runs tasks in order and, while work is running on streams, polls its events. */
    private void work() {
        while (!stopped) {
            Runnable task;
            try {
                task = running.isEmpty() ? tasks.take() : tasks.poll(POLL_NANOS, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (task != null) {
                task.run();
            }
            completeFinished();
        }
        failRunning(closed());
    }

    /** Completes the running work whose events have fired, in any order; worker thread. */
    private void completeFinished() {
        for (Iterator<Running> it = running.iterator(); it.hasNext(); ) {
            Running r = it.next();
            int result = JCudaDriver.cuEventQuery(r.event());
            if (result == CUresult.CUDA_ERROR_NOT_READY) {
                continue;
            }
            it.remove();
            try {
                check(result, "cuEventQuery (a kernel or copy enqueued before it failed)");
                r.onDone().run();
                r.finished().complete(null);
            } catch (RuntimeException | Error e) {
                r.finished().completeExceptionally(e);
            }
        }
    }

    private void failRunning(RuntimeException why) {
        for (Running r : running) {
            r.finished().completeExceptionally(why);
        }
        running.clear();
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

    /**
     * How many CUDA devices the driver shows this process (after CUDA_VISIBLE_DEVICES).
     *
     * @throws CudaUnavailableException when the natives or the driver cannot be loaded
     */
    static int visibleDevices() {
        String natives = loadNatives();
        if (!natives.isEmpty()) {
            throw new CudaUnavailableException(natives);
        }
        probe("cuInit", JCudaDriver.cuInit(0));
        int[] count = new int[1];
        probe("cuDeviceGetCount", JCudaDriver.cuDeviceGetCount(count));
        return count[0];
    }

    private void start(int ordinal) {
        int visible = visibleDevices();
        if (visible == 0) {
            throw new CudaUnavailableException(CudaFailures.describeResult("cuDeviceGetCount", CUresult.CUDA_ERROR_NO_DEVICE));
        }
        if (ordinal >= visible) {
            throw new CudaUnavailableException("CUDA device " + ordinal + " asked for, but only " + visible + " visible");
        }
        int[] value = new int[1];
        probe("cuDeviceGet", JCudaDriver.cuDeviceGet(device, ordinal));
        byte[] raw = new byte[256];
        probe("cuDeviceGetName", JCudaDriver.cuDeviceGetName(raw, raw.length, device));
        int end = 0;
        while (end < raw.length && raw[end] != 0) {
            end++;
        }
        name = new String(raw, 0, end, StandardCharsets.UTF_8);
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
        uploadBuffer = PinnedBuffer.allocate(UPLOAD_BUFFER_BYTES);
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
        FutureTask<T> task = new FutureTask<>(work);
        synchronized (submitting) {
            if (!accepting) {
                throw closed();
            }
            tasks.add(task);
        }
        return await(task);
    }

    /** Runs {@code work} on the worker thread and waits for it, rethrowing its failure. */
    void run(Runnable work) {
        call(() -> {
            work.run();
            return null;
        });
    }

    /**
     * Waits for {@code result} of work on the device, from any thread but the worker, rethrowing
     * the work's failure as it was.
     */
    static <T> T await(Future<T> result) {
        try {
            return result.get();
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

    private static ImprintException closed() {
        return new ImprintException(ImprintException.Code.FAILED_PRECONDITION, "the CUDA backend is closed");
    }

    /**
     * Records {@code event} on {@code stream} behind the work enqueued there so far; when it
     * fires, the worker runs {@code onDone} and then completes the returned future (exceptionally
     * with {@code onDone}'s failure or the stream's).
     */
    CompletableFuture<Void> whenDone(CUstream stream, CUevent event, Runnable onDone) {
        check(JCudaDriver.cuEventRecord(event, stream), "cuEventRecord");
        CompletableFuture<Void> finished = new CompletableFuture<>();
        running.add(new Running(event, onDone, finished));
        return finished;
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
     * Copies {@code src} to {@code dst + dstOffset} bytes through the worker's page-locked buffer
     * (or straight from the heap when it has none); returns once the copy is done.
     */
    void upload(CUdeviceptr dst, long dstOffset, float[] src) {
        if (uploadBuffer == null) {
            upload(dst, dstOffset, Pointer.to(src), (long) src.length * Float.BYTES);
            return;
        }
        int chunk = (int) (uploadBuffer.size() / Float.BYTES);
        for (int from = 0; from < src.length; from += chunk) {
            int count = Math.min(chunk, src.length - from);
            uploadBuffer.bytes().asFloatBuffer().put(src, from, count);
            upload(dst, dstOffset + (long) from * Float.BYTES, uploadBuffer.at(0), (long) count * Float.BYTES);
        }
    }

    /**
     * Writes arrays {@code first .. first+count-1} of {@code arrays}, each {@code rows} rows of
     * {@code dim} floats, from {@code into}'s position (in native order) as consecutive rows of
     * {@code ld} floats, zero padded; any thread.
     */
    static void pack(ByteBuffer into, List<float[]> arrays, int first, int count, int rows, int dim, int ld) {
        long arrayFloats = (long) rows * ld;
        // Packing a large batch is a host memory copy of tens of MB: spread it over the cores.
        // Each array owns a disjoint region, so duplicates of the view can fill them at once.
        IntStream.range(0, count).parallel().forEach(a -> {
            FloatBuffer view = into.asFloatBuffer();
            view.position(Math.toIntExact(a * arrayFloats));
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

    /**
     * Copies arrays {@code first .. first+count-1} of {@code arrays}, each {@code rows} rows of
     * {@code dim} floats, to {@code dst} as consecutive rows of {@code ld} floats, zero padded,
     * one array at a time through the worker's page-locked buffer; returns once they are copied.
     * For passes too large for their lane's buffer.
     */
    void uploadRows(CUdeviceptr dst, List<float[]> arrays, int first, int count, int rows, int dim, int ld) {
        long arrayBytes = (long) rows * ld * Float.BYTES;
        for (int a = 0; a < count; a++) {
            upload(dst, a * arrayBytes, padRows(arrays.get(first + a), rows, dim, ld));
        }
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
     * Launches {@code f} on {@code stream} (null: the legacy default stream) with 256-thread
     * blocks. Arguments map to kernel parameters by type: {@link CUdeviceptr} (null for a null
     * pointer), Integer, Long, Double; the driver copies their values before this returns.
     */
    void launch(CUstream stream, CUfunction f, String kernel, int gridX, int gridY, int gridZ, Object... args) {
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
        check(JCudaDriver.cuLaunchKernel(f, gridX, gridY, gridZ, THREADS, 1, 1, 0, stream, Pointer.to(params), null),
                "cuLaunchKernel(" + kernel + ")");
    }

    /** Waits for every launched kernel; a kernel's failure surfaces here. */
    void synchronize(String what) {
        check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize after " + what);
    }

    @Override
    public void close() {
        FutureTask<Void> release = new FutureTask<>(() -> {
            if (!running.isEmpty()) {
                // Let the work still on the device finish, so no caller waits forever.
                JCudaDriver.cuCtxSynchronize();
                completeFinished();
            }
            if (uploadBuffer != null) {
                uploadBuffer.free();
            }
            if (name != null) {
                // Releasing the last retain ends the context (and a sticky error with it). JCuda
                // rejects a null handle, hence the empty one to leave no context current.
                JCudaDriver.cuDevicePrimaryCtxRelease(device);
                JCudaDriver.cuCtxSetCurrent(new CUcontext());
            }
        }, null);
        synchronized (submitting) {
            if (!accepting) {
                return;
            }
            accepting = false;
            tasks.add(release);
            tasks.add(() -> stopped = true);
        }
        try {
            release.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            // The context goes with the process anyway; closing must not fail.
        }
        worker.interrupt();
    }
}
