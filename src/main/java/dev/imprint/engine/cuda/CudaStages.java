package dev.imprint.engine.cuda;

import static dev.imprint.engine.cuda.CudaFailures.check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * Per-stage timings of scoring calls on the CUDA backend, for {@code imprint bench --profile}:
 * for each stage, the host time (System.nanoTime) and the device time (CUDA events recorded on
 * the stream the kernels run on), per call, summed over a call's passes.
 *
 * <p>Off by default; off, each stage boundary costs one read of a field. On, each boundary
 * records one event on the lane's stream, and a call's stages are read once its passes have
 * finished on the device. Each lane records through its own {@link Recorder}, on the worker
 * thread; a host stage measured elsewhere goes through {@link #host}.
 */
public final class CudaStages {
    /**
     * The medians over calls of one stage.
     *
     * @param name          e.g. "upload_suspects"
     * @param calls         calls in which the stage ran
     * @param hostMsMedian  host wall time, milliseconds
     * @param deviceMsMedian device time between the events around the stage, milliseconds; NaN for
     *                      stages measured on the host only
     */
    public record Stage(String name, int calls, double hostMsMedian, double deviceMsMedian) {
    }

    private volatile boolean enabled;
    private final Map<String, List<double[]>> samples = new LinkedHashMap<>();

    /** Starts or stops recording; stopping keeps what was recorded. */
    public void enable(boolean on) {
        enabled = on;
    }

    /** Forgets every recorded call. */
    public synchronized void reset() {
        samples.clear();
    }

    /** The medians of every stage recorded since the last reset, in the order stages first ran. */
    public synchronized List<Stage> summary() {
        List<Stage> out = new ArrayList<>(samples.size());
        for (Map.Entry<String, List<double[]>> e : samples.entrySet()) {
            List<double[]> calls = e.getValue();
            double[] host = calls.stream().mapToDouble(c -> c[0]).toArray();
            double[] device = calls.stream().mapToDouble(c -> c[1]).toArray();
            out.add(new Stage(e.getKey(), calls.size(), median(host), median(device)));
        }
        return out;
    }

    /** One line per stage: {@code stage=NAME calls=N host_ms=X device_ms=Y}. */
    public static String line(Stage s) {
        return String.format(Locale.ROOT, "stage=%s calls=%d host_ms=%.4f device_ms=%s", s.name(), s.calls(),
                s.hostMsMedian(), Double.isNaN(s.deviceMsMedian()) ? "-" : String.format(Locale.ROOT, "%.4f",
                        s.deviceMsMedian()));
    }

    /** The median of {@code values} (the mean of the middle two for an even count); NaN when empty. */
    public static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** Records one call's host-only stage of {@code nanos}; any thread. */
    void host(String name, long nanos) {
        if (enabled) {
            add(Map.of(name, new double[] {nanos / 1e6, Double.NaN}));
        }
    }

    private synchronized void add(Map<String, double[]> call) {
        call.forEach((name, value) -> samples.computeIfAbsent(name, n -> new ArrayList<>()).add(value));
    }

    /**
     * The stages of the calls one lane runs, timed by events on its stream: a call is one or more
     * passes, each a run of laps enqueued at once and read after the pass finished, so the time
     * between passes (the caller decoding one and packing the next) counts in no stage. Worker
     * thread only.
     */
    final class Recorder {
        private final List<CUevent> events = new ArrayList<>();
        private final List<String> lapNames = new ArrayList<>();
        private long[] lapNanos = new long[16];
        /** The open call's stages summed over its finished passes. */
        private final Map<String, double[]> call = new LinkedHashMap<>();
        private final CUstream stream;
        private boolean active;

        /** A recorder of the work enqueued on {@code stream}. */
        Recorder(CUstream stream) {
            this.stream = stream;
        }

        /** Starts a call, forgetting any call that failed part way. */
        void beginCall() {
            active = enabled;
            call.clear();
        }

        /** Marks the start of a pass's device work. */
        void beginPass() {
            if (active) {
                lapNames.clear();
                mark(0);
            }
        }

        /** Marks the end of stage {@code name}, which began at the previous mark. */
        void lap(String name) {
            if (active) {
                lapNames.add(name);
                mark(lapNames.size());
            }
        }

        /** Adds the pass's stages to the call; only once every event of the pass has fired. */
        void endPass() {
            if (!active) {
                return;
            }
            float[] ms = new float[1];
            for (int k = 1; k <= lapNames.size(); k++) {
                check(JCudaDriver.cuEventElapsedTime(ms, events.get(k - 1), events.get(k)), "cuEventElapsedTime");
                double[] sum = call.computeIfAbsent(lapNames.get(k - 1), n -> new double[2]);
                sum[0] += (lapNanos[k] - lapNanos[k - 1]) / 1e6;
                sum[1] += ms[0];
            }
        }

        /** Records the call's stages. */
        void endCall() {
            if (active) {
                active = false;
                add(new LinkedHashMap<>(call));
            }
        }

        private void mark(int k) {
            while (events.size() <= k) {
                CUevent e = new CUevent();
                check(JCudaDriver.cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
                events.add(e);
            }
            if (lapNanos.length <= k) {
                lapNanos = Arrays.copyOf(lapNanos, 2 * k);
            }
            check(JCudaDriver.cuEventRecord(events.get(k), stream), "cuEventRecord");
            lapNanos[k] = System.nanoTime();
        }

        /** Destroys the events. */
        void close() {
            for (CUevent e : events) {
                JCudaDriver.cuEventDestroy(e);
            }
            events.clear();
        }
    }
}
