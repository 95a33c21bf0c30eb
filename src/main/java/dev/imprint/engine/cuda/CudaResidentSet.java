package dev.imprint.engine.cuda;

import dev.imprint.core.Metric;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ProbeSetKind;
import dev.imprint.engine.BatchScores;
import dev.imprint.engine.ResidentReferences;
import dev.imprint.engine.SuspectBatch;
import dev.imprint.engine.cuda.CudaScratch.Use;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;

/**
 * The references of one probe set in device memory.
 *
 * <p>Layout: slot-major, like one contiguous matrix per precomputed form. Row (slot, probe p) of
 * the unit rows {@code r/|r|} and, for DISTRIBUTION sets, of the smoothed logs {@code ln r~} sits
 * at {@code (slot*P + p)*ld} elements, {@code ld} being dim rounded up to a multiple of 4 with zero
 * padding so kernels read 16 bytes at a time. The elements are floats, except the unit rows of an
 * EMBEDDING set on a backend with {@link CudaOptions#bf16Cosine}: those are bf16 (2 bytes), and
 * {@code ld} is rounded up to 8 so a 16-byte read is 8 whole values; suspects, always floats, use
 * the set's {@code ld}. Per (slot, probe), at {@code slot*P + p}: the norm
 * and negative entropy {@code sum r~ ln r~} in double and the argmax of the raw row. Capacity
 * grows by half again when full, so a put rarely copies; a remove moves the last slot into the
 * hole and the arrays shrink when three quarters are spare.
 *
 * <p>Scoring, per pass of suspects: upload the raw suspect rows, prepare them on the device
 * (smoothing, logs, norms, entropies, argmax), form the products (a fused kernel that reads each
 * reference row once for a few suspects, tiled SGEMM for more, cuBLAS in its place where it loads
 * and the rows are fp32), JS when asked, then combine into per-pair means (and per-probe values
 * when asked); only those come back. A call runs in one of the backend's lanes ({@link
 * CudaLane}), on its stream, so two calls' passes overlap on the device.
 */
final class CudaResidentSet implements ResidentReferences {
    private static final int INITIAL_CAPACITY = 4;
    private static final Metric[] METRICS = Metric.values();
    /**
     * Most matches per suspect ranked on the device: its selection costs k passes over the
     * references, cheap for the small top_k of a search, not for thousands.
     */
    static final int MAX_DEVICE_KEEP = 256;

    private final ProbeSet set;
    private final CudaBackend backend;
    private final CudaDevice device;
    private final int probes;
    private final int dim;
    private final int ld;
    private final boolean distribution;
    /** Whether the unit rows are bf16 bits rather than floats. */
    private final boolean bf16;
    private final double eps;
    private final double scale;

    private final Map<String, Integer> slotOf = new HashMap<>();
    private String[] idAt = new String[0];
    private int size;
    private int capacity;
    private CUdeviceptr unit;
    private CUdeviceptr logs;
    private CUdeviceptr norm;
    private CUdeviceptr negEntropy;
    private CUdeviceptr argmax;
    private boolean closed;

    CudaResidentSet(ProbeSet set, CudaBackend backend) {
        this.set = set;
        this.backend = backend;
        this.device = backend.device();
        this.probes = set.numProbes();
        this.dim = set.dim();
        this.distribution = set.kind() == ProbeSetKind.DISTRIBUTION;
        this.bf16 = !distribution && backend.bf16Cosine();
        this.ld = bf16 ? (dim + 7) & ~7 : (dim + 3) & ~3;
        this.eps = set.smoothingEpsilon();
        this.scale = 1.0 / (1.0 + dim * eps);
    }

    /** Device bytes one slot holds, precomputed forms included. */
    private long bytesPerSlot() {
        long rows = unitRowBytes() + (distribution ? floatRowBytes() : 0);
        long meta = (long) probes * (Double.BYTES * (distribution ? 2 : 1) + Integer.BYTES);
        return rows + meta;
    }

    /** Bytes of one slot's unit rows, bf16 or float. */
    private long unitRowBytes() {
        return (long) probes * ld * (bf16 ? Short.BYTES : Float.BYTES);
    }

    /** Bytes of one slot's rows of floats: its log rows, and its raw rows as staged for a put. */
    private long floatRowBytes() {
        return (long) probes * ld * Float.BYTES;
    }

    @Override
    public void put(String modelId, float[] rows) {
        if (rows.length != set.elements()) {
            throw new IllegalArgumentException("rows has " + rows.length + " values; expected num_probes*dim="
                    + set.elements());
        }
        float[] padded = CudaDevice.padRows(rows, probes, dim, ld);
        Integer existing = slotOf.get(modelId);
        int slot = existing != null ? existing : size;
        device.run(() -> {
            if (existing == null) {
                ensureCapacity(size + 1);
            }
            fill(slot, padded);
        });
        if (existing == null) {
            size++;
            slotOf.put(modelId, slot);
            idAt[slot] = modelId;
        }
    }

    /** Uploads one reference and prepares its forms into {@code slot}; worker thread. */
    private void fill(int slot, float[] padded) {
        CUdeviceptr staging = backend.scratch().get(Use.STAGING, floatRowBytes());
        device.upload(staging, 0, padded);
        CUdeviceptr unitRows = unit.withByteOffset(slot * unitRowBytes());
        long meta = (long) slot * probes;
        device.launch(null, device.kernels().prepareRows, "imprint_prepare_rows", CudaDevice.blocksForItems(probes), 1,
                1,
                staging, probes, dim, ld, eps, scale, distribution ? 1 : 0,
                bf16 ? null : unitRows, bf16 ? unitRows : null, null,
                distribution ? logs.withByteOffset(slot * floatRowBytes()) : null,
                norm.withByteOffset(meta * Double.BYTES),
                distribution ? negEntropy.withByteOffset(meta * Double.BYTES) : null, null,
                argmax.withByteOffset(meta * Integer.BYTES));
        device.synchronize("preparing a reference");
    }

    private void ensureCapacity(int needed) {
        if (needed <= capacity) {
            return;
        }
        long grown = Math.max(needed, Math.max(INITIAL_CAPACITY, capacity + (long) capacity / 2));
        int newCapacity = (int) Math.min(Integer.MAX_VALUE - 8, grown);
        try {
            resize(newCapacity);
        } catch (dev.imprint.core.ImprintException e) {
            if (newCapacity == needed) {
                throw e;
            }
            // Spare room is a convenience: near the budget, grow to exactly what is needed.
            resize(needed);
        }
    }

    /** Moves the slots 0..size-1 into arrays of {@code newCapacity} slots; worker thread. */
    private void resize(int newCapacity) {
        long delta = (newCapacity - (long) capacity) * bytesPerSlot();
        if (delta > 0) {
            backend.reserve(set.id(), delta, newCapacity);
        }
        CUdeviceptr newUnit = null;
        CUdeviceptr newLogs = null;
        CUdeviceptr newNorm = null;
        CUdeviceptr newNegEntropy = null;
        CUdeviceptr newArgmax = null;
        try {
            if (newCapacity > 0) {
                newUnit = device.alloc(newCapacity * unitRowBytes());
                newNorm = device.alloc((long) newCapacity * probes * Double.BYTES);
                newArgmax = device.alloc((long) newCapacity * probes * Integer.BYTES);
                if (distribution) {
                    newLogs = device.alloc(newCapacity * floatRowBytes());
                    newNegEntropy = device.alloc((long) newCapacity * probes * Double.BYTES);
                }
                device.copy(newUnit, 0, unit, 0, size * unitRowBytes());
                device.copy(newNorm, 0, norm, 0, (long) size * probes * Double.BYTES);
                device.copy(newArgmax, 0, argmax, 0, (long) size * probes * Integer.BYTES);
                if (distribution) {
                    device.copy(newLogs, 0, logs, 0, size * floatRowBytes());
                    device.copy(newNegEntropy, 0, negEntropy, 0, (long) size * probes * Double.BYTES);
                }
            }
        } catch (RuntimeException e) {
            for (CUdeviceptr p : new CUdeviceptr[] {newUnit, newLogs, newNorm, newNegEntropy, newArgmax}) {
                device.free(p);
            }
            if (delta > 0) {
                backend.release(delta);
            }
            throw e;
        }
        if (size > 0) {
            // The copies run on the device after this returns: let them read the old arrays first.
            device.synchronize("copying references to their new arrays");
        }
        freeArrays();
        unit = newUnit;
        logs = newLogs;
        norm = newNorm;
        negEntropy = newNegEntropy;
        argmax = newArgmax;
        if (delta < 0) {
            backend.release(-delta);
        }
        capacity = newCapacity;
        idAt = Arrays.copyOf(idAt, newCapacity);
    }

    private void freeArrays() {
        for (CUdeviceptr p : new CUdeviceptr[] {unit, logs, norm, negEntropy, argmax}) {
            device.free(p);
        }
        unit = null;
        logs = null;
        norm = null;
        negEntropy = null;
        argmax = null;
    }

    @Override
    public void remove(String modelId) {
        Integer slot = slotOf.remove(modelId);
        if (slot == null) {
            return;
        }
        int last = size - 1;
        device.run(() -> {
            if (slot != last) {
                move(last, slot);
            }
            if (last * 4 <= capacity) {
                resize(last * 2);
            }
        });
        size = last;
        if (slot != last) {
            idAt[slot] = idAt[last];
            slotOf.put(idAt[slot], slot);
        }
        if (last < idAt.length) {
            idAt[last] = null;
        }
    }

    /** Copies every form of slot {@code from} over slot {@code to}; worker thread. */
    private void move(int from, int to) {
        long ub = unitRowBytes();
        long fb = floatRowBytes();
        long metaFrom = (long) from * probes;
        long metaTo = (long) to * probes;
        device.copy(unit, to * ub, unit, from * ub, ub);
        device.copy(norm, metaTo * Double.BYTES, norm, metaFrom * Double.BYTES, (long) probes * Double.BYTES);
        device.copy(argmax, metaTo * Integer.BYTES, argmax, metaFrom * Integer.BYTES, (long) probes * Integer.BYTES);
        if (distribution) {
            device.copy(logs, to * fb, logs, from * fb, fb);
            device.copy(negEntropy, metaTo * Double.BYTES, negEntropy, metaFrom * Double.BYTES,
                    (long) probes * Double.BYTES);
        }
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public long bytesHeld() {
        return capacity * bytesPerSlot();
    }

    /** Slots of the references as allocated, for tests of growth and compaction. */
    int capacity() {
        return capacity;
    }

    @Override
    public BatchScores score(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe) {
        return score(batch, modelIds, metrics, perProbe, null, 0);
    }

    /**
     * Ranks on the device and downloads only each suspect's {@code k} closest pairs, for k up to
     * {@value #MAX_DEVICE_KEEP}; more are ranked on the host from every pair's values.
     */
    @Override
    public BatchScores scoreClosest(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe,
                                    Metric orderBy, int k) {
        return k <= MAX_DEVICE_KEEP ? score(batch, modelIds, metrics, perProbe, orderBy, k)
                : score(batch, modelIds, metrics, perProbe, null, 0);
    }

    /** Scores every pair, or with {@code keep > 0} only each suspect's {@code keep} closest under {@code orderBy}. */
    private BatchScores score(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe,
                              Metric orderBy, int keep) {
        BatchScores out = new BatchScores(batch.size(), modelIds.size(), batch.probeCount());
        metrics.forEach(m -> {
            out.values(m);
            if (perProbe) {
                out.perProbe(m);
            }
        });
        if (!modelIds.isEmpty() && batch.size() > 0 && batch.probeCount() > 0) {
            CudaStages stages = backend.stages();
            long start = System.nanoTime();
            int[] slots = modelIds.stream().mapToInt(this::slotOf).toArray();
            long looked = System.nanoTime();
            stages.host("look_up_slots", looked - start);
            CudaLane lane = backend.acquireLane();
            try {
                stages.host("wait_for_lane", System.nanoTime() - looked);
                new Call(batch, slots, metrics, perProbe, orderBy, keep, out, lane).run(stages);
            } finally {
                backend.releaseLane(lane);
            }
        }
        return out;
    }

    /** {@code value} rounded up to a multiple of {@code alignment}, a power of two. */
    private static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }

    private int slotOf(String modelId) {
        Integer slot = slotOf.get(modelId);
        if (slot == null) {
            throw new IllegalArgumentException("reference " + modelId + " is not held in probe set " + set.id());
        }
        return slot;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                device.run(() -> resize(0));
            } catch (RuntimeException e) {
                // The backend closed first; its context took this memory with it.
            }
            slotOf.clear();
            size = 0;
            capacity = 0;
        }
    }

    /**
     * One scoring call in one lane, in passes of at most {@code perPass} suspects. Per pass, the
     * caller packs the suspects into the lane's page-locked buffer, the worker enqueues the
     * upload, the kernels and the download of the scores into the same buffer on the lane's
     * stream, and once they have run the caller decodes the scores from there. What does not fit
     * the buffer goes the synchronous way instead: uploaded by the worker from the heap, or
     * downloaded by it once the pass has run.
     */
    private final class Call {
        private final SuspectBatch batch;
        private final int[] slots;
        private final boolean perProbe;
        /** The ranking metric and how many closest pairs per suspect to keep; keep 0 keeps every pair. */
        private final Metric orderBy;
        private final int keep;
        private final BatchScores out;
        private final CudaLane lane;
        private final int metricBits;
        /** The lowest and highest ordinals of the asked metrics. */
        private final int lo;
        private final int hi;
        private final boolean cosine;
        private final boolean klRefSuspect;
        private final boolean klSuspectRef;
        private final boolean js;
        private final int refs;
        private final int count;
        /** Suspects per pass: as many as the lane's scratch holds. */
        private final int perPass;
        /** Bytes of the slots and batch probes at the start of the lane's buffer; suspects follow. */
        private final long headerBytes;
        /** The scored slots and batch probes on the device, uploaded by the first pass; worker only. */
        private CUdeviceptr slotBuf;
        private CUdeviceptr probeBuf;
        /** A pass's scores when they did not fit the lane's buffer, downloaded by the worker. */
        private ByteBuffer downloaded;
        private long packNanos;
        private long enqueueNanos;
        private long waitNanos;
        private long decodeNanos;

        Call(SuspectBatch batch, int[] slots, Set<Metric> metrics, boolean perProbe, Metric orderBy, int keep,
             BatchScores out, CudaLane lane) {
            this.batch = batch;
            this.slots = slots;
            this.perProbe = perProbe;
            this.orderBy = orderBy;
            this.keep = keep;
            this.out = out;
            this.lane = lane;
            int bits = 0;
            for (Metric m : metrics) {
                bits |= 1 << m.ordinal();
            }
            this.metricBits = bits;
            this.lo = Integer.numberOfTrailingZeros(bits);
            this.hi = 31 - Integer.numberOfLeadingZeros(bits);
            this.cosine = metrics.contains(Metric.COSINE);
            this.klRefSuspect = metrics.contains(Metric.KL_REF_SUSPECT);
            this.klSuspectRef = metrics.contains(Metric.KL_SUSPECT_REF);
            this.js = metrics.contains(Metric.JS);
            this.refs = slots.length;
            this.count = batch.probeCount();
            this.perPass = (int) Math.max(1, Math.min(batch.size(), backend.scratchBytes() / bytesPerSuspect()));
            this.headerBytes = alignUp((long) (refs + count) * Integer.BYTES, 256);
        }

        /** Device bytes one suspect of a pass needs in scratch. */
        private long bytesPerSuspect() {
            long n = count;
            long planes = 3 * n * ld * Float.BYTES;
            long terms = n * (3 * Double.BYTES + Integer.BYTES);
            long dotRows = backend.blas() != null && !bf16 ? Math.max(refs, size) : refs;
            long dots = n * dotRows * Float.BYTES * 4L;
            long means = (long) METRICS.length * refs * Double.BYTES;
            long pp = perProbe ? (long) METRICS.length * refs * n * Double.BYTES : 0;
            return planes + terms + dots + means + pp;
        }

        /** Runs the passes; the caller's thread. */
        void run(CudaStages stages) {
            for (int first = 0; first < batch.size(); first += perPass) {
                runPass(first, Math.min(perPass, batch.size() - first));
            }
            stages.host("pack_suspects_on_caller", packNanos);
            stages.host("enqueue_on_worker", enqueueNanos);
            stages.host("wait_for_device", waitNanos);
            stages.host("decode_scores", decodeNanos);
        }

        private void runPass(int first, int sb) {
            long t0 = System.nanoTime();
            boolean headerPacked = first == 0 && headerBytes <= lane.bufferBytes();
            if (headerPacked) {
                ByteBuffer header = lane.buffer(0, headerBytes);
                header.asIntBuffer().put(slots).put(batch.probeIndices(), 0, count);
            }
            long suspectBytes = (long) sb * count * ld * Float.BYTES;
            boolean suspectsPacked = headerBytes + suspectBytes <= lane.bufferBytes();
            if (suspectsPacked) {
                CudaDevice.pack(lane.buffer(headerBytes, suspectBytes), batch.suspects(), first, sb, count, dim, ld);
            }
            long t1 = System.nanoTime();
            boolean last = first + sb == batch.size();
            CompletableFuture<Void> done = device.call(() -> enqueue(first, sb, headerPacked, suspectsPacked, last));
            long t2 = System.nanoTime();
            CudaDevice.await(done);
            long t3 = System.nanoTime();
            decode(first, sb);
            long t4 = System.nanoTime();
            packNanos += t1 - t0;
            enqueueNanos += t2 - t1;
            waitNanos += t3 - t2;
            decodeNanos += t4 - t3;
        }

        /**
         * Enqueues one pass on the lane's stream and returns when it will have finished; worker
         * thread. On a failure part way, waits for what it enqueued, so the lane is idle again.
         */
        private CompletableFuture<Void> enqueue(int first, int sb, boolean headerPacked, boolean suspectsPacked,
                                                boolean last) {
            CudaStages.Recorder stages = lane.recorder();
            if (first == 0) {
                stages.beginCall();
            }
            stages.beginPass();
            try {
                if (first == 0) {
                    uploadSlotsAndProbes(headerPacked);
                    stages.lap("upload_slots_and_probes");
                }
                DeviceScores scores = launchKernels(first, sb, suspectsPacked, stages);
                boolean scoresFit = scoreBytes(sb) <= lane.bufferBytes();
                if (scoresFit) {
                    downloadScores(sb, scores, lane::download);
                    stages.lap("download_scores");
                }
                return lane.whenDone(() -> {
                    downloaded = null;
                    if (!scoresFit) {
                        ByteBuffer into = ByteBuffer.allocateDirect(Math.toIntExact(scoreBytes(sb)))
                                .order(ByteOrder.nativeOrder());
                        Pointer at = Pointer.to(into);
                        downloadScores(sb, scores,
                                (to, src, srcOffset, bytes) -> device.download(at.withByteOffset(to), src, srcOffset, bytes));
                        downloaded = into;
                    }
                    stages.endPass();
                    if (last) {
                        stages.endCall();
                    }
                });
            } catch (RuntimeException e) {
                lane.drain();
                throw e;
            }
        }

        private void uploadSlotsAndProbes(boolean packed) {
            slotBuf = lane.scratch().get(Use.SLOTS, (long) refs * Integer.BYTES);
            probeBuf = lane.scratch().get(Use.PROBES, (long) count * Integer.BYTES);
            if (packed) {
                lane.upload(slotBuf, 0, 0, (long) refs * Integer.BYTES);
                lane.upload(probeBuf, 0, (long) refs * Integer.BYTES, (long) count * Integer.BYTES);
            } else {
                device.upload(slotBuf, 0, Pointer.to(slots), (long) refs * Integer.BYTES);
                device.upload(probeBuf, 0, Pointer.to(batch.probeIndices()), (long) count * Integer.BYTES);
            }
        }

        /**
         * Where a pass leaves its scores on the device: per metric ordinal, every pair's means and,
         * when asked, per-probe values; for a top_k query also the kept pairs' indices and values.
         */
        private record DeviceScores(CUdeviceptr means, CUdeviceptr perProbe, CUdeviceptr kept,
                                    CUdeviceptr keptValues) {
        }

        /**
         * Enqueues the pass's suspect upload and every kernel up to the per-pair means, and, for a
         * top_k query, the selection of the kept pairs.
         */
        private DeviceScores launchKernels(int first, int sb, boolean suspectsPacked, CudaStages.Recorder stages) {
            CudaScratch scratch = lane.scratch();
            CudaKernels k = device.kernels();
            long n = count;
            long plane = (long) sb * n * ld;
            CUdeviceptr susp = scratch.get(Use.SUSPECTS, 3 * plane * Float.BYTES);
            if (suspectsPacked) {
                lane.upload(susp, 0, headerBytes, plane * Float.BYTES);
            } else {
                device.uploadRows(susp, batch.suspects(), first, sb, count, dim, ld);
            }
            stages.lap("upload_suspects");
            long rows = (long) sb * n;
            CUdeviceptr terms = scratch.get(Use.SUSPECT_TERMS, 3 * rows * Double.BYTES);
            CUdeviceptr sArgmax = scratch.get(Use.SUSPECT_ARGMAX, rows * Integer.BYTES);
            CUdeviceptr sNorm = terms;
            CUdeviceptr sNegEntropy = terms.withByteOffset(rows * Double.BYTES);
            CUdeviceptr sLogSum = terms.withByteOffset(2 * rows * Double.BYTES);
            CUdeviceptr sLogs = susp.withByteOffset(plane * Float.BYTES);
            CUdeviceptr sSmooth = susp.withByteOffset(2 * plane * Float.BYTES);
            boolean needLogs = klRefSuspect || js;
            boolean needSmooth = klSuspectRef || js;
            lane.launch(k.prepareRows, "imprint_prepare_rows", CudaDevice.blocksForItems(rows), 1, 1,
                    susp, (int) rows, dim, ld, eps, scale, distribution ? 1 : 0,
                    null, null, needSmooth ? sSmooth : null, needLogs ? sLogs : null,
                    sNorm, distribution ? sNegEntropy : null, distribution ? sLogSum : null, sArgmax);
            stages.lap("prepare_suspects_kernel");

            int want = (cosine ? 1 : 0) | (klRefSuspect ? 2 : 0) | (klSuspectRef ? 4 : 0);
            CUfunction fused = k.fusedFor(sb, bf16);
            // cuBLAS cannot gather the selected slots, so it multiplies every held one; it takes no
            // bf16 A with fp32 B, so bf16 rows stay with our SGEMM.
            boolean viaBlas = want != 0 && fused == null && backend.blas() != null && !bf16;
            int dotRows = viaBlas ? size : refs;
            CUdeviceptr dotUnit = scratch.get(Use.DOT_UNIT, n * 2 * sb * dotRows * Float.BYTES);
            CUdeviceptr dotLog = scratch.get(Use.DOT_LOG, n * sb * dotRows * Float.BYTES);
            if (want != 0) {
                if (fused != null && bf16) {
                    // EMBEDDING sets are scored by COSINE alone: the one product of the bf16 kernel.
                    lane.launch(fused, "imprint_fused_cosine_bf16", CudaDevice.blocksForWarps((long) refs * n), 1, 1,
                            unit, slotBuf, refs, probeBuf, count, probes, ld, susp, sb, dotUnit);
                    stages.lap("fused_products_kernel");
                } else if (fused != null) {
                    lane.launch(fused, "imprint_fused_dots", CudaDevice.blocksForWarps((long) refs * n), 1, 1,
                            (want & 3) != 0 ? unit : null, (want & 4) != 0 ? logs : null, slotBuf, refs, probeBuf,
                            count, probes, ld, susp, sb, want, dotUnit, dotLog);
                    stages.lap("fused_products_kernel");
                } else {
                    products(want, sb, susp, new Operands(slotBuf, probeBuf, dotRows, viaBlas), dotUnit, dotLog);
                    stages.lap(viaBlas ? "cublas_products" : "sgemm_products_kernel");
                }
            }
            CUdeviceptr jsBuf = null;
            if (js) {
                jsBuf = scratch.get(Use.JS, n * sb * refs * Float.BYTES);
                lane.launch(k.js, "imprint_js", CudaDevice.blocksForWarps((long) refs * n * sb), 1, 1,
                        unit, logs, norm, slotBuf, refs, probeBuf, count, probes, ld, dim, eps, scale, susp, sb, jsBuf);
                stages.lap("js_kernel");
            }
            long pairs = (long) sb * refs;
            CUdeviceptr means = scratch.get(Use.MEANS, METRICS.length * pairs * Double.BYTES);
            CUdeviceptr perProbeBuf = perProbe ? scratch.get(Use.PER_PROBE, METRICS.length * pairs * n * Double.BYTES)
                    : null;
            long tiles = (long) sb * ((refs + 31) / 32);
            lane.launch(k.combine, "imprint_combine", CudaDevice.blocksForItems(tiles), 1, 1,
                    sb, refs, count, probes, metricBits, perProbe ? 1 : 0, slotBuf, probeBuf,
                    norm, negEntropy, argmax, sNorm, distribution ? sNegEntropy : null,
                    distribution ? sLogSum : null, sArgmax, dotUnit, dotLog, dotRows, viaBlas ? 1 : 0, jsBuf, eps, scale,
                    means, perProbeBuf);
            stages.lap("combine_kernel");
            DeviceScores scores = new DeviceScores(means, perProbeBuf, null, null);
            return keep > 0 ? selectKept(sb, scores, stages) : scores;
        }

        /**
         * Enqueues the ranking of each suspect's pairs on the device and the gathering of the
         * {@code keep} closest pairs' indices and values.
         */
        private DeviceScores selectKept(int sb, DeviceScores all, CudaStages.Recorder stages) {
            CudaKernels k = device.kernels();
            long pairs = (long) sb * refs;
            long kept = (long) sb * keep;
            CudaScratch scratch = lane.scratch();
            CUdeviceptr keptBuf = scratch.get(Use.KEPT, kept * Integer.BYTES);
            lane.launch(k.closest, "imprint_closest", CudaDevice.blocksForItems(sb), 1, 1,
                    all.means().withByteOffset(orderBy.ordinal() * pairs * Double.BYTES), sb, refs, keep,
                    orderBy.higherIsCloser() ? 1 : 0, keptBuf);
            stages.lap("closest_kernel");
            long inner = perProbe ? count : 1;
            long meansBytes = METRICS.length * kept * Double.BYTES;
            CUdeviceptr keptValues = scratch.get(Use.KEPT_VALUES, meansBytes * (perProbe ? 1 + count : 1));
            CUdeviceptr keptPerProbe = perProbe ? keptValues.withByteOffset(meansBytes) : null;
            lane.launch(k.gatherKept, "imprint_gather_kept",
                    CudaDevice.blocksForThreads(METRICS.length * kept * inner), 1, 1,
                    all.means(), all.perProbe(), metricBits, sb, refs, count, keep, keptBuf, keptValues, keptPerProbe);
            stages.lap("gather_kept_kernel");
            return new DeviceScores(all.means(), all.perProbe(), keptBuf, keptValues);
        }

        /** A copy of {@code bytes} from {@code src + srcOffset} to byte {@code to} of a pass's scores. */
        private interface ScoreCopy {
            void copy(long to, CUdeviceptr src, long srcOffset, long bytes);
        }

        /**
         * The layout of a pass's scores, as downloaded: for every pair, the asked metrics' means
         * from the first asked ordinal to the last, one slice per ordinal, then their per-probe
         * values likewise; for a top_k query, the kept pairs' indices, then the kept pairs' means
         * and per-probe values so.
         */
        private long scoreBytes(int sb) {
            long slices = hi - lo + 1;
            long inner = perProbe ? 1 + count : 1;
            if (keep > 0) {
                long kept = (long) sb * keep;
                return keptValuesAt(kept) + slices * kept * inner * Double.BYTES;
            }
            return slices * sb * refs * inner * Double.BYTES;
        }

        private static long keptValuesAt(long kept) {
            return alignUp(kept * Integer.BYTES, Double.BYTES);
        }

        /** Copies a pass's scores into the layout of {@link #scoreBytes} through {@code copy}. */
        private void downloadScores(int sb, DeviceScores scores, ScoreCopy copy) {
            long slices = hi - lo + 1;
            long n = count;
            if (keep > 0) {
                long kept = (long) sb * keep;
                copy.copy(0, scores.kept(), 0, kept * Integer.BYTES);
                long meansBytes = METRICS.length * kept * Double.BYTES;
                long at = keptValuesAt(kept);
                copy.copy(at, scores.keptValues(), lo * kept * Double.BYTES, slices * kept * Double.BYTES);
                if (perProbe) {
                    copy.copy(at + slices * kept * Double.BYTES, scores.keptValues(),
                            meansBytes + lo * kept * n * Double.BYTES, slices * kept * n * Double.BYTES);
                }
                return;
            }
            long pairs = (long) sb * refs;
            copy.copy(0, scores.means(), lo * pairs * Double.BYTES, slices * pairs * Double.BYTES);
            if (perProbe) {
                copy.copy(slices * pairs * Double.BYTES, scores.perProbe(), lo * pairs * n * Double.BYTES,
                        slices * pairs * n * Double.BYTES);
            }
        }

        /** Copies a finished pass's scores into {@code out}; the caller's thread. */
        private void decode(int first, int sb) {
            ByteBuffer scores = downloaded != null ? downloaded : lane.buffer(0, scoreBytes(sb));
            long slices = hi - lo + 1;
            int n = count;
            if (keep > 0) {
                long kept = (long) sb * keep;
                IntBuffer order = scores.asIntBuffer();
                long at = keptValuesAt(kept);
                DoubleBuffer values = scores.slice(Math.toIntExact(at), Math.toIntExact(scores.capacity() - at))
                        .order(scores.order()).asDoubleBuffer();
                long perProbeAt = slices * kept;
                int[] closestFirst = new int[keep];
                for (int s = 0; s < sb; s++) {
                    order.get(s * keep, closestFirst);
                    for (Metric m : METRICS) {
                        if ((metricBits & (1 << m.ordinal())) == 0) {
                            continue;
                        }
                        long slice = (m.ordinal() - lo) * kept;
                        for (int j = 0; j < keep; j++) {
                            int pair = Math.toIntExact((long) (first + s) * refs + closestFirst[j]);
                            int from = Math.toIntExact(slice + (long) s * keep + j);
                            out.values(m)[pair] = values.get(from);
                            if (perProbe) {
                                values.get(Math.toIntExact(perProbeAt + (long) from * n), out.perProbe(m),
                                        Math.toIntExact((long) pair * n), n);
                            }
                        }
                    }
                    out.keep(first + s, closestFirst.clone());
                }
                return;
            }
            DoubleBuffer values = scores.asDoubleBuffer();
            long pairs = (long) sb * refs;
            for (Metric m : METRICS) {
                if ((metricBits & (1 << m.ordinal())) == 0) {
                    continue;
                }
                int slice = m.ordinal() - lo;
                values.get(Math.toIntExact(slice * pairs), out.values(m), first * refs, (int) pairs);
                if (perProbe) {
                    values.get(Math.toIntExact(slices * pairs + slice * pairs * n), out.perProbe(m),
                            Math.toIntExact((long) first * refs * n), Math.toIntExact(pairs * n));
                }
            }
        }

        /** Where a pass's products read and write: the scored slots, the batch probes, the dot rows. */
        private record Operands(CUdeviceptr slots, CUdeviceptr probes, int dotRows, boolean viaBlas) {
        }

        /** The products by SGEMM (cuBLAS or ours), for more suspects than the fused kernels take. */
        private void products(int want, int sb, CUdeviceptr susp, Operands o, CUdeviceptr dotUnit, CUdeviceptr dotLog) {
            long colStride = (long) count * ld;
            long plane = sb * colStride;
            if ((want & 3) != 0) {
                // Raw suspects and their logs are adjacent planes: one product serves cosine and KL(r~||s~).
                int firstColumn = (want & 1) != 0 ? 0 : sb;
                int cols = ((want & 1) != 0 ? sb : 0) + ((want & 2) != 0 ? sb : 0);
                sgemm(o, unit, susp.withByteOffset(firstColumn * colStride * Float.BYTES), cols, colStride,
                        dotUnit.withByteOffset((long) firstColumn * o.dotRows() * Float.BYTES), 2L * sb * o.dotRows());
            }
            if ((want & 4) != 0) {
                sgemm(o, logs, susp.withByteOffset(2 * plane * Float.BYTES), sb, colStride, dotLog,
                        (long) sb * o.dotRows());
            }
        }

        /**
         * For every batch probe i, C_i[row][j] = A(row, probes[i]) . B_j(i): rows are the scored
         * slots with our kernel, every held slot with cuBLAS.
         */
        private void sgemm(Operands o, CUdeviceptr a, CUdeviceptr b, int cols, long colStride, CUdeviceptr c,
                           long cProbeStride) {
            if (o.viaBlas()) {
                CUdeviceptr tables = lane.scratch().get(Use.POINTERS, 3L * count * Long.BYTES);
                CUdeviceptr aTable = tables;
                CUdeviceptr bTable = tables.withByteOffset((long) count * Long.BYTES);
                CUdeviceptr cTable = tables.withByteOffset(2L * count * Long.BYTES);
                pointerTable(aTable, a, o.probes(), ld);
                pointerTable(bTable, b, null, ld);
                pointerTable(cTable, c, null, cProbeStride);
                backend.blas().sgemmBatchedTn(lane.stream(), size, cols, ld, aTable, probes * ld, bTable, Math.toIntExact(colStride),
                        cTable, o.dotRows(), count);
                return;
            }
            int gridX = (refs + 127) / 128;
            int gridY = (cols + 63) / 64;
            int gridZ = Math.min(count, 65535);
            CudaKernels k = device.kernels();
            lane.launch(bf16 ? k.sgemmBf16 : k.sgemm, bf16 ? "imprint_sgemm_tn_bf16" : "imprint_sgemm_tn",
                    gridX, gridY, gridZ,
                    a, o.slots(), refs, (long) probes * ld, o.probes(), count, ld, b, cols, colStride, c, cProbeStride,
                    refs);
        }

        private void pointerTable(CUdeviceptr table, CUdeviceptr base, CUdeviceptr probeList, long stride) {
            lane.launch(device.kernels().pointerTable, "imprint_pointer_table", CudaDevice.blocksForThreads(count), 1, 1,
                    table, base, probeList, count, stride);
        }
    }
}
