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
 * The device's page-locked host buffers, which uploads go through so the GPU reads them by DMA.
 * Scoring callers take one to pack a batch's suspect rows on their own threads before the worker
 * uploads it, so packing one batch overlaps the device work of another; the worker takes one for
 * its own uploads (references, batches no caller staged).
 *
 * <p>{@link #tryAcquire} and {@link #release} are thread-safe. The buffers are allocated on the
 * worker when the device opens; when page-locked memory cannot be had, or every buffer is taken,
 * {@link #tryAcquire} returns null and the upload goes from the heap instead.
 */
final class PinnedStaging implements AutoCloseable {
    /** Floats per buffer (64 MiB): a batch of 64 suspects × 256 probes × 1024 fits; larger uploads go in pieces. */
    static final int FLOATS = 16 << 20;

    /** One page-locked buffer: its address for copies, and a view of it for packing. */
    record Buffer(Pointer pointer, FloatBuffer view) {
    }

    private final int count;
    private final ArrayBlockingQueue<Buffer> free;
    private final List<Buffer> all = new ArrayList<>();

    PinnedStaging(int count) {
        this.count = count;
        this.free = new ArrayBlockingQueue<>(count);
    }

    /** A free buffer of {@link #FLOATS} floats, or null when none is free or page-locked memory is unavailable. */
    Buffer tryAcquire() {
        return free.poll();
    }

    /** Returns a buffer from {@link #tryAcquire} for reuse. */
    void release(Buffer buffer) {
        free.add(buffer);
    }

    /** Allocates the buffers; worker thread, once. As many as the driver grants. */
    void allocate() {
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
