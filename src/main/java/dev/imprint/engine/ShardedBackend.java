package dev.imprint.engine;

import dev.imprint.core.ProbeSet;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One backend over several, each holding a share of every probe set's references: several GPUs in
 * one host, each a backend of its own. A reference lives on one shard ({@link ShardedResidentSet}
 * places it); a score asks every shard holding a selected reference at once and merges their
 * answers exactly, so the engine sees one backend whose memory is the sum of the shards'.
 */
public final class ShardedBackend implements ScoringBackend {
    private final List<ScoringBackend> shards;
    private final ExecutorService scoring;

    /** @param shards two or more backends, owned from here on */
    public ShardedBackend(List<ScoringBackend> shards) {
        if (shards.size() < 2) {
            throw new IllegalArgumentException("a sharded backend needs at least 2 shards; got " + shards.size());
        }
        this.shards = List.copyOf(shards);
        AtomicInteger count = new AtomicInteger();
        this.scoring = Executors.newCachedThreadPool(task -> {
            Thread t = new Thread(task, "imprint-shard-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** The shards, in device order. */
    public List<ScoringBackend> shards() {
        return shards;
    }

    @Override
    public String name() {
        return shards.get(0).name();
    }

    @Override
    public ResidentReferences createResidentSet(ProbeSet set) {
        List<ResidentReferences> parts = new ArrayList<>(shards.size());
        try {
            for (ScoringBackend shard : shards) {
                parts.add(shard.createResidentSet(set));
            }
        } catch (RuntimeException e) {
            parts.forEach(ResidentReferences::close);
            throw e;
        }
        return new ShardedResidentSet(parts, scoring);
    }

    /** A batch spans every shard, so as many run at once as the least of them allows. */
    @Override
    public int batchesInFlight() {
        return shards.stream().mapToInt(ScoringBackend::batchesInFlight).min().orElse(1);
    }

    /**
     * The devices as one: the first one's name with the count ("2 x NVIDIA H200"), the lowest
     * compute capability and driver version, and the memory of all; null when no shard has a device.
     */
    @Override
    public DeviceInfo deviceInfo() {
        List<DeviceInfo> devices = shards.stream().map(ScoringBackend::deviceInfo)
                .filter(java.util.Objects::nonNull).toList();
        if (devices.isEmpty()) {
            return null;
        }
        DeviceInfo first = devices.get(0);
        String name = devices.stream().allMatch(d -> d.name().equals(first.name()))
                ? devices.size() + " x " + first.name()
                : String.join(" + ", devices.stream().map(DeviceInfo::name).toList());
        String capability = devices.stream().map(DeviceInfo::computeCapability).min(String::compareTo).orElseThrow();
        String driver = devices.stream().map(DeviceInfo::driverVersion).min(String::compareTo).orElseThrow();
        return new DeviceInfo(name, capability, driver, devices.stream().mapToLong(DeviceInfo::totalBytes).sum(),
                devices.stream().mapToLong(DeviceInfo::freeBytes).sum());
    }

    @Override
    public void close() {
        scoring.shutdownNow();
        closeEach(shards, ScoringBackend::close);
    }

    /** Closes every one of {@code parts}, even after one fails; then throws the first failure, the others suppressed. */
    static <T> void closeEach(List<T> parts, java.util.function.Consumer<T> close) {
        RuntimeException failure = null;
        for (T part : parts) {
            try {
                close.accept(part);
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
