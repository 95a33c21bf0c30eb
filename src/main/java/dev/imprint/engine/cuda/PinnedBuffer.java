package dev.imprint.engine.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jcuda.Pointer;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * One buffer of page-locked host memory: the GPU reads and writes it by DMA, so copies from and
 * to it can be asynchronous, and host code reads and writes it as a {@link ByteBuffer} without a
 * JCuda call. Allocated and freed on the device's worker thread; its contents may be touched from
 * any thread that owns it at the time.
 */
final class PinnedBuffer {
    private final Pointer pointer;
    private final ByteBuffer bytes;

    private PinnedBuffer(Pointer pointer, long size) {
        this.pointer = pointer;
        this.bytes = pointer.getByteBuffer(0, size).order(ByteOrder.nativeOrder());
    }

    /** {@code size} bytes of page-locked memory, or null when the driver grants none; worker thread. */
    static PinnedBuffer allocate(long size) {
        Pointer p = new Pointer();
        return JCudaDriver.cuMemAllocHost(p, size) == CUresult.CUDA_SUCCESS ? new PinnedBuffer(p, size) : null;
    }

    /** Its address {@code offset} bytes in, for copies. */
    Pointer at(long offset) {
        return offset == 0 ? pointer : pointer.withByteOffset(offset);
    }

    /** The whole buffer in native byte order; callers duplicate it before moving its position. */
    ByteBuffer bytes() {
        return bytes;
    }

    long size() {
        return bytes.capacity();
    }

    /** Frees the memory; worker thread, once nothing copies from or to it any more. */
    void free() {
        JCudaDriver.cuMemFreeHost(pointer);
    }
}
