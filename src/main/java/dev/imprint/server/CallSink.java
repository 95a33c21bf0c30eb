package dev.imprint.server;

/**
 * Receives the {@link CallRecord} of every call the server ends (see
 * {@link ImprintServer#recordCallsTo}). It is called on the call's thread just before its status
 * goes out, once per call, so what it writes is there by the time the client hears; it must be
 * quick, and what it throws is logged and otherwise ignored.
 */
@FunctionalInterface
public interface CallSink {
    void accept(CallRecord call);
}
