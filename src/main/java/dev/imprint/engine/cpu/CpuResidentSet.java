package dev.imprint.engine.cpu;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.engine.BatchScores;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.SuspectBatch;
import dev.ludovic.netlib.blas.BLAS;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;

/**
 * The references of one probe set in the CPU backend's probe-major layout.
 *
 * <p>Layout: references occupy slots 0..size-1. For each probe p, {@code unit[p]} holds the unit
 * rows {@code r[p]/|r[p]|} of every slot back to back ({@code slot*D + k}), and for DISTRIBUTION
 * sets {@code logs[p]} the smoothed logs {@code ln r~[p]} in the same layout; both are float32 and
 * the column-major D×capacity matrices BLAS multiplies. Per (slot, probe), at {@code slot*P + p}:
 * the norm |r[p]|, the negative entropy {@code sum_k r~ ln r~} and the argmax of the raw row, all
 * but the argmax in double. Arrays grow by half again when full, so a put rarely copies; a remove
 * moves the last slot into the hole. With {@code --cpu-bf16-cosine} an EMBEDDING set keeps its unit
 * rows as bf16 bits in {@code unitBf16[p]} instead, same layout, half the bytes ({@link Bf16}). On the
 * Vector API an EMBEDDING set holds its unit rows (fp32 or bf16) in {@link PanelProduct}'s panels
 * instead of row by row, and its capacity is whole panels.
 *
 * <p>Scoring, per probe of the batch: one product of the unit rows with the suspects' unit rows and
 * smoothed logs side by side (cosine and the cross term of KL(r~||s~), which is affine in
 * {@code r = |r| u}), and one of the reference logs with the smoothed suspects (KL(s~||r~)), each
 * only if a requested metric needs it; the rest is combined per (suspect, reference, probe) in
 * double. Probes are split across the calling thread and the backend's workers ({@link SharedChunks}).
 */
final class CpuResidentSet implements ResidentReferences {
    private static final int INITIAL_CAPACITY = 4;
    /** Up to this many suspect columns, products run as matrix-vector products (see {@code product}). */
    private static final int SKINNY_COLUMNS = 4;
    /**
     * Probes whose products BLAS sums in float before they are added in double: long enough to
     * save most per-probe work, short enough that float rounding stays near 1e-6 of the value.
     */
    private static final int SUM_BLOCK = 16;
    /**
     * Longest run of a row one BLAS call sums in float: past it a product is split along the row
     * and the pieces added (in float too, but a few of them). Native OpenBLAS keeps many partial
     * sums in SIMD lanes; the pure-Java BLAS sums sequentially, whose rounding at D=32768 would
     * otherwise reach 1e-4 of the value and break the KL accuracy contract.
     */
    private static final int K_BLOCK = 1024;
    private static final Metric[] METRICS = Metric.values();

    private final ProbeSet set;
    private final int probes;
    private final int dim;
    private final boolean distribution;
    private final double eps;
    /** 1/(1+D*eps): smoothing maps x to (x+eps)*scale. */
    private final double scale;
    private final BLAS blas;
    private final ForkJoinPool workers;
    /** Skinny products on {@link VectorProduct} rather than BLAS's matrix-vector products. */
    private final boolean vectorProducts;
    /** The suspect rows' terms: on the Vector API where the products are too. */
    private final RowTerms rowTerms;
    /** EMBEDDING unit rows held as bf16 in {@link #unitBf16} rather than fp32 in {@link #unit} ({@code --cpu-bf16-cosine}). */
    private final boolean bf16;
    /** Unit rows in {@link PanelProduct}'s panels, multiplied by it: EMBEDDING sets where its kernel compiles. */
    private final boolean panels;

    private final Map<String, Integer> slotOf = new HashMap<>();
    private String[] idAt = new String[0];
    private int size;
    private int capacity;
    private final float[][] unit;
    private final short[][] unitBf16;
    private final float[][] logs;
    /**
     * Per probe, each slot's row norm, negative entropy of its smoothed row and argmax: by probe,
     * as the rows are, so that scoring one probe reads each reference's values side by side (slot
     * by slot they lay a probe's values 2 KiB apart at P=256).
     */
    private final double[][] norm;
    private final double[][] negEntropy;
    private final int[][] argmax;

    /** With {@code bf16Cosine}, an EMBEDDING set holds its unit rows as bf16 (a DISTRIBUTION set ignores it). */
    CpuResidentSet(ProbeSet set, BLAS blas, ForkJoinPool workers, boolean vectorProducts, boolean panelProducts,
                   boolean bf16Cosine) {
        this.set = set;
        this.probes = set.numProbes();
        this.dim = set.dim();
        this.distribution = set.kind() == ProbeSetKind.DISTRIBUTION;
        this.eps = set.smoothingEpsilon();
        this.scale = 1.0 / (1.0 + dim * eps);
        this.blas = blas;
        this.workers = workers;
        this.vectorProducts = vectorProducts;
        this.rowTerms = vectorProducts ? VectorRowTerms.INSTANCE : ScalarRowTerms.INSTANCE;
        this.bf16 = bf16Cosine && !distribution;
        this.panels = panelProducts && !distribution;
        this.unit = emptyPerProbe();
        this.unitBf16 = bf16 ? emptyHalvesPerProbe() : null;
        this.logs = distribution ? emptyPerProbe() : null;
        this.norm = new double[probes][0];
        this.negEntropy = distribution ? new double[probes][0] : null;
        this.argmax = new int[probes][0];
    }

    private float[][] emptyPerProbe() {
        float[][] a = new float[probes][];
        Arrays.fill(a, new float[0]);
        return a;
    }

    private short[][] emptyHalvesPerProbe() {
        short[][] a = new short[probes][];
        Arrays.fill(a, new short[0]);
        return a;
    }

    @Override
    public void put(String modelId, float[] rows) {
        if (rows.length != set.elements()) {
            throw new IllegalArgumentException("rows has " + rows.length + " values; expected num_probes*dim="
                    + set.elements());
        }
        Integer existing = slotOf.get(modelId);
        int slot;
        if (existing != null) {
            slot = existing;
        } else {
            ensureCapacity(size + 1);
            slot = size++;
            slotOf.put(modelId, slot);
            idAt[slot] = modelId;
        }
        fill(slot, rows);
    }

    /** Computes every precomputed form of one reference into {@code slot}. */
    private void fill(int slot, float[] rows) {
        int off = slot * dim;
        // Where the slot's unit value k lies is off + k*step: row by row, or in its panel.
        int unitOff = panels ? PanelProduct.at(slot, dim, 0) : off;
        int step = panels ? PanelProduct.WIDTH : 1;
        for (int p = 0; p < probes; p++) {
            int base = p * dim;
            double sumSq = 0;
            int best = 0;
            float bestValue = rows[base];
            for (int k = 0; k < dim; k++) {
                float v = rows[base + k];
                sumSq += (double) v * v;
                if (v > bestValue) {
                    bestValue = v;
                    best = k;
                }
            }
            double n = Math.sqrt(sumSq);
            norm[p][slot] = n;
            argmax[p][slot] = best;
            if (bf16) {
                short[] u = unitBf16[p];
                for (int k = 0; k < dim; k++) {
                    u[unitOff + k * step] = Bf16.fromFloat((float) (rows[base + k] / n));
                }
            } else {
                float[] u = unit[p];
                for (int k = 0; k < dim; k++) {
                    u[unitOff + k * step] = (float) (rows[base + k] / n);
                }
            }
            if (distribution) {
                float[] l = logs[p];
                double h = 0;
                for (int k = 0; k < dim; k++) {
                    double t = (rows[base + k] + eps) * scale;
                    double lt = Math.log(t);
                    h += t * lt;
                    l[off + k] = (float) lt;
                }
                negEntropy[p][slot] = h;
            }
        }
    }

    @Override
    public void remove(String modelId) {
        Integer slot = slotOf.remove(modelId);
        if (slot == null) {
            return;
        }
        int last = --size;
        if (slot != last) {
            move(last, slot);
            idAt[slot] = idAt[last];
            slotOf.put(idAt[slot], slot);
        }
        idAt[last] = null;
        if (size * 4 <= capacity) {
            resize(size * 2);
        }
    }

    private void move(int from, int to) {
        for (int p = 0; p < probes; p++) {
            if (panels) {
                movePanelled(p, from, to);
            } else if (bf16) {
                System.arraycopy(unitBf16[p], from * dim, unitBf16[p], to * dim, dim);
            } else {
                System.arraycopy(unit[p], from * dim, unit[p], to * dim, dim);
            }
            if (distribution) {
                System.arraycopy(logs[p], from * dim, logs[p], to * dim, dim);
                negEntropy[p][to] = negEntropy[p][from];
            }
            norm[p][to] = norm[p][from];
            argmax[p][to] = argmax[p][from];
        }
    }

    /** A slot's unit values, one k at a time: in a panel they lie {@link PanelProduct#WIDTH} apart. */
    private void movePanelled(int p, int from, int to) {
        int src = PanelProduct.at(from, dim, 0);
        int dst = PanelProduct.at(to, dim, 0);
        for (int k = 0; k < dim; k++) {
            int step = k * PanelProduct.WIDTH;
            if (bf16) {
                unitBf16[p][dst + step] = unitBf16[p][src + step];
            } else {
                unit[p][dst + step] = unit[p][src + step];
            }
        }
    }

    private void ensureCapacity(int needed) {
        if (needed <= capacity) {
            return;
        }
        // One float array per probe holds every slot, so a Java array's length bounds the slots
        // (whole panels of them where they are held in panels).
        int limit = (Integer.MAX_VALUE - 16) / dim;
        if (panels) {
            limit -= limit % PanelProduct.WIDTH;
        }
        if (needed > limit) {
            throw new ImprintException(ImprintException.Code.RESOURCE_EXHAUSTED, String.format(
                    "probe set %s holds %d references of dim=%d; the CPU backend holds at most %d at that dim",
                    set.id(), size, dim, limit));
        }
        long grown = Math.max((long) needed, Math.max(INITIAL_CAPACITY, capacity + (long) capacity / 2));
        resize((int) Math.min(grown, limit));
    }

    private void resize(int wanted) {
        // Panels are appended whole, so growing or shrinking keeps every slot where it lies.
        int newCapacity = panels ? PanelProduct.padded(wanted) : wanted;
        for (int p = 0; p < probes; p++) {
            if (bf16) {
                unitBf16[p] = Arrays.copyOf(unitBf16[p], newCapacity * dim);
            } else {
                unit[p] = Arrays.copyOf(unit[p], newCapacity * dim);
            }
            if (distribution) {
                logs[p] = Arrays.copyOf(logs[p], newCapacity * dim);
                negEntropy[p] = Arrays.copyOf(negEntropy[p], newCapacity);
            }
            norm[p] = Arrays.copyOf(norm[p], newCapacity);
            argmax[p] = Arrays.copyOf(argmax[p], newCapacity);
        }
        idAt = Arrays.copyOf(idAt, newCapacity);
        capacity = newCapacity;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public long bytesHeld() {
        long rowBytesPerSlot = (long) probes * dim * (distribution ? 2 * Float.BYTES : bf16 ? Short.BYTES : Float.BYTES);
        long metaPerSlot = (long) probes * (Double.BYTES * (distribution ? 2 : 1) + Integer.BYTES);
        return capacity * (rowBytesPerSlot + metaPerSlot);
    }

    @Override
    public BatchScores score(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe) {
        int suspects = batch.size();
        int refs = modelIds.size();
        int count = batch.probeCount();
        BatchScores out = new BatchScores(suspects, refs, count);
        for (Metric m : metrics) {
            out.values(m);
            if (perProbe) {
                out.perProbe(m);
            }
        }
        if (refs == 0 || suspects == 0 || count == 0) {
            return out;
        }
        int[] slots = new int[refs];
        for (int r = 0; r < refs; r++) {
            Integer slot = slotOf.get(modelIds.get(r));
            if (slot == null) {
                throw new IllegalArgumentException("reference " + modelIds.get(r) + " is not held in probe set "
                        + set.id());
            }
            slots[r] = slot;
        }
        double[][] perProbeOut = new double[METRICS.length][];
        if (perProbe) {
            for (Metric m : metrics) {
                perProbeOut[m.ordinal()] = out.perProbe(m);
            }
        }
        Pass pass = new Pass(batch, slots, metrics, perProbeOut, perProbe);
        // Chunks taken as threads free up, shrinking towards the end: a thread slowed by other load
        // on the machine holds back the call by one small chunk, not by half of it. The bounds
        // depend on the probe count and the threads only, so a suspect's sums are added in the same
        // order alone or in any batch.
        int[] bounds = SharedChunks.shrinkingBounds(count, workers.getParallelism());
        int chunks = bounds.length - 1;
        // A chunk writes its per-probe values straight into the output: only without them may a
        // stalled worker's chunk be run again (a late copy would write into a returned result).
        List<double[][]> parts = SharedChunks.run(workers, chunks, c -> pass.run(bounds[c], bounds[c + 1]), !perProbe);
        double[][] sums = new double[METRICS.length][];
        for (double[][] part : parts) {
            for (Metric m : metrics) {
                int o = m.ordinal();
                if (sums[o] == null) {
                    sums[o] = part[o];
                } else {
                    for (int j = 0; j < sums[o].length; j++) {
                        sums[o][j] += part[o][j];
                    }
                }
            }
        }
        for (Metric m : metrics) {
            double[] values = out.values(m);
            double[] sum = sums[m.ordinal()];
            for (int j = 0; j < values.length; j++) {
                values[j] = sum[j] / count;
            }
        }
        return out;
    }

    @Override
    public void close() {
        slotOf.clear();
        size = 0;
        resize(0);
    }

    /** One scoring call: what it computes and where it writes, shared by its probe chunks. */
    private final class Pass {
        private final SuspectBatch batch;
        private final int[] slots;
        private final Set<Metric> metrics;
        private final double[][] perProbeOut;
        private final boolean cosine;
        private final boolean klRefSuspect;
        private final boolean klSuspectRef;
        private final boolean js;
        private final boolean top1;
        private final boolean smoothedSuspect;
        /** Columns of the product with the unit rows: the unit suspect rows, then their smoothed logs. */
        private final int unitColumns;
        private final int logColumn;
        /** Slots the products cover, and the length of a product's column: whole panels where there are panels. */
        private final int held;
        /** Cosine only and no per-probe values: BLAS sums the unit products over probes. */
        private final boolean sumUnitProducts;
        /** No per-probe values: BLAS sums the log products over probes. */
        private final boolean sumLogProducts;
        /** Some metric needs a term per (suspect, reference, probe) besides what BLAS sums. */
        private final boolean perPair;

        Pass(SuspectBatch batch, int[] slots, Set<Metric> metrics, double[][] perProbeOut, boolean perProbe) {
            this.batch = batch;
            this.slots = slots;
            this.metrics = metrics;
            this.perProbeOut = perProbeOut;
            this.cosine = metrics.contains(Metric.COSINE);
            this.klRefSuspect = metrics.contains(Metric.KL_REF_SUSPECT);
            this.klSuspectRef = metrics.contains(Metric.KL_SUSPECT_REF);
            this.js = metrics.contains(Metric.JS);
            this.top1 = metrics.contains(Metric.TOP1_AGREEMENT);
            this.smoothedSuspect = klRefSuspect || klSuspectRef || js;
            int s = batch.size();
            this.logColumn = cosine ? s : 0;
            this.unitColumns = logColumn + (klRefSuspect ? s : 0);
            this.held = panels ? PanelProduct.padded(size) : size;
            this.sumUnitProducts = !perProbe && !klRefSuspect;
            this.sumLogProducts = !perProbe;
            this.perPair = (cosine && !sumUnitProducts) || klRefSuspect || (klSuspectRef && !sumLogProducts) || js
                    || top1;
        }

        /** Scores batch probes {@code from..to-1}; returns per-metric sums over them, index s*R + r. */
        double[][] run(int from, int to) {
            int suspects = batch.size();
            int refs = slots.length;
            float[] x = unitColumns > 0 ? new float[dim * unitColumns] : null;
            float[] g = unitColumns > 0 ? new float[held * unitColumns] : null;
            float[] y = klSuspectRef ? new float[dim * suspects] : null;
            // bf16 rows are multiplied from an fp32 copy (but for one column, which widens in
            // lanes): of one panel's segment at a time, or for BLAS of one probe's block.
            float[] widened = !bf16 || x == null ? null
                    : new float[panels ? PanelProduct.widenedLength(Math.min(dim, K_BLOCK)) : held * dim];
            float[] packed = panels && x != null
                    ? new float[PanelProduct.packedLength(unitColumns, Math.min(dim, K_BLOCK))] : null;
            float[] h = klSuspectRef ? new float[held * suspects] : null;
            // Room for a suspect row's smoothed logs (from 0) and values (from dim) where no product reads them.
            float[] spare = smoothedSuspect && !(klRefSuspect && klSuspectRef) ? new float[2 * dim] : null;
            double[] sNegEntropy = new double[suspects];
            double[] sNegEntropySum = new double[suspects];
            double[] sLogSum = new double[suspects];
            int[] sArgmax = new int[suspects];
            double[][] sums = new double[METRICS.length][];
            for (Metric m : metrics) {
                sums[m.ordinal()] = new double[suspects * refs];
            }
            for (int i = from; i < to; i++) {
                int p = batch.probeIndices()[i];
                for (int s = 0; s < suspects; s++) {
                    prepareSuspect(s, i, x, y, spare, sNegEntropy, sLogSum, sArgmax);
                    sNegEntropySum[s] += sNegEntropy[s];
                }
                // Summed products accumulate in float inside BLAS (beta = 1) over a block of probes.
                boolean accumulate = (i - from) % SUM_BLOCK != 0;
                if (x != null) {
                    unitProduct(p, x, unitColumns, g, sumUnitProducts && accumulate, packed, widened);
                }
                if (y != null) {
                    product(logs[p], y, suspects, h, sumLogProducts && accumulate);
                }
                if (perPair) {
                    addPairTerms(i, p, g, h, sNegEntropy, sLogSum, sArgmax, sums);
                }
                if ((i - from) % SUM_BLOCK == SUM_BLOCK - 1 || i == to - 1) {
                    flushSums(g, h, sums[Metric.COSINE.ordinal()], sums[Metric.KL_SUSPECT_REF.ordinal()],
                            sNegEntropySum);
                }
            }
            return sums;
        }

        /**
         * Adds probe p's (batch row i's) term of every pair whose metric needs one besides what the
         * products summed to the metric's {@code sums}, and records it as the probe's value when
         * per-probe values are asked. A method of its own: inside {@link #run} the JIT did not
         * inline {@link #record} ("callee uses too much stack"), and these loops took as long as
         * the products at W5.
         */
        private void addPairTerms(int i, int p, float[] g, float[] h, double[] sNegEntropy, double[] sLogSum,
                                  int[] sArgmax, double[][] sums) {
            int suspects = batch.size();
            int refs = slots.length;
            int count = batch.probeCount();
            // Suspect by suspect, each metric's sums for every reference in a row: consecutive
            // writes, and the products read along one column.
            for (int s = 0; s < suspects; s++) {
                int row = s * refs;
                if (cosine && !sumUnitProducts) {
                    double[] pp = perProbeOut[Metric.COSINE.ordinal()];
                    double[] sum = sums[Metric.COSINE.ordinal()];
                    int at = s * held;
                    for (int r = 0; r < refs; r++) {
                        record(sum, pp, row + r, i, count, g[at + slots[r]]);
                    }
                }
                if (klRefSuspect) {
                    double[] pp = perProbeOut[Metric.KL_REF_SUSPECT.ordinal()];
                    double[] sum = sums[Metric.KL_REF_SUSPECT.ordinal()];
                    int at = (logColumn + s) * held;
                    double suspectTerm = eps * sLogSum[s];
                    double[] norms = norm[p];
                    double[] negEntropies = negEntropy[p];
                    for (int r = 0; r < refs; r++) {
                        int m = slots[r];
                        double cross = (norms[m] * g[at + m] + suspectTerm) * scale;
                        record(sum, pp, row + r, i, count, negEntropies[m] - cross);
                    }
                }
                if (klSuspectRef && !sumLogProducts) {
                    double[] pp = perProbeOut[Metric.KL_SUSPECT_REF.ordinal()];
                    double[] sum = sums[Metric.KL_SUSPECT_REF.ordinal()];
                    int at = s * held;
                    for (int r = 0; r < refs; r++) {
                        record(sum, pp, row + r, i, count, sNegEntropy[s] - h[at + slots[r]]);
                    }
                }
                if (js) {
                    double[] pp = perProbeOut[Metric.JS.ordinal()];
                    double[] sum = sums[Metric.JS.ordinal()];
                    for (int r = 0; r < refs; r++) {
                        record(sum, pp, row + r, i, count, jensenShannon(slots[r], p, s, i, sNegEntropy[s]));
                    }
                }
                if (top1) {
                    double[] pp = perProbeOut[Metric.TOP1_AGREEMENT.ordinal()];
                    double[] sum = sums[Metric.TOP1_AGREEMENT.ordinal()];
                    int best = sArgmax[s];
                    int[] bests = argmax[p];
                    for (int r = 0; r < refs; r++) {
                        record(sum, pp, row + r, i, count, bests[slots[r]] == best ? 1 : 0);
                    }
                }
            }
        }

        /**
         * Adds the products BLAS summed over a block of probes to the double sums (cosine: the
         * summed unit products; KL(s~||r~): the summed suspect negative entropies minus the summed
         * log products) and clears the block's suspect entropies.
         */
        private void flushSums(float[] g, float[] h, double[] cos, double[] klsr, double[] blockNegEntropy) {
            int refs = slots.length;
            // Suspect by suspect, the references in a row: at S=256 the other order strode through
            // megabytes of sums and products a cache line per value.
            for (int s = 0; s < blockNegEntropy.length; s++) {
                int row = s * refs;
                int at = s * held;
                if (cosine && sumUnitProducts) {
                    for (int r = 0; r < refs; r++) {
                        cos[row + r] += g[at + slots[r]];
                    }
                }
                if (klSuspectRef && sumLogProducts) {
                    double entropy = blockNegEntropy[s];
                    for (int r = 0; r < refs; r++) {
                        klsr[row + r] += entropy - h[at + slots[r]];
                    }
                }
            }
            Arrays.fill(blockNegEntropy, 0);
        }

        /**
         * The product of probe p's unit rows with {@code columns} suspect columns, as {@link #product}:
         * from panels on {@link PanelProduct} (its columns packed into {@code packed}), or from rows
         * through {@link #product}; bf16 values are widened into {@code widened} on the way.
         */
        private void unitProduct(int p, float[] x, int columns, float[] c, boolean accumulate, float[] packed,
                                 float[] widened) {
            if (panels) {
                for (int k0 = 0; k0 < dim; k0 += K_BLOCK) {
                    int k = Math.min(K_BLOCK, dim - k0);
                    if (bf16) {
                        PanelProduct.multiplyBf16(unitBf16[p], dim, held, k0, k, x, columns, c, accumulate || k0 > 0,
                                packed, widened);
                    } else {
                        PanelProduct.multiply(unit[p], dim, held, k0, k, x, columns, c, accumulate || k0 > 0, packed);
                    }
                }
            } else if (bf16) {
                Bf16.widen(unitBf16[p], 0, widened, 0, held * dim);
                product(widened, x, columns, c, accumulate);
            } else {
                product(unit[p], x, columns, c, accumulate);
            }
        }

        /**
         * {@code c = a^T x} (or {@code c += a^T x} when {@code accumulate}) for the first {@code held}
         * slots of a per-probe matrix {@code a} and {@code columns} suspect columns of {@code x}.
         * Few columns go through {@link VectorProduct}, which reads each reference value once per pair
         * of them, or else through BLAS's matrix-vector products, one per column: either avoids the
         * packing a matrix product does, which costs more than the arithmetic when only a few columns
         * share each reference value.
         */
        private void product(float[] a, float[] x, int columns, float[] c, boolean accumulate) {
            for (int k0 = 0; k0 < dim; k0 += K_BLOCK) {
                int k = Math.min(K_BLOCK, dim - k0);
                float beta = accumulate || k0 > 0 ? 1f : 0f;
                if (columns <= SKINNY_COLUMNS && vectorProducts) {
                    VectorProduct.multiply(a, dim, held, k0, k, x, columns, c, beta != 0f);
                } else if (columns <= SKINNY_COLUMNS) {
                    for (int col = 0; col < columns; col++) {
                        blas.sgemv("T", k, held, 1f, a, k0, dim, x, col * dim + k0, 1, beta, c, col * held, 1);
                    }
                } else {
                    blas.sgemm("T", "N", held, columns, k, 1f, a, k0, dim, x, k0, dim, beta, c, 0, held);
                }
            }
        }

        /** Adds {@code value} to pair j's sum, and keeps it as its probe-i value when {@code perProbe} is asked. */
        private static void record(double[] sum, double[] perProbe, int j, int i, int count, double value) {
            sum[j] += value;
            if (perProbe != null) {
                perProbe[j * count + i] = value;
            }
        }

        /**
         * Writes suspect s's row i into the product operands and its per-row terms into the arrays;
         * smoothed logs or values that no product reads go to {@code spare} (logs from 0, values from dim).
         */
        private void prepareSuspect(int s, int i, float[] x, float[] y, float[] spare, double[] sNegEntropy,
                                    double[] sLogSum, int[] sArgmax) {
            float[] rows = batch.suspects().get(s);
            int base = i * dim;
            if (cosine) {
                // The unit row in float: one more rounding, ~1e-7 of each unit value.
                float inv = (float) (1 / Math.sqrt(rowTerms.sumOfSquares(rows, base, dim)));
                rowTerms.scale(rows, base, dim, inv, x, s * dim);
            }
            if (top1) {
                sArgmax[s] = rowTerms.argmax(rows, base, dim);
            }
            if (smoothedSuspect) {
                float[] logOut = klRefSuspect ? x : spare;
                int logOff = klRefSuspect ? (logColumn + s) * dim : 0;
                float[] smoothOut = klSuspectRef ? y : spare;
                int smoothOff = klSuspectRef ? s * dim : dim;
                rowTerms.smoothedLogs(rows, base, dim, eps, scale, logOut, logOff, smoothOut, smoothOff, sNegEntropy,
                        sLogSum, s);
            }
        }

        /**
         * JS of slot m and suspect s on probe p (batch row i): with a = r~ + s~,
         * {@code 1/2 (sum r~ ln r~ + sum s~ ln s~) - 1/2 sum a ln(a/2)}; r is rebuilt from its unit
         * row and norm.
         */
        private double jensenShannon(int m, int p, int s, int i, double suspectNegEntropy) {
            float[] u = unit[p];
            int off = m * dim;
            float[] rows = batch.suspects().get(s);
            int base = i * dim;
            double n = norm[p][m];
            double acc = 0;
            for (int k = 0; k < dim; k++) {
                double a = (n * u[off + k] + eps) * scale + (rows[base + k] + eps) * scale;
                acc += a * FastLog.ln(0.5 * a);
            }
            return 0.5 * (negEntropy[p][m] + suspectNegEntropy) - 0.5 * acc;
        }
    }
}
