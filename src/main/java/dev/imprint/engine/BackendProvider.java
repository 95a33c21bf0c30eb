package dev.imprint.engine;

import dev.imprint.core.ImprintException;
import dev.imprint.engine.cpu.CpuBackend;
import dev.imprint.engine.cuda.CudaOptions;
import dev.imprint.engine.cuda.CudaProbe;
import dev.imprint.engine.cuda.CudaUnavailableException;
import java.util.List;
import java.util.Locale;
import java.util.logging.Logger;

/**
 * Picks the scoring backend once, at start-up, and logs one line saying which and why: CUDA when
 * asked for or, under {@link Choice#AUTO}, when a usable device is found; the CPU otherwise.
 */
public final class BackendProvider {
    private static final Logger LOG = Logger.getLogger(BackendProvider.class.getName());

    /** The {@code --backend} choice. */
    public enum Choice {
        /** CUDA when a usable device is found, else the CPU with the reason logged. */
        AUTO,
        /** The CPU backend, without looking for a GPU. */
        CPU,
        /** The CUDA backend; start-up fails with the reason when no usable device is found. */
        CUDA;

        /** Parses "auto", "cpu" or "cuda" (any case); anything else is INVALID_ARGUMENT. */
        public static Choice parse(String value) {
            for (Choice c : values()) {
                if (c.name().equalsIgnoreCase(value == null ? "" : value.trim())) {
                    return c;
                }
            }
            throw ImprintException.invalidArgument("backend=%s; expected auto, cpu or cuda", value);
        }
    }

    private BackendProvider() {}

    /** Selects the backend for this process: {@link Choice#AUTO} with default CUDA options. */
    public static SelectedBackend select() {
        return select(Choice.AUTO, CudaOptions.defaults());
    }

    /**
     * Selects the backend {@code choice} names, opening CUDA with {@code options}.
     *
     * @throws ImprintException FAILED_PRECONDITION when {@code choice} is CUDA and no usable device is found
     */
    public static SelectedBackend select(Choice choice, CudaOptions options) {
        return select(choice, CudaProbe.of(options));
    }

    /**
     * As {@link #select(Choice, CudaOptions)}, on each of {@code devices} (empty: every visible
     * device); several devices share every probe set's references ({@link ShardedBackend}).
     */
    public static SelectedBackend select(Choice choice, CudaOptions options, List<Integer> devices) {
        return select(choice, options, devices, false);
    }

    /**
     * As {@link #select(Choice, CudaOptions, List)}; with {@code cpuBf16Cosine}, a CPU backend
     * (chosen or fallen back to) holds EMBEDDING sets' unit rows as bf16 ({@code --cpu-bf16-cosine}).
     */
    public static SelectedBackend select(Choice choice, CudaOptions options, List<Integer> devices,
                                         boolean cpuBf16Cosine) {
        return select(choice, CudaProbe.of(options, devices), 0, cpuBf16Cosine);
    }

    /**
     * As {@link #select(Choice, CudaOptions)}, a CPU backend (chosen or fallen back to) scoring with
     * {@code cpuThreads} workers; 0 means one per available core, as everywhere else.
     */
    public static SelectedBackend select(Choice choice, CudaOptions options, int cpuThreads) {
        return select(choice, options, cpuThreads, false);
    }

    /** As {@link #select(Choice, CudaOptions, int)}, EMBEDDING rows bf16 on the CPU when {@code cpuBf16Cosine}. */
    public static SelectedBackend select(Choice choice, CudaOptions options, int cpuThreads, boolean cpuBf16Cosine) {
        if (cpuThreads < 0) {
            throw ImprintException.invalidArgument("cpu_threads=%d; expected 0 (one per core) or more", cpuThreads);
        }
        return select(choice, CudaProbe.of(options), cpuThreads, cpuBf16Cosine);
    }

    /** As {@link #select(Choice, CudaOptions)}, with {@code probe} looking for the device. */
    static SelectedBackend select(Choice choice, CudaProbe probe) {
        return select(choice, probe, 0, false);
    }

    private static SelectedBackend select(Choice choice, CudaProbe probe, int cpuThreads, boolean cpuBf16Cosine) {
        SelectedBackend selected = switch (choice) {
            case CPU -> cpu("requested with --backend cpu", cpuThreads, cpuBf16Cosine);
            case CUDA -> {
                try {
                    yield probe.open();
                } catch (CudaUnavailableException e) {
                    throw ImprintException.failedPrecondition("--backend cuda, but no usable CUDA device: %s",
                            e.getMessage());
                }
            }
            case AUTO -> {
                try {
                    yield probe.open();
                } catch (CudaUnavailableException e) {
                    yield cpu("CUDA unavailable (" + e.getMessage() + ")", cpuThreads, cpuBf16Cosine);
                }
            }
        };
        LOG.info("scoring backend " + selected.reason());
        return selected;
    }

    private static SelectedBackend cpu(String why, int threads, boolean bf16Cosine) {
        int workers = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        boolean vector = CpuBackend.vectorKernelsUsable();
        boolean panels = CpuBackend.panelKernelsCompiled();
        return new SelectedBackend(new CpuBackend(workers, vector, panels, bf16Cosine),
                String.format(Locale.ROOT, "cpu: %s; the CPU backend (native BLAS via netlib: %s)%s%s", why,
                        CpuBackend.blasImplementation(), bf16Cosine ? ", EMBEDDING rows bf16" : "",
                        vector && !panels ? ", EMBEDDING rows not in panels (their kernel needs Java 25 or newer; "
                                + "this is " + Runtime.version().feature() + ")" : ""));
    }
}
