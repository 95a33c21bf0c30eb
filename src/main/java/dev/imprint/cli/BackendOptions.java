package dev.imprint.cli;

import dev.imprint.core.ImprintException;
import dev.imprint.engine.BackendProvider;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.ScoreBatching;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.TenantEngines;
import dev.imprint.engine.cuda.CudaOptions;
import dev.imprint.store.ArrowFingerprintStore;
import dev.imprint.store.FingerprintStore;
import dev.imprint.store.MemoryOnlyStore;
import dev.imprint.store.TenantDirectories;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Which scoring backend a command that runs the engine in-process uses. */
final class BackendOptions {
    @Spec(Spec.Target.MIXEE)
    private CommandSpec mixee;

    @Option(names = "--backend", paramLabel = "auto|cpu|cuda", defaultValue = "auto",
            description = "Scoring backend: auto uses CUDA when a usable GPU is found and else the CPU, logging why; "
                    + "cuda fails fast without one; cpu never looks.")
    String backend;

    @Option(names = "--cuda-memory-budget", paramLabel = "BYTES",
            description = "Device memory references may hold on the CUDA backend; past it a put is "
                    + "RESOURCE_EXHAUSTED (default: 90%% of the memory free at start, less both lanes' scratch).")
    Long cudaMemoryBudget;

    @Option(names = "--cuda-bf16-cosine",
            description = "On the CUDA backend, hold EMBEDDING probe sets' reference rows as bf16: half the device "
                    + "memory and bytes read per query, products still fp32, COSINE off by up to 2^-8 (typically "
                    + "4e-5 at D=768; kernels/PERF-NOTES.md). DISTRIBUTION sets stay fp32; the CPU backend ignores "
                    + "it, see --cpu-bf16-cosine (default: off).")
    boolean cudaBf16Cosine;

    @Option(names = "--cpu-bf16-cosine",
            description = "On the CPU backend, hold EMBEDDING probe sets' unit rows as bf16: half the memory and "
                    + "bytes read per query, products still fp32, COSINE off by up to 2^-8 (typically 4e-5 at "
                    + "D=768; README, Metrics). A single suspect scores about 1.5x faster; larger batches "
                    + "widen the rows to fp32 as they go (on Java 25, a panel at a time) and gain nothing "
                    + "in speed (README, Performance). DISTRIBUTION sets stay fp32; the "
                    + "CUDA backend ignores it, see --cuda-bf16-cosine (default: off).")
    boolean cpuBf16Cosine;

    @Option(names = "--devices", paramLabel = "all|N,N,...", defaultValue = "all",
            description = "CUDA devices to score on: all visible ones (default), or ordinals such as 0,1. With "
                    + "several, each probe set's references are spread over them and every score asks all at once; "
                    + "--cuda-memory-budget is per device.")
    String devices;

    /** The ordinals {@code --devices} names; empty for every visible device. */
    List<Integer> devices() {
        if (devices.strip().equalsIgnoreCase("all")) {
            return List.of();
        }
        java.util.LinkedHashSet<Integer> ordinals = new java.util.LinkedHashSet<>();
        for (String part : devices.split(",", -1)) {
            int ordinal;
            try {
                ordinal = Integer.parseInt(part.strip());
            } catch (NumberFormatException e) {
                ordinal = -1;
            }
            if (ordinal < 0 || !ordinals.add(ordinal)) {
                throw new ParameterException(mixee.commandLine(), "--devices=" + devices
                        + "; expected all or distinct device ordinals such as 0,1");
            }
        }
        return List.copyOf(ordinals);
    }

    /** Selects the backend once; FAILED_PRECONDITION when cuda was asked for and none is usable. */
    SelectedBackend select() {
        BackendProvider.Choice choice;
        try {
            choice = BackendProvider.Choice.parse(backend);
        } catch (ImprintException e) {
            throw new ParameterException(mixee.commandLine(), "--" + e.getMessage());
        }
        CudaOptions cuda = CudaOptions.defaults();
        if (cudaMemoryBudget != null) {
            if (cudaMemoryBudget <= 0) {
                throw new ParameterException(mixee.commandLine(),
                        "--cuda-memory-budget=" + cudaMemoryBudget + "; expected a positive number of bytes");
            }
            cuda = cuda.withReferenceBudget(cudaMemoryBudget);
        }
        cuda = cuda.withBf16Cosine(cudaBf16Cosine);
        return BackendProvider.select(choice, cuda, devices(), cpuBf16Cosine);
    }

    /** Opens the data directory and loads it into an engine on the selected backend. */
    ImprintEngine openEngine(Path dataDir) {
        return openEngine(dataDir, ScoreBatching.defaults());
    }

    /** As {@link #openEngine(Path)}, merging concurrent scoring calls as {@code batching} says. */
    ImprintEngine openEngine(Path dataDir, ScoreBatching batching) {
        SelectedBackend selected = select();
        FingerprintStore store;
        try {
            store = ArrowFingerprintStore.open(dataDir);
        } catch (RuntimeException e) {
            selected.backend().close();
            throw e;
        }
        return ImprintEngine.open(store, selected, batching);
    }

    /** An engine on the selected backend whose references live in memory only ({@link MemoryOnlyStore}). */
    ImprintEngine openMemoryOnlyEngine() {
        return ImprintEngine.open(new MemoryOnlyStore(), select(), ScoreBatching.defaults());
    }

    /**
     * An engine per tenant over {@code dataDir} ({@link TenantDirectories}): the default tenant's
     * and every existing tenant's opened now, all on one backend.
     */
    TenantEngines openTenants(Path dataDir, ScoreBatching batching) {
        TenantDirectories directories = new TenantDirectories(dataDir);
        return TenantEngines.open(TenantEngines.Stores.of(directories::open, directories::existing), select(),
                batching);
    }
}
