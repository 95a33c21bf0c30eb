package dev.imprint.engine.cuda;

import dev.imprint.engine.ScoringBackend;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.ShardedBackend;
import java.util.ArrayList;
import java.util.List;

/**
 * Looks for a usable CUDA device and opens the backend on it: the step the backend provider tries
 * once, and which tests replace to simulate each way it can fail.
 */
@FunctionalInterface
public interface CudaProbe {

    /**
     * Opens the CUDA backend.
     *
     * @return the backend and a one-line description of its device
     * @throws CudaUnavailableException with the reason when no usable device is found
     */
    SelectedBackend open();

    /** The real probe on the device {@code options} names: JCuda's natives, the driver, the kernels and enough memory. */
    static CudaProbe of(CudaOptions options) {
        return () -> {
            CudaBackend backend = open(options);
            try {
                return new SelectedBackend(backend, "cuda: " + backend.describe());
            } catch (RuntimeException e) {
                backend.close();
                throw e;
            }
        };
    }

    /**
     * The real probe on each of {@code devices} (empty: every visible device), each opened with
     * {@code options} (its reference budget is per device). One device gives its backend; several
     * give a {@link ShardedBackend} spreading every probe set's references over them.
     */
    static CudaProbe of(CudaOptions options, List<Integer> devices) {
        return () -> {
            List<Integer> ordinals = devices;
            if (ordinals.isEmpty()) {
                int visible = visibleDevices();
                if (visible == 0) {
                    throw new CudaUnavailableException(CudaFailures.describeResult("cuDeviceGetCount",
                            jcuda.driver.CUresult.CUDA_ERROR_NO_DEVICE));
                }
                ordinals = java.util.stream.IntStream.range(0, visible).boxed().toList();
            }
            if (ordinals.size() == 1) {
                return of(options.withDevice(ordinals.get(0))).open();
            }
            List<ScoringBackend> opened = new ArrayList<>();
            List<String> described = new ArrayList<>();
            try {
                for (int ordinal : ordinals) {
                    CudaBackend backend = open(options.withDevice(ordinal));
                    opened.add(backend);
                    described.add("device " + ordinal + ": " + backend.describe());
                }
                return new SelectedBackend(new ShardedBackend(opened), "cuda: " + ordinals.size()
                        + " devices, each probe set's references spread over them; " + String.join("; ", described));
            } catch (RuntimeException e) {
                opened.forEach(ScoringBackend::close);
                throw e;
            }
        };
    }

    private static CudaBackend open(CudaOptions options) {
        try {
            return CudaBackend.open(options);
        } catch (LinkageError e) {
            throw new CudaUnavailableException(CudaFailures.describeLinkage(e), e);
        }
    }

    private static int visibleDevices() {
        try {
            return CudaDevice.visibleDevices();
        } catch (LinkageError e) {
            throw new CudaUnavailableException(CudaFailures.describeLinkage(e), e);
        }
    }
}
