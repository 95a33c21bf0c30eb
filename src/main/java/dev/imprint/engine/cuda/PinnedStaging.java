package dev.imprint.engine.cuda;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import jcuda.Pointer;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * Page-locked host buffers that scoring callers pack a batch's suspect rows into on their own
 * threads, before the device worker uploads them: packing one batch then overlaps the device
 * work of another, where packing on the worker would queue behind it.
 *
 * <p>Thread-safe. The buffers are allocated on the worker at first use; when page-locked memory
 * cannot be had, or every buffer is taken, {@link #tryAcquire} returns null and the caller packs
 * on the worker as before.
 */
final class PinnedStaging implements AutoCloseable {
    /** Floats per buffer (64 MiB): a batch of 64 suspects × 256 probes × 1024 fits. */
    static final int FLOATS = 16 << 20;

    /** One page-locked buffer: its address for copies, and a view of it for packing. */
    record Buffer(Pointer pointer, FloatBuffer view) {
    }

    private final CudaDevice device;
    private final int count;
    private final ArrayBlockingQueue<Buffer> free;
    private final List<Buffer> all = new ArrayList<>();
    private boolean allocated;

    PinnedStaging(CudaDevice device, int count) {
        this.device = device;
        this.count = count;
        this.free = new ArrayBlockingQueue<>(count);
    }

    /** A free buffer of {@link #FLOATS} floats, or null when none is free or page-locked memory is unavailable. */
    Buffer tryAcquire() {
        synchronized (this) {
            if (!allocated) {
                allocated = true;
                device.run(this::allocate);
            }
        }
        return free.poll();
    }

    /** Returns a buffer from {@link #tryAcquire} for reuse. */
    void release(Buffer buffer) {
        free.add(buffer);
    }

    /** Allocates the buffers on the worker; as many as the driver grants. */
    private void allocate() {
        for (int i = 0; i < count; i++) {
            Pointer p = new Pointer();
            if (JCudaDriver.cuMemAllocHost(p, (long) FLOATS * Float.BYTES) != CUresult.CUDA_SUCCESS) {
                return;
            }
            Buffer b = new Buffer(p, p.getByteBuffer(0, (long) FLOATS * Float.BYTES).order(ByteOrder.nativeOrder())
                    .asFloatBuffer());
            all.add(b);
            free.add(b);
        }
    }

    /** Frees the buffers; worker thread only, after every caller has released its buffer. */
    @Override
    public void close() {
        for (Buffer b : all) {
            JCudaDriver.cuMemFreeHost(b.pointer());
        }
        all.clear();
        free.clear();
    }
}
