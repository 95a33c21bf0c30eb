package dev.imprint.store;

import dev.imprint.core.TenantNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where each tenant's data lies under a data directory, so tenants are kept apart on disk:
 * <pre>
 * &lt;data-dir&gt;/&lt;probe_set_id&gt;/...                 the default tenant (tokens without a tenant)
 * &lt;data-dir&gt;/~tenants/&lt;tenant&gt;/&lt;probe_set_id&gt;/...  each named tenant, a data directory of its own
 * </pre>
 * Each tenant's directory is a whole {@link ArrowFingerprintStore} with its own lock, so the local
 * commands read one tenant by pointing {@code --data-dir} at it. The '~' keeps {@code ~tenants}
 * apart from probe-set ids, so the default tenant's store leaves it alone.
 */
public final class TenantDirectories {
    public static final String DIR = "~tenants";

    private final Path dataDir;

    public TenantDirectories(Path dataDir) {
        this.dataDir = dataDir;
    }

    /** The data directory of {@code tenant}; the data directory itself for the default tenant (null). */
    public Path of(String tenant) {
        return tenant == null ? dataDir : dataDir.resolve(DIR).resolve(TenantNames.requireValid(tenant));
    }

    /** Opens (creating if needed) the store of {@code tenant}; null for the default tenant. */
    public ArrowFingerprintStore open(String tenant) {
        return ArrowFingerprintStore.open(of(tenant));
    }

    /**
     * The named tenants that have a directory, sorted; a name that is not a valid tenant name is
     * left alone (nothing Imprint wrote).
     */
    public List<String> existing() {
        List<String> tenants = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dataDir.resolve(DIR))) {
            entries.filter(Files::isDirectory)
                    .map(p -> p.getFileName().toString())
                    .filter(TenantNames::valid)
                    .sorted()
                    .forEach(tenants::add);
        } catch (NoSuchFileException none) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the tenants in " + dataDir.resolve(DIR), e);
        }
        return tenants;
    }
}
