package dev.imprint.engine;

import dev.imprint.core.ImprintException;
import dev.imprint.core.Metric;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;

/**
 * One probe set's references spread over the shards of a {@link ShardedBackend}. A new reference
 * goes to the shard holding the fewest bytes (the next one when that shard is full), a replaced
 * one stays where it is when it fits there. A score splits the selected references by shard,
 * keeping their order, scores the shards at once and writes each shard's values back at the
 * references' places, so every value is the one its shard computed. For a top-k, each shard keeps
 * its own k closest; the k closest of their union, ties to the earlier reference as everywhere,
 * are the k closest of all.
 */
final class ShardedResidentSet implements ResidentReferences {
    private final List<ResidentReferences> shards;
    private final Executor scoring;
    private final Map<String, Integer> owner = new ConcurrentHashMap<>();

    ShardedResidentSet(List<ResidentReferences> shards, Executor scoring) {
        this.shards = shards;
        this.scoring = scoring;
    }

    @Override
    public void put(String modelId, float[] rows) {
        Integer current = owner.get(modelId);
        // The current shard first, then the others from the emptiest; ties to the lower index.
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < shards.size(); i++) {
            if (current == null || i != current) {
                order.add(i);
            }
        }
        order.sort(Comparator.comparingLong((Integer i) -> shards.get(i).bytesHeld()).thenComparingInt(i -> i));
        if (current != null) {
            order.add(0, current);
        }
        ImprintException full = null;
        for (int shard : order) {
            try {
                shards.get(shard).put(modelId, rows);
            } catch (ImprintException e) {
                if (e.code() != ImprintException.Code.RESOURCE_EXHAUSTED) {
                    throw e;
                }
                full = full == null ? e : full;
                continue;
            }
            if (current != null && shard != current) {
                shards.get(current).remove(modelId);
            }
            owner.put(modelId, shard);
            return;
        }
        throw full;
    }

    @Override
    public void remove(String modelId) {
        Integer shard = owner.remove(modelId);
        if (shard != null) {
            shards.get(shard).remove(modelId);
        }
    }

    @Override
    public int size() {
        return owner.size();
    }

    @Override
    public long bytesHeld() {
        return shards.stream().mapToLong(ResidentReferences::bytesHeld).sum();
    }

    @Override
    public BatchScores score(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe) {
        return merge(batch, modelIds, split(modelIds), (shard, ids) -> shards.get(shard).score(batch, ids, metrics,
                perProbe), null, 0);
    }

    @Override
    public BatchScores scoreClosest(SuspectBatch batch, List<String> modelIds, Set<Metric> metrics, boolean perProbe,
                                    Metric orderBy, int k) {
        return merge(batch, modelIds, split(modelIds), (shard, ids) -> shards.get(shard).scoreClosest(batch, ids,
                metrics, perProbe, orderBy, k), orderBy, k);
    }

    /** For each shard, the positions in {@code modelIds} of the references it holds, in order. */
    private List<int[]> split(List<String> modelIds) {
        int[] counts = new int[shards.size()];
        int[] shardOf = new int[modelIds.size()];
        for (int r = 0; r < shardOf.length; r++) {
            Integer shard = owner.get(modelIds.get(r));
            if (shard == null) {
                throw new IllegalStateException("reference " + modelIds.get(r) + " is not held");
            }
            shardOf[r] = shard;
            counts[shard]++;
        }
        List<int[]> positions = new ArrayList<>(shards.size());
        for (int count : counts) {
            positions.add(new int[count]);
        }
        int[] filled = new int[shards.size()];
        for (int r = 0; r < shardOf.length; r++) {
            positions.get(shardOf[r])[filled[shardOf[r]]++] = r;
        }
        return positions;
    }

    private interface ShardScore {
        BatchScores score(int shard, List<String> modelIds);
    }

    /**
     * Scores each shard's share at once (the first on this thread) and writes the values back at
     * their places in {@code modelIds}; with {@code orderBy}, also ranks the union of what the
     * shards kept, keeping the {@code k} closest.
     */
    private BatchScores merge(SuspectBatch batch, List<String> modelIds, List<int[]> positions, ShardScore scorer,
                              Metric orderBy, int k) {
        List<Integer> busy = new ArrayList<>();
        for (int shard = 0; shard < positions.size(); shard++) {
            if (positions.get(shard).length > 0) {
                busy.add(shard);
            }
        }
        List<FutureTask<BatchScores>> pending = new ArrayList<>();
        for (int i = 1; i < busy.size(); i++) {
            int shard = busy.get(i);
            FutureTask<BatchScores> task = new FutureTask<>(() -> scorer.score(shard, ids(modelIds,
                    positions.get(shard))));
            scoring.execute(task);
            pending.add(task);
        }
        List<BatchScores> parts = new ArrayList<>();
        RuntimeException failure = null;
        try {
            int first = busy.isEmpty() ? 0 : busy.get(0);
            parts.add(busy.isEmpty() ? null : scorer.score(first, ids(modelIds, positions.get(first))));
        } catch (RuntimeException e) {
            failure = e;
        }
        // Every shard's work is waited for, failed or not, so none outlives the call.
        for (FutureTask<BatchScores> task : pending) {
            try {
                parts.add(awaitShard(task));
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
        BatchScores merged = new BatchScores(batch.size(), modelIds.size(), batch.probeCount());
        for (int i = 0; i < busy.size(); i++) {
            copy(parts.get(i), positions.get(busy.get(i)), merged);
        }
        if (orderBy != null) {
            keepClosest(parts, busy, positions, merged, orderBy, k);
        }
        return merged;
    }

    /** The shard's scores, its failure rethrown as it was. */
    private static BatchScores awaitShard(FutureTask<BatchScores> task) {
        try {
            return task.get();
        } catch (InterruptedException e) {
            task.cancel(true);
            Thread.currentThread().interrupt();
            throw new ImprintException(ImprintException.Code.INTERNAL, "interrupted while waiting for a shard", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new ImprintException(ImprintException.Code.INTERNAL, "a shard failed: " + e.getCause(), e.getCause());
        }
    }

    private static List<String> ids(List<String> modelIds, int[] positions) {
        List<String> ids = new ArrayList<>(positions.length);
        for (int p : positions) {
            ids.add(modelIds.get(p));
        }
        return ids;
    }

    /** Writes {@code part}'s values (reference {@code r} of the part is {@code positions[r]} of the whole) into {@code merged}. */
    private static void copy(BatchScores part, int[] positions, BatchScores merged) {
        int suspects = merged.suspects();
        int partRefs = part.references();
        int refs = merged.references();
        int probes = merged.probes();
        for (Metric metric : Metric.values()) {
            if (part.has(metric)) {
                double[] from = part.values(metric);
                double[] to = merged.values(metric);
                for (int s = 0; s < suspects; s++) {
                    for (int r = 0; r < partRefs; r++) {
                        to[s * refs + positions[r]] = from[s * partRefs + r];
                    }
                }
            }
            if (part.hasPerProbe(metric)) {
                double[] from = part.perProbe(metric);
                double[] to = merged.perProbe(metric);
                for (int s = 0; s < suspects; s++) {
                    for (int r = 0; r < partRefs; r++) {
                        System.arraycopy(from, (s * partRefs + r) * probes, to, (s * refs + positions[r]) * probes,
                                probes);
                    }
                }
            }
        }
    }

    /**
     * Per suspect, the {@code k} closest of the references the shards kept (all of a shard's when
     * it kept them unranked), in {@link Ranking} order over the whole: ties to the earlier reference.
     */
    private static void keepClosest(List<BatchScores> parts, List<Integer> busy, List<int[]> positions,
                                    BatchScores merged, Metric orderBy, int k) {
        int refs = merged.references();
        double[] values = merged.values(orderBy);
        for (int s = 0; s < merged.suspects(); s++) {
            boolean[] candidate = new boolean[refs];
            for (int i = 0; i < busy.size(); i++) {
                int[] kept = parts.get(i).kept(s);
                int[] at = positions.get(busy.get(i));
                if (kept == null) {
                    for (int p : at) {
                        candidate[p] = true;
                    }
                } else {
                    for (int r : kept) {
                        candidate[at[r]] = true;
                    }
                }
            }
            // Candidates in reference order, so Ranking's stable order breaks ties to the earlier one.
            int count = 0;
            int[] index = new int[refs];
            for (int r = 0; r < refs; r++) {
                if (candidate[r]) {
                    index[count++] = r;
                }
            }
            double[] closeness = new double[count];
            for (int c = 0; c < count; c++) {
                closeness[c] = values[s * refs + index[c]];
            }
            int[] top = Ranking.top(closeness, orderBy.higherIsCloser(), Math.min(k, count));
            int[] closest = new int[top.length];
            for (int i = 0; i < top.length; i++) {
                closest[i] = index[top[i]];
            }
            merged.keep(s, closest);
        }
    }

    @Override
    public void close() {
        ShardedBackend.closeEach(shards, ResidentReferences::close);
    }
}
