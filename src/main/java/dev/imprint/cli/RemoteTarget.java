package dev.imprint.cli;

import dev.imprint.api.v1.ServerInfo;
import dev.imprint.client.ImprintClient;
import dev.imprint.client.ImprintClient.SuspectInput;
import dev.imprint.client.ScoreOptions;
import dev.imprint.client.ServerUnreachableException;
import dev.imprint.core.ProbeSet;
import dev.imprint.core.ReferenceMeta;
import dev.imprint.core.ReferenceRole;
import dev.imprint.core.ScoreResult;
import dev.imprint.tls.ClientTls;
import dev.imprint.tls.TlsFileException;
import dev.imprint.topk.ProbeAnswer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/** A running server, reached through {@link ImprintClient}. */
final class RemoteTarget implements Target {
    private final ImprintClient client;
    private final String address;

    RemoteTarget(ImprintClient client, String address) {
        this.client = client;
        this.address = address;
    }

    /**
     * Connects to {@code address} ("host:port"), over TLS as {@code tls} says or in plaintext when
     * it is null, and checks that a server answers within {@code connectTimeout}. {@code
     * callTimeout} bounds each unary call, null for none; {@code token} goes with every call, null
     * for none.
     *
     * @throws CliException "cannot reach ADDRESS: why" when none answers; naming the file when a
     *     TLS certificate or key cannot be used
     */
    static RemoteTarget connect(String address, Duration callTimeout, Duration connectTimeout, ClientTls tls,
                                String token) {
        ImprintClient client;
        try {
            client = ImprintClient.connect(address, callTimeout, tls, token);
        } catch (TlsFileException e) {
            throw new CliException(e.getMessage());
        }
        RemoteTarget target = new RemoteTarget(client, address);
        try {
            target.client.awaitServer(address, connectTimeout);
        } catch (ServerUnreachableException e) {
            target.close();
            throw new CliException(e.getMessage());
        } catch (RuntimeException e) {
            target.close();
            throw e;
        }
        return target;
    }

    @Override
    public String describe() {
        return "server " + address;
    }

    @Override
    public ProbeSet createProbeSet(ProbeSet set) {
        return client.createProbeSet(set);
    }

    @Override
    public ProbeSet getProbeSet(String probeSetId) {
        return client.getProbeSet(probeSetId);
    }

    @Override
    public ProbeSet getProbeSetWithTexts(String probeSetId) {
        return client.getProbeSet(probeSetId, true, true);
    }

    @Override
    public List<ReferenceMeta> listReferences(String probeSetId, Map<String, String> labelSelector,
                                              ReferenceRole role) {
        return client.listReferences(probeSetId, labelSelector, role);
    }

    @Override
    public void deleteReference(String probeSetId, String modelId) {
        client.deleteReference(probeSetId, modelId);
    }

    @Override
    public int deleteProbeSet(String probeSetId, boolean force) {
        return client.deleteProbeSet(probeSetId, force);
    }

    @Override
    public List<ProbeSet> listProbeSets() {
        return client.listProbeSets();
    }

    @Override
    public int referenceCount(String probeSetId) {
        return client.referenceCount(probeSetId);
    }

    @Override
    public ReferenceMeta putReference(String probeSetId, String modelId, Map<String, String> labels,
                                      ReferenceRole role, float[] rows, boolean replace) {
        return client.putReference(probeSetId, modelId, labels, role, rows, replace);
    }

    @Override
    public ReferenceMeta putReferenceTopK(String probeSetId, String modelId, Map<String, String> labels,
                                          ReferenceRole role, List<ProbeAnswer> answers, boolean replace) {
        return client.putReferenceTopK(probeSetId, modelId, labels, role, answers, replace);
    }

    @Override
    public void scoreAll(ProbeSet set, Iterable<SuspectInput> suspects, ScoreOptions options,
                         BiConsumer<SuspectInput, ScoreResult> sink) {
        client.scoreStream(set.id(), suspects, options, sink);
    }

    @Override
    public Map<String, String> info() {
        ServerInfo info = client.getServerInfo();
        Map<String, String> out = new LinkedHashMap<>();
        out.put("server", address);
        out.put("version", info.getVersion());
        out.put("data_dir", info.getDataDir());
        out.put("backend", info.getBackend());
        out.put("backend_reason", info.getBackendReason());
        dev.imprint.api.v1.DeviceInfo d = info.getDevice();
        out.put("device", !info.hasDevice() ? "none" : Target.deviceLine(d.getName(), d.getComputeCapability(),
                d.getDriverVersion(), d.getMemoryTotalBytes(), d.getMemoryFreeBytes()));
        out.put("probe_sets", Integer.toString(info.getProbeSetCount()));
        out.put("references", Integer.toString(info.getReferenceCount()));
        out.put("reference_bytes", Long.toString(info.getReferenceBytes()));
        out.put("max_inbound_message_bytes", Integer.toUnsignedString(info.getMaxInboundMessageBytes()));
        out.put("quarantined_files", info.getQuarantinedFilesCount() == 0 ? "none"
                : String.join(", ", info.getQuarantinedFilesList()));
        out.put("scoring_batches", Long.toUnsignedString(info.getScoringBatches()));
        out.put("scored_suspects", Long.toUnsignedString(info.getScoredSuspects()));
        out.put("scoring_queued", Integer.toUnsignedString(info.getScoringQueued()));
        out.put("batch_max_suspects", Integer.toUnsignedString(info.getBatchMaxSuspects()));
        out.put("batch_max_queue_delay_us", Long.toUnsignedString(info.getBatchMaxQueueDelayUs()));
        return out;
    }

    @Override
    public void close() {
        try {
            client.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
