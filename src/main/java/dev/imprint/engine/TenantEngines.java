package dev.imprint.engine;

import dev.imprint.core.ImprintException;
import dev.imprint.store.FingerprintStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One {@link ImprintEngine} per tenant, all scoring on one shared backend: a tenant's probe sets
 * live in its own engine and its own store, so no call of one tenant can name, list or score
 * another's, and an id of another tenant is NOT_FOUND exactly as an id that does not exist.
 *
 * <p>The default tenant (null) is always open; a named tenant's engine opens at start when its
 * store exists, or on its first call. The backend is owned here and closed after every engine.
 */
public final class TenantEngines implements AutoCloseable {
    /** Opens the store of each tenant. */
    public interface Stores {
        /** Opens (creating if needed) the store of {@code tenant}; null for the default tenant. */
        FingerprintStore open(String tenant);

        /** The named tenants that have a store already. */
        List<String> existing();

        /** The stores {@code open} opens, of the tenants {@code existing} lists. */
        static Stores of(Function<String, FingerprintStore> open, Supplier<List<String>> existing) {
            return new Stores() {
                @Override
                public FingerprintStore open(String tenant) {
                    return open.apply(tenant);
                }

                @Override
                public List<String> existing() {
                    return existing.get();
                }
            };
        }
    }

    private final Stores stores;
    private final SelectedBackend selected;
    private final ScoreBatching batching;
    private final ImprintEngine defaultEngine;
    private final Map<String, ImprintEngine> named = new ConcurrentHashMap<>();
    private final List<BatchListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Object lifecycle = new Object();
    private boolean closed;

    private TenantEngines(Stores stores, SelectedBackend selected, ScoreBatching batching, ImprintEngine defaultEngine) {
        this.stores = stores;
        this.selected = selected;
        this.batching = batching;
        this.defaultEngine = defaultEngine;
    }

    /**
     * Opens the default tenant's engine and every existing tenant's, all on {@code selected}'s
     * backend, which is owned from here on (closed too if opening fails).
     */
    public static TenantEngines open(Stores stores, SelectedBackend selected, ScoreBatching batching) {
        TenantEngines engines;
        try {
            engines = new TenantEngines(stores, selected, batching, openEngine(stores, null, selected, batching));
        } catch (RuntimeException e) {
            selected.backend().close();
            throw e;
        }
        try {
            for (String tenant : stores.existing()) {
                engines.engine(tenant);
            }
        } catch (RuntimeException e) {
            engines.close();
            throw e;
        }
        return engines;
    }

    /** A single engine serving the default tenant only (it keeps no tenant stores); owned from here on. */
    public static TenantEngines single(ImprintEngine engine) {
        return new TenantEngines(null, null, null, engine);
    }

    /**
     * The engine of {@code tenant} (null: the default tenant), opening its store on first use.
     *
     * @throws ImprintException FAILED_PRECONDITION for a named tenant when this keeps no tenant
     *                          stores, UNAVAILABLE once closed, or whatever opening the store throws
     */
    public ImprintEngine engine(String tenant) {
        if (tenant == null) {
            return defaultEngine;
        }
        ImprintEngine engine = named.get(tenant);
        if (engine != null) {
            return engine;
        }
        if (stores == null) {
            throw ImprintException.failedPrecondition("this server keeps no tenants; tenant '%s' cannot be served",
                    tenant);
        }
        synchronized (lifecycle) {
            if (closed) {
                throw new ImprintException(ImprintException.Code.UNAVAILABLE, "the server is stopping");
            }
            return named.computeIfAbsent(tenant, t -> {
                ImprintEngine opened = openEngine(stores, t, selected, batching);
                listeners.forEach(opened::addBatchListener);
                return opened;
            });
        }
    }

    /** Has {@code listener} hear of every scoring batch of every tenant's engine, those opened later included. */
    public void addBatchListener(BatchListener listener) {
        synchronized (lifecycle) {
            listeners.add(listener);
            all().forEach(engine -> engine.addBatchListener(listener));
        }
    }

    /** Every open engine, the default tenant's first. */
    public List<ImprintEngine> all() {
        List<ImprintEngine> all = new ArrayList<>();
        all.add(defaultEngine);
        all.addAll(named.values());
        return all;
    }

    /** Closes every engine, then the shared backend. */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (ImprintEngine engine : named.values()) {
            engine.close();
        }
        defaultEngine.close();
        if (selected != null) {
            selected.backend().close();
        }
    }

    private static ImprintEngine openEngine(Stores stores, String tenant, SelectedBackend selected,
                                            ScoreBatching batching) {
        SelectedBackend shared = new SelectedBackend(new SharedBackend(selected.backend()), selected.reason());
        return ImprintEngine.open(stores.open(tenant), shared, batching);
    }

    /** The backend as one tenant's engine sees it: closing the engine leaves it open for the others. */
    private static final class SharedBackend extends ForwardingBackend {
        SharedBackend(ScoringBackend backend) {
            super(backend);
        }

        @Override
        public void close() {
            // The backend is TenantEngines'; it closes it after the last engine.
        }
    }
}
