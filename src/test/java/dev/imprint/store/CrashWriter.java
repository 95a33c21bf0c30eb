package dev.imprint.store;

import dev.imprint.core.ProbeSet;
import dev.imprint.io.Fingerprints;
import java.nio.file.Path;
import java.util.Map;

/**
 * The child process of {@link ArrowFingerprintStoreCrashTest}: saves and deletes references in an
 * endless loop and prints one line per operation once the store call has returned, until killed.
 *
 * <p>Operation {@code i} acts on model {@code m<i % MODELS>}: every {@code DELETE_EVERY}-th one is
 * a delete, the others save the fingerprint generated from seed {@code i} with label seed=i.
 * Lines: {@code acked save <model> <i>} or {@code acked delete <model> <i>}.
 */
public final class CrashWriter {
    static final int MODELS = 25;
    static final int DELETE_EVERY = 7;
    static final ProbeSet SET = Fingerprints.distributionSet("crash", 64, 2048);

    private CrashWriter() {}

    /** Arguments: the data directory and the number of the first operation. */
    public static void main(String[] args) {
        Path dataDir = Path.of(args[0]);
        long first = Long.parseLong(args[1]);
        try (ArrowFingerprintStore store = ArrowFingerprintStore.open(dataDir)) {
            store.load(new FingerprintStore.LoadVisitor() {
                @Override
                public void probeSet(ProbeSet set) {
                    // The child only writes; the parent checks what was loaded.
                }

                @Override
                public void reference(dev.imprint.core.Reference reference) {
                    // As above.
                }
            });
            store.saveProbeSet(SET);
            System.out.println("acked probe-set");
            System.out.flush();
            for (long i = first; ; i++) {
                String model = model(i);
                if (isDelete(i)) {
                    store.deleteReference(SET.id(), model);
                    System.out.println("acked delete " + model + " " + i);
                } else {
                    store.saveReference(Fingerprints.reference(SET, model, Map.of("seed", Long.toString(i)), i));
                    System.out.println("acked save " + model + " " + i);
                }
                System.out.flush();
            }
        }
    }

    static String model(long op) {
        return "m" + op % MODELS;
    }

    static boolean isDelete(long op) {
        return op % DELETE_EVERY == DELETE_EVERY - 1;
    }
}
