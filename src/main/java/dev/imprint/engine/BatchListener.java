package dev.imprint.engine;

/**
 * Hears of every scoring batch an engine runs (see {@link ImprintEngine#addBatchListener}), for
 * metrics. It is called on the scoring thread before the batch's callers are answered, so it must
 * be quick; what it throws is logged and otherwise ignored.
 */
@FunctionalInterface
public interface BatchListener {
    /** One backend batch of {@code suspects} suspects from {@code calls} calls ran (and answered or failed them). */
    void batchScored(int calls, int suspects);
}
