package dev.imprint.engine.cuda;

import static dev.imprint.engine.cuda.CudaFailures.check;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * One of the backend's scoring lanes: a CUDA stream, the scratch its passes use and a
 * page-locked buffer their suspects go up and their scores come down through, so two lanes'
 * batches overlap: one's upload runs while the other's kernels do.
 *
 * <p>A caller holds a lane for a whole scoring call ({@link CudaBackend#acquireLane}). Between
 * its passes the lane is idle, and only then does the caller touch the buffer: it packs a pass's
 * suspects there before the pass is enqueued and reads its scores there after it finished. The
 * stream is a blocking one, so the references' puts, moves and resizes, which run on the legacy
 * stream, stay ordered with every lane's work.
 *
 * <p>Methods other than {@link #buffer} and {@link #bufferBytes} run on the worker thread.
 */
final class CudaLane implements AutoCloseable {
    /**
     * Bytes of each lane's page-locked buffer by default: a pass of 64 suspects × 256 probes × 1024 floats
     * (64 MiB, the default batch of W2's shape) fits with its slots and probes; a larger pass goes
     * up the synchronous way.
     */
    static final long BUFFER_BYTES = 128L << 20;

    private final CudaDevice device;
    private final CUstream stream = new CUstream();
    private final CUevent finished = new CUevent();
    private final CudaScratch scratch;
    private final CudaStages.Recorder recorder;
    /** Null when the driver granted no page-locked memory: then every copy goes the synchronous way. */
    private final PinnedBuffer buffer;

    /**
     * A new lane on {@code device} with {@code bufferBytes} of page-locked memory, recording into
     * {@code stages}; worker thread.
     */
    CudaLane(CudaDevice device, CudaStages stages, long bufferBytes) {
        this.device = device;
        check(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_DEFAULT), "cuStreamCreate");
        check(JCudaDriver.cuEventCreate(finished, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        this.scratch = new CudaScratch(device);
        this.recorder = stages.new Recorder(stream);
        this.buffer = PinnedBuffer.allocate(bufferBytes);
    }

    CUstream stream() {
        return stream;
    }

    CudaScratch scratch() {
        return scratch;
    }

    CudaStages.Recorder recorder() {
        return recorder;
    }

    /** Bytes of page-locked memory a pass may go through: 0 when the lane has none. */
    long bufferBytes() {
        return buffer != null ? buffer.size() : 0;
    }

    /**
     * {@code length} bytes of the buffer from {@code offset}, in native order; only while the
     * lane is idle (any thread holding the lane).
     */
    ByteBuffer buffer(long offset, long length) {
        return buffer.bytes().slice(Math.toIntExact(offset), Math.toIntExact(length)).order(buffer.bytes().order());
    }

    /** Enqueues a copy of {@code bytes} from the buffer at {@code from} to {@code dst + dstOffset}. */
    void upload(CUdeviceptr dst, long dstOffset, long from, long bytes) {
        if (bytes > 0) {
            check(JCudaDriver.cuMemcpyHtoDAsync(dst.withByteOffset(dstOffset), buffer.at(from), bytes, stream),
                    "cuMemcpyHtoDAsync");
        }
    }

    /** Enqueues a copy of {@code bytes} from {@code src + srcOffset} into the buffer at {@code to}. */
    void download(long to, CUdeviceptr src, long srcOffset, long bytes) {
        if (bytes > 0) {
            check(JCudaDriver.cuMemcpyDtoHAsync(buffer.at(to), src.withByteOffset(srcOffset), bytes, stream),
                    "cuMemcpyDtoHAsync");
        }
    }

    /** Enqueues {@code f}; see {@link CudaDevice#launch}. */
    void launch(CUfunction f, String kernel, int gridX, int gridY, int gridZ, Object... args) {
        device.launch(stream, f, kernel, gridX, gridY, gridZ, args);
    }

    /**
     * A future completed once everything enqueued so far has run and the worker then ran
     * {@code onDone}; see {@link CudaDevice#whenDone}.
     */
    CompletableFuture<Void> whenDone(Runnable onDone) {
        return device.whenDone(stream, finished, onDone);
    }

    /**
     * Waits for everything enqueued so far, ignoring its failure: after a pass failed part way,
     * so the next caller finds the lane idle.
     */
    void drain() {
        JCudaDriver.cuStreamSynchronize(stream);
    }

    /** Frees the lane; only while it is idle. */
    @Override
    public void close() {
        scratch.close();
        recorder.close();
        if (buffer != null) {
            buffer.free();
        }
        JCudaDriver.cuEventDestroy(finished);
        JCudaDriver.cuStreamDestroy(stream);
    }
}
