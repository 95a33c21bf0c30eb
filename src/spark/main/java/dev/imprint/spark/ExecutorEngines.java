package dev.imprint.spark;

import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.Reference;
import dev.imprint.engine.BackendProvider;
import dev.imprint.engine.EngineInfo;
import dev.imprint.engine.ImprintEngine;
import dev.imprint.engine.ScoreBatching;
import dev.imprint.engine.SelectedBackend;
import dev.imprint.engine.cuda.CudaOptions;
import dev.imprint.store.FingerprintStore;
import dev.imprint.store.LoadReport;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * The engines of one executor JVM: one per probe set, data version and backend, opened by the first
 * task that needs it and shared by every later task of the JVM, so references are loaded (and, on
 * a GPU, copied to the device) once per executor rather than per partition or row.
 *
 * <p>Each engine scores with merging off ({@link ScoreBatching#off()}): concurrent tasks' calls are
 * never merged into one backend batch, so a suspect's numbers depend on its own batch alone, which
 * is fixed by the job's plan, not on what other tasks run at the time. When a newer version of a
 * probe set opens, the older version's engine is closed.
 */
final class ExecutorEngines {
    private static final Logger LOG = Logger.getLogger(ExecutorEngines.class.getName());
    private static final Map<Key, ImprintEngine> ENGINES = new LinkedHashMap<>();

    private ExecutorEngines() {}

    /** What an engine is opened from: the references, their version, and the backend settings. */
    record Spec(ReferenceSource source, RescoreSettings.EngineSettings settings) implements Serializable {
        private static final long serialVersionUID = 1L;

        Key key() {
            return new Key(source.probeSetId(), source.version(), settings);
        }
    }

    /** The identity of an engine in this JVM. */
    record Key(String probeSetId, String version, RescoreSettings.EngineSettings settings) {
    }

    /**
     * This JVM's engine for {@code spec}, opened and loaded on first use.
     *
     * @throws ImprintException as the backend selection (FAILED_PRECONDITION for {@code cuda}
     *     without a usable device) or {@link ReferenceSource#load}
     */
    static ImprintEngine engine(Spec spec) {
        Key key = spec.key();
        synchronized (ENGINES) {
            ImprintEngine engine = ENGINES.get(key);
            if (engine != null) {
                return engine;
            }
            List<Key> stale = new ArrayList<>();
            for (Key k : ENGINES.keySet()) {
                if (k.probeSetId().equals(key.probeSetId())) {
                    stale.add(k);
                }
            }
            for (Key k : stale) {
                LOG.info("closing the engine of probe set " + k.probeSetId() + " version " + k.version()
                        + ": version " + key.version() + " replaces it");
                ENGINES.remove(k).close();
            }
            engine = open(spec);
            ENGINES.put(key, engine);
            return engine;
        }
    }

    /** Closes every engine of this JVM (tests, and a driver that ran tasks itself in local mode). */
    static void closeAll() {
        synchronized (ENGINES) {
            ENGINES.values().forEach(ImprintEngine::close);
            ENGINES.clear();
        }
    }

    private static ImprintEngine open(Spec spec) {
        long started = System.nanoTime();
        RescoreSettings.EngineSettings s = spec.settings();
        CudaOptions cuda = CudaOptions.defaults().withBf16Cosine(s.cudaBf16Cosine());
        if (s.cudaMemoryBudget() != null) {
            cuda = cuda.withReferenceBudget(s.cudaMemoryBudget());
        }
        SelectedBackend selected = BackendProvider.select(s.backend(), cuda, s.cpuThreads(), s.cpuBf16Cosine());
        ImprintEngine engine = ImprintEngine.open(new SourceStore(spec.source()), selected, ScoreBatching.off());
        EngineInfo info = engine.info();
        LOG.info(String.format("engine for %s version %s: %d references, %d bytes resident on %s (%s), loaded in %.1f s",
                spec.source().describe(), spec.source().version(), info.referenceCount(), info.referenceBytes(),
                info.backend(), info.backendReason(), (System.nanoTime() - started) / 1e9));
        return engine;
    }

    /** A store that only loads, from a {@link ReferenceSource}; the job never writes references. */
    private static final class SourceStore implements FingerprintStore {
        private final ReferenceSource source;

        SourceStore(ReferenceSource source) {
            this.source = source;
        }

        @Override
        public LoadReport load(LoadVisitor visitor) {
            int[] references = {0};
            source.load(new LoadVisitor() {
                @Override
                public void probeSet(ProbeSet set) {
                    visitor.probeSet(set);
                }

                @Override
                public void reference(Reference reference) {
                    visitor.reference(reference);
                    references[0]++;
                }
            });
            return new LoadReport(1, references[0], List.of(), 0);
        }

        @Override
        public void saveProbeSet(ProbeSet set) {
            throw readOnly();
        }

        @Override
        public void deleteProbeSet(String probeSetId) {
            throw readOnly();
        }

        @Override
        public void saveReference(Reference reference) {
            throw readOnly();
        }

        @Override
        public void deleteReference(String probeSetId, String modelId) {
            throw readOnly();
        }

        @Override
        public String location() {
            return source.describe();
        }

        @Override
        public void close() {
        }

        private static ImprintException readOnly() {
            return ImprintException.failedPrecondition("the Spark job only reads references; it never writes them");
        }
    }
}
