package dev.imprint.engine.cpu;

import dev.imprint.core.ProbeSet;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.ScoringBackend;
import dev.ludovic.netlib.blas.BLAS;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * The CPU backend: references held on the Java heap in precomputed float32 forms, the heavy part
 * of scoring done as native BLAS matrix products (netlib's JNI binding to the system BLAS), the
 * rest in double.
 *
 * <p>The backend owns one worker pool, sized to the machine's cores, that every probe set's
 * scoring shares; {@link #close()} stops it.
 *
 * <p>Batches of a few suspects, which are memory-bound, go through {@link VectorProduct} instead of
 * BLAS where the JVM runs with {@code --add-modules jdk.incubator.vector} (scripts/imprint passes
 * it): it reads each reference value once per pair of columns, where BLAS reads it once per column.
 */
public final class CpuBackend implements ScoringBackend {
    private static final Logger LOG = Logger.getLogger(CpuBackend.class.getName());
    private static final String NATIVE_BLAS = "dev.ludovic.netlib.blas.JNIBLAS";
    private static final AtomicBoolean HINTED = new AtomicBoolean();
    private static final String VECTOR_MODULE = "jdk.incubator.vector";
    /** The first Java release measured to compile {@link PanelProduct}'s kernels (see {@link #panelKernelsCompiled}). */
    private static final int PANEL_KERNELS_FROM = 25;
    private final BLAS blas = BLAS.getInstance();
    private final ForkJoinPool workers;
    private final boolean vectorProducts;
    private final boolean panelProducts;
    private final boolean bf16Cosine;

    /** A backend using every available core. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /**
     * A backend scoring with {@code threads} worker threads (at least 1), on the Vector API where it
     * is loaded, and with EMBEDDING rows in panels where this JVM compiles their kernel
     * ({@link #panelKernelsCompiled()}).
     */
    public CpuBackend(int threads) {
        this(threads, vectorKernelsUsable(), panelKernelsCompiled(), false);
    }

    /**
     * A backend scoring with {@code threads} worker threads (at least 1); skinny batches go through
     * the Vector API when {@code vectorProducts}, which needs {@link #vectorKernelsUsable()}, else through BLAS.
     */
    public CpuBackend(int threads, boolean vectorProducts) {
        this(threads, vectorProducts, false);
    }

    /**
     * As {@link #CpuBackend(int, boolean)}; with {@code bf16Cosine}, EMBEDDING sets hold their unit
     * rows as bf16 ({@code --cpu-bf16-cosine}): half the memory and the bytes a query reads, products
     * still fp32, COSINE off by at most 2^-8 + 2^-23 of sum |u_k x_k| / |x| (README, Metrics).
     */
    public CpuBackend(int threads, boolean vectorProducts, boolean bf16Cosine) {
        this(threads, vectorProducts, vectorProducts, bf16Cosine);
    }

    /**
     * As {@link #CpuBackend(int, boolean, boolean)}, EMBEDDING rows held in {@link PanelProduct}'s
     * panels and multiplied by its kernel only when {@code panelProducts} (which needs
     * {@code vectorProducts}); else they are rows, multiplied by {@link VectorProduct} or BLAS.
     */
    public CpuBackend(int threads, boolean vectorProducts, boolean panelProducts, boolean bf16Cosine) {
        if (panelProducts && !vectorProducts) {
            throw new IllegalArgumentException("panelProducts needs vectorProducts: the panels' kernel is on the "
                    + "Vector API");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads=" + threads + "; expected at least 1");
        }
        if (vectorProducts && !vectorKernelsUsable()) {
            throw new IllegalStateException("the Vector API kernels cannot run here: " + vectorApiAbsence());
        }
        this.vectorProducts = vectorProducts;
        this.panelProducts = panelProducts;
        this.bf16Cosine = bf16Cosine;
        AtomicInteger counter = new AtomicInteger();
        this.workers = new ForkJoinPool(threads, pool -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            t.setName("imprint-cpu-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
        }, null, false);
        if (!HINTED.getAndSet(true)) {
            logSetupHints(threads);
        }
    }

    /** Logs, once per process, what would make scoring faster on this machine. */
    private static void logSetupHints(int threads) {
        if (!NATIVE_BLAS.equals(blasImplementation())) {
            LOG.warning("no native BLAS found, scoring falls back to " + blasImplementation()
                    + ", several times slower: install OpenBLAS (libopenblas0, which provides libblas.so.3)");
        }
        if (threads > 1 && !"1".equals(System.getenv("OPENBLAS_NUM_THREADS"))) {
            LOG.warning("OPENBLAS_NUM_THREADS is not 1: the CPU backend already runs " + threads
                    + " workers, and OpenBLAS threads on top of them oversubscribe the cores; "
                    + "set OPENBLAS_NUM_THREADS=1 (scripts/imprint does) for the best throughput");
        }
        if (!vectorKernelsUsable()) {
            LOG.info("batches of a few suspects are scored through BLAS, which reads the references once per "
                    + "column: " + vectorApiAbsence());
        }
    }

    /**
     * Whether the Vector API kernels ({@link VectorProduct}, {@link VectorRowTerms}) can run: the JVM
     * has the incubating module, and the CPU's vectors are a width they are written for.
     */
    public static boolean vectorKernelsUsable() {
        // The module first: VectorWidth's class cannot load without it.
        return vectorModuleLoaded() && VectorWidth.fitsTheKernels();
    }

    /**
     * Whether this JVM compiles {@link PanelProduct}'s kernels: the Vector API is usable and the
     * release is {@value #PANEL_KERNELS_FROM} or newer. JDK 17 left the kernel's fused multiply-adds
     * to the Vector API's Java fallback, an array allocated per operation: W4 took 2.2 s a batch
     * there against 0.091 s with the rows on BLAS, W3 51 ms against 14 (2026-12-07, AVX2). JDK 25
     * compiles them (W4 0.086-0.106 s); the releases between were not measured, so they keep the
     * rows too.
     */
    public static boolean panelKernelsCompiled() {
        return vectorKernelsUsable() && Runtime.version().feature() >= PANEL_KERNELS_FROM;
    }

    private static boolean vectorModuleLoaded() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    /** Why {@link #vectorKernelsUsable()} is false, for a message. */
    private static String vectorApiAbsence() {
        return vectorModuleLoaded()
                ? "this CPU's vectors do not hold 4 to 16 floats, the widths the Vector API kernels are written for"
                : "the Vector API is not loaded; run the JVM with --add-modules " + VECTOR_MODULE
                        + " (scripts/imprint does)";
    }

    /** The class name of the BLAS implementation netlib picked, e.g. "dev.ludovic.netlib.blas.JNIBLAS". */
    public static String blasImplementation() {
        return BLAS.getInstance().getClass().getName();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public ResidentReferences createResidentSet(ProbeSet set) {
        return new CpuResidentSet(set, blas, workers, vectorProducts, panelProducts, bf16Cosine);
    }

    @Override
    public void close() {
        workers.shutdownNow();
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
