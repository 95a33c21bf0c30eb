package dev.imprint.metrics;

import dev.imprint.engine.DeviceInfo;
import dev.imprint.engine.EngineInfo;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The engines' state as gauges, read once per scrape and summed over the engines supplied:
 *
 * <pre>
 * imprint_probe_sets                       probe sets held
 * imprint_references                       references held
 * imprint_reference_bytes                  backend memory those references hold, precomputed forms included
 * imprint_scoring_queued_suspects          suspects waiting for a scoring batch, not those being scored
 * imprint_quarantined_files                files the store set aside as corrupt
 * imprint_device_memory_total_bytes{device}  the accelerator's memory (CUDA only)
 * imprint_device_memory_used_bytes{device}   of it in use, by any process (CUDA only)
 * </pre>
 *
 * The device is the first engine's that has one: engines of one server share it. No engine (or a
 * failure to read one, as while the server stops) reports none of these.
 */
final class EngineCollector implements MultiCollector {
    private static final Logger LOG = Logger.getLogger(EngineCollector.class.getName());

    private final Supplier<? extends Collection<EngineInfo>> engines;

    EngineCollector(Supplier<? extends Collection<EngineInfo>> engines) {
        this.engines = engines;
    }

    @Override
    public MetricSnapshots collect() {
        List<EngineInfo> infos;
        try {
            infos = List.copyOf(engines.get());
        } catch (RuntimeException e) {
            LOG.log(Level.FINE, "no engine state for this scrape: " + e, e);
            return new MetricSnapshots();
        }
        if (infos.isEmpty()) {
            return new MetricSnapshots();
        }
        long probeSets = 0;
        long references = 0;
        long bytes = 0;
        long queued = 0;
        long quarantined = 0;
        DeviceInfo device = null;
        for (EngineInfo info : infos) {
            probeSets += info.probeSetCount();
            references += info.referenceCount();
            bytes += info.referenceBytes();
            queued += info.scoringQueuedSuspects();
            quarantined += info.quarantined().size();
            device = device != null ? device : info.device();
        }
        List<MetricSnapshot> out = new ArrayList<>();
        out.add(gauge("imprint_probe_sets", "Probe sets held", null, Labels.EMPTY, probeSets));
        out.add(gauge("imprint_references", "References held, over every probe set", null, Labels.EMPTY, references));
        out.add(gauge("imprint_reference_bytes", "Backend memory held by references, precomputed forms included",
                Unit.BYTES, Labels.EMPTY, bytes));
        out.add(gauge("imprint_scoring_queued_suspects",
                "Suspects waiting for a scoring batch, not counting those being scored", null, Labels.EMPTY, queued));
        out.add(gauge("imprint_quarantined_files", "Files the store set aside as corrupt (*.corrupt)", null,
                Labels.EMPTY, quarantined));
        if (device != null) {
            Labels labels = Labels.of("device", device.name());
            out.add(gauge("imprint_device_memory_total_bytes", "The accelerator's memory", Unit.BYTES, labels,
                    device.totalBytes()));
            out.add(gauge("imprint_device_memory_used_bytes", "The accelerator's memory in use, by any process",
                    Unit.BYTES, labels, device.totalBytes() - device.freeBytes()));
        }
        return new MetricSnapshots(out);
    }

    private static GaugeSnapshot gauge(String name, String help, Unit unit, Labels labels, double value) {
        GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help)
                .dataPoint(GaugeDataPointSnapshot.builder().labels(labels).value(value).build());
        if (unit != null) {
            b.unit(unit);
        }
        return b.build();
    }
}
