#!/usr/bin/env bash
# Runs `imprint bench` and its CPU peers (scripts/bench_peers.py: numpy/OpenBLAS, PyTorch, FAISS) on
# the same workloads in the same run and prints a table of the medians (seconds per batch of S
# suspects) and each peer's ratio peer/imprint (above 1: Imprint is faster).
#
# Per workload, every side runs at once in its own process, warm, and scripts/bench_paired.py starts
# their calls in turn, one each per cycle in balanced orders (each side first, and after each other
# side, equally often), each timed call after 50 ms of untimed ones, so a burst of outside load
# slows every side's neighbouring calls alike. Each side's figure is the median of
# its calls; each ratio is the median over cycles of (the peer's call / Imprint's call in the same
# cycle). The sides are started afresh IMPRINT_BENCH_SESSIONS times (default 3), the calls split
# between the sessions: on this virtual machine two processes of one build, paired, ran W4 0.93-1.10
# times each other's speed from run to run, a spread the cycles of one set of processes do not
# average away (where each process's memory landed on the host is the likely cause, not shown), so
# one set of processes is one draw of it, and three sessions are three. The peer "control"
# (IMPRINT_BENCH_PEERS=numpy,torch,faiss,control) is a second Imprint process running the same
# command: its ratio, which ideally is 1.00, shows how far the run's own noise reaches.
# The driver's lines, and every side's own summary line, go to stderr.
# FAISS runs the EMBEDDING workloads (W3, W4) only; a peer that is not installed shows "-".
#
# Usage: scripts/bench-compare.sh [W1,W2,W3,W4,W5,W6,W3+bf16,W4+bf16,A1] (default W1-W4)
# W5 and W6 (top-k answers) compare Imprint's compact form (`bench --compact-only`) with the peers on
# the same compact rows. W3+bf16 and W4+bf16 run Imprint with --cpu-bf16-cosine (EMBEDDING unit rows
# held as bf16) against the same fp32 peers: a row of its own, never in place of the fp32 one.
# W5 runs at least 101 timed calls on every side: its batches take a tenth of a millisecond, and a
# few of them are one scheduler hiccup from a different median.
# A1 (attribution) scores `imprint synth`'s EMBEDDING scenario with a verdict per suspect; its only
# peer is numpy (scripts/bench_attribution.py, the verdict ported to numpy), run on the same files.
# Before timing, the peer's verdicts and p-values are checked against `imprint score`'s on them: a
# peer that does not compute what Imprint computes stops the run instead of giving a ratio.
# Every side warms up with the same number of untimed batches, enough for the JVM's optimising
# compiler to finish with the per-probe code (it is invoked P*S times a batch, and compiled after
# ~10k invocations), so all are measured in their steady state, as a running server is.
#
# The peers run in a venv of their own, .bench-venv, filled on first use from pip's configured
# index (on the development machine its local wheel mirror): numpy, faiss-cpu, the CPU build of
# torch, and pyarrow (A1 reads the scenario's Arrow files). IMPRINT_BENCH_PYTHON names another
# Python to use instead.
#
# Imprint runs through scripts/imprint with JAVA_HOME's Java (its Vector API kernels run best on
# 21 or newer) and, on a CPU with AVX-512, OPENBLAS_CORETYPE=SkylakeX for its BLAS products: the
# system OpenBLAS picks its AVX-512 kernels only when told (IMPRINT_BENCH_CORETYPE overrides; "keep"
# leaves the environment's), as the peers' newer builds do by themselves.
#
# Environment: IMPRINT_BENCH_CALLS (timed calls per side over all sessions, default 45),
#              IMPRINT_BENCH_SESSIONS (default 3),
#              IMPRINT_BENCH_WARMUP (default 30), IMPRINT_BENCH_SCALE (default 1),
#              IMPRINT_BENCH_PEERS (default numpy,torch,faiss; control adds a second Imprint), IMPRINT_LAUNCHER (default scripts/imprint).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
workloads=${1:-W1,W2,W3,W4}
calls=${IMPRINT_BENCH_CALLS:-45}
sessions=${IMPRINT_BENCH_SESSIONS:-3}
warmup=${IMPRINT_BENCH_WARMUP:-30}
scale=${IMPRINT_BENCH_SCALE:-1}
peers=${IMPRINT_BENCH_PEERS:-numpy,torch,faiss}
launcher=${IMPRINT_LAUNCHER:-$root/scripts/imprint}

for w in ${workloads//,/ }; do
  case "$w" in
    W1 | W2 | W3 | W4 | W5 | W6 | W3+bf16 | W4+bf16 | A1) ;;
    *) echo "bench-compare: workload '$w'; expected W1 to W6, W3+bf16, W4+bf16 or A1 (comma-separated)" >&2; exit 2 ;;
  esac
done
if ! [[ "$calls" =~ ^[0-9]+$ ]] || [ "$calls" -lt 3 ]; then
  echo "bench-compare: IMPRINT_BENCH_CALLS=$calls; expected a whole number of calls, at least 3" >&2
  exit 2
fi
if ! [[ "$sessions" =~ ^[0-9]+$ ]] || [ "$sessions" -lt 1 ] || [ "$sessions" -gt "$calls" ]; then
  echo "bench-compare: IMPRINT_BENCH_SESSIONS=$sessions; expected a whole number from 1 to IMPRINT_BENCH_CALLS ($calls)" >&2
  exit 2
fi
if ! [[ "$warmup" =~ ^[0-9]+$ ]]; then
  echo "bench-compare: IMPRINT_BENCH_WARMUP=$warmup; expected a whole number of calls" >&2
  exit 2
fi
for peer in ${peers//,/ }; do
  case "$peer" in
    numpy | torch | faiss | control) ;;
    *) echo "bench-compare: IMPRINT_BENCH_PEERS names '$peer'; expected numpy, torch, faiss or control" >&2; exit 2 ;;
  esac
done

python=${IMPRINT_BENCH_PYTHON:-}
if [ -z "$python" ]; then
  venv="$root/.bench-venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c 'import numpy, torch, faiss, pyarrow' 2>/dev/null; then
    # The configured index (on the development machine, its local wheel mirror), as .ci/run finds it.
    index=$(python3 -m pip config get global.index-url 2>/dev/null \
      || python3 -m pip config get global.extra-index-url 2>/dev/null | awk '{print $1}' || true)
    echo "installing numpy, torch (CPU), faiss-cpu and pyarrow into $venv ..." >&2
    "$venv/bin/pip" install -q ${index:+--index-url "$index"} numpy faiss-cpu 'torch==2.13.0+cpu' pyarrow >&2 \
      || echo "warning: could not install every peer into $venv; those missing show '-'" >&2
  fi
  python="$venv/bin/python"
fi

coretype=${IMPRINT_BENCH_CORETYPE:-}
if [ -z "$coretype" ]; then
  if grep -q -w avx512f /proc/cpuinfo 2>/dev/null && grep -q -w avx512bw /proc/cpuinfo \
    && grep -q -w avx512vl /proc/cpuinfo && grep -q -w avx512dq /proc/cpuinfo; then
    coretype=SkylakeX
  else
    coretype=keep
  fi
fi
imprint_env=(OPENBLAS_NUM_THREADS=1)
if [ "$coretype" != keep ]; then
  imprint_env+=("OPENBLAS_CORETYPE=$coretype")
fi
java_version=$("${JAVA_HOME:+$JAVA_HOME/bin/}java" -version 2>&1 | head -n 1)
echo "imprint: $java_version; ${imprint_env[*]}" >&2

shape() { grep -o ' M=[0-9]* P=[0-9]* D=[0-9]* S=[0-9]*' || true; }

# Whether peer $1 runs workload $2 here: FAISS scores EMBEDDING only, and a peer must import.
runs() {
  case "$1:$2" in
    control:*) return 0 ;;
    faiss:W1 | faiss:W2 | faiss:W5 | faiss:W6 | faiss:A1 | torch:A1) return 1 ;;
  esac
  "$python" -c "import $1" 2>/dev/null
}

# A1's scenario, written once: what `bench --workload A1` generates in-process (Workload.A1).
a1_dir=
if [[ ",$workloads," == *",A1,"* ]]; then
  a1_dir=$(mktemp -d)
  trap 'rm -rf "$a1_dir"' EXIT
  "$launcher" synth --out "$a1_dir/scenario" --kind EMBEDDING --probes 128 --dim 512 --families 8 \
    --models-per-family 4 --students 4 --seed 11 >/dev/null
  if runs numpy A1; then
    env "${imprint_env[@]}" "$launcher" put --data-dir "$a1_dir/store" "$a1_dir/scenario/references" >/dev/null
    env "${imprint_env[@]}" "$launcher" score --data-dir "$a1_dir/store" "$a1_dir/scenario/suspects.arrow" \
      --top-k 0 --format json >"$a1_dir/imprint.jsonl"
    if ! env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" "$root/scripts/bench_attribution.py" \
      --data "$a1_dir/scenario" --reps 5 --warmup 1 --check "$a1_dir/imprint.jsonl" >&2; then
      echo "bench-compare: the numpy peer of A1 does not give imprint score's verdicts; no ratio for A1" >&2
      exit 1
    fi
  fi
fi

# The paced command of peer $1 for workload $2 (base name), as one shell word list.
# This machine pins OpenBLAS's core type and L2 size for Java; the peers' own builds run best unpinned.
peer_command() {
  if [ "$2" = A1 ]; then
    printf '%q ' env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" "$root/scripts/bench_attribution.py" \
      --data "$a1_dir/scenario" --warmup "$warmup" --paced
  else
    printf '%q ' env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" "$root/scripts/bench_peers.py" \
      --peer "$1" --workload "$2" --warmup "$warmup" --scale "$scale" --paced
  fi
}

header=$(printf '%-8s %12s' workload imprint_s)
for peer in ${peers//,/ }; do
  header+=$(printf ' %12s %10s' "${peer}_s" "${peer}/imp")
done
echo "$header"
for w in ${workloads//,/ }; do
  base=${w%+bf16}
  options=()
  case "$w" in
    W5 | W6) options=(--compact-only) ;;
    *+bf16) options=(--cpu-bf16-cosine) ;;
  esac
  # A1 is a fixed scenario: --scale resizes W1-W6 only.
  scaled=(--scale "$scale")
  if [ "$base" = A1 ]; then
    scaled=()
  fi
  w_calls=$calls
  if [ "$base" = W5 ] && [ "$calls" -lt 101 ]; then
    w_calls=101
  fi
  # The CPU backend parallelises across probes itself; OpenBLAS threads on top would oversubscribe.
  imprint_command="$(printf '%q ' env "${imprint_env[@]}" "$launcher" bench --workload "$base" --paced \
    --warmup "$warmup" "${scaled[@]}" "${options[@]}") 2>/dev/null"
  sides=(--side "imprint=$imprint_command")
  ran=()
  for peer in ${peers//,/ }; do
    runs "$peer" "$base" || continue
    if [ "$peer" = control ]; then
      sides+=(--side "control=$imprint_command")
    else
      sides+=(--side "$peer=$(peer_command "$peer" "$base")")
    fi
    ran+=("$peer")
  done
  if ! out=$("$python" "$root/scripts/bench_paired.py" --calls "$w_calls" --sessions "$sessions" "${sides[@]}"); then
    echo "bench-compare: $w failed (above)" >&2
    exit 1
  fi
  sed "s/^/$w /" <<<"$out" >&2
  imprint_shape=$(grep '^summary=imprint ' <<<"$out" | shape)
  for peer in "${ran[@]}"; do
    if [ "$(grep "^summary=$peer " <<<"$out" | shape)" != "$imprint_shape" ]; then
      echo "bench-compare: $peer ran$(grep "^summary=$peer " <<<"$out" | shape) for $w, Imprint$imprint_shape;" \
        "not the same workload" >&2
      exit 1
    fi
  done
  imprint_s=$(sed -n 's/^side=imprint .*median_s=\([0-9.]*\).*/\1/p' <<<"$out")
  row=$(printf '%-8s %12s' "$w" "$imprint_s")
  for peer in ${peers//,/ }; do
    peer_s=$(sed -n "s/^side=$peer .*median_s=\([0-9.]*\).*/\1/p" <<<"$out")
    ratio=$(sed -n "s/^ratio=$peer\/imprint .*median=\([0-9.]*\).*/\1/p" <<<"$out")
    if [ -n "$peer_s" ]; then
      row+=$(printf ' %12s %10s' "$peer_s" "$(python3 -c "print(f'{$ratio:.2f}')")")
    else
      row+=$(printf ' %12s %10s' - -)
    fi
  done
  echo "$row"
done
