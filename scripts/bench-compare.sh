#!/usr/bin/env bash
# Runs `imprint bench` and the numpy/OpenBLAS baseline (scripts/bench_numpy.py) on the same
# workloads in the same run and prints a table of both medians (seconds per batch of S suspects)
# and the ratio numpy/imprint (above 1: Imprint is faster).
#
# The two alternate, workload by workload, for several rounds, so both see the same machine load;
# each side's figure is the median of its per-round medians. Every run's own line goes to stderr.
#
# Usage: scripts/bench-compare.sh [W1,W2,W3,W4]
# Both sides warm up with the same number of untimed batches, enough for the JVM's optimising
# compiler to finish with the per-probe code (it is invoked P*S times a batch, and compiled after
# ~10k invocations), so both are measured in their steady state, as a running server is.
#
# Environment: IMPRINT_BENCH_ROUNDS (default 3), IMPRINT_BENCH_REPS (default 7),
#              IMPRINT_BENCH_WARMUP (default 30), IMPRINT_BENCH_SCALE (default 1),
#              IMPRINT_LAUNCHER (default scripts/imprint).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
workloads=${1:-W1,W2,W3,W4}
rounds=${IMPRINT_BENCH_ROUNDS:-3}
reps=${IMPRINT_BENCH_REPS:-7}
warmup=${IMPRINT_BENCH_WARMUP:-30}
scale=${IMPRINT_BENCH_SCALE:-1}
launcher=${IMPRINT_LAUNCHER:-$root/scripts/imprint}

median_s() { sed -n 's/.*median_s=\([0-9.]*\).*/\1/p' | tail -n 1; }
median_of() { python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.6f}")' "$@"; }

printf '%-8s %14s %14s %14s\n' workload imprint_s numpy_s numpy/imprint
for w in ${workloads//,/ }; do
  imprint=()
  numpy=()
  for ((round = 1; round <= rounds; round++)); do
    # The CPU backend parallelises across probes itself; OpenBLAS threads on top would oversubscribe.
    line=$(OPENBLAS_NUM_THREADS=1 "$launcher" bench --workload "$w" --reps "$reps" --warmup "$warmup" \
      --scale "$scale" 2>/dev/null | grep 'median_s=')
    echo "round=$round $line" >&2
    imprint+=("$(median_s <<<"$line")")
    # This machine pins OpenBLAS's core type and L2 size for Java; numpy's own OpenBLAS runs best unpinned.
    line=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 "$root/scripts/bench_numpy.py" \
      --workload "$w" --reps "$reps" --warmup "$warmup" --scale "$scale" | grep 'median_s=')
    echo "round=$round $line" >&2
    numpy+=("$(median_s <<<"$line")")
  done
  imprint_s=$(median_of "${imprint[@]}")
  numpy_s=$(median_of "${numpy[@]}")
  ratio=$(python3 -c "print(f'{$numpy_s / $imprint_s:.2f}')")
  printf '%-8s %14s %14s %14s\n' "$w" "$imprint_s" "$numpy_s" "$ratio"
done
